"""Authentication (bearer tokens, TokenRequest) and RBAC authorization, through the official clients
and kubectl on the emulator's TLS port (kubectl sends credentials only over TLS), plus what the
plain-HTTP port does differently."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from sandbox.kube import KubeApiServer, write_kubeconfig
from sandbox.kube.auth import ADMIN_TOKEN
from sandbox.kube.requestinfo import request_info
from tests.sandbox.kube.kube_helpers import GROUP, ROOT, TJ, Http, port_closed, trainingjob

KUBECTL = "/usr/bin/kubectl"
RBAC = "rbac.authorization.k8s.io"
SA_USER = "system:serviceaccount:default:airflow"
TOKEN_PATH = "/api/v1/namespaces/default/serviceaccounts/airflow/token"  # noqa: S105 - a URL path
RBAC_YAML = ROOT / "include" / "manifests" / "rbac.yaml"
OPERATOR_NS = "sagemaker-k8s-operator-system"
needs_kubectl = pytest.mark.skipif(not Path(KUBECTL).exists(), reason="kubectl is not installed")


def role(name: str, rules: list[dict], namespace: str | None = "default") -> dict:
    kind = "Role" if namespace else "ClusterRole"
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": f"{RBAC}/v1", "kind": kind, "metadata": meta, "rules": rules}


def binding(
    name: str, role_ref: tuple[str, str], subjects: list[dict], namespace: str | None = "default"
) -> dict:
    kind = "RoleBinding" if namespace else "ClusterRoleBinding"
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    ref = {"apiGroup": RBAC, "kind": role_ref[0], "name": role_ref[1]}
    return {"apiVersion": f"{RBAC}/v1", "kind": kind, "metadata": meta, "roleRef": ref, "subjects": subjects}


SA_SUBJECT = {"kind": "ServiceAccount", "name": "airflow", "namespace": "default"}


def rule(resources: list[str], verbs: list[str], group: str = GROUP, **extra) -> dict:
    return {"apiGroups": [group], "resources": resources, "verbs": verbs, **extra}


def grant(kube: KubeApiServer, rules: list[dict], namespace: str | None = "default", name: str = "r") -> None:
    kube.apply(role(name, rules, namespace))
    kube.apply(binding(name, ("Role" if namespace else "ClusterRole", name), [SA_SUBJECT], namespace))


@pytest.fixture
def admin(kube) -> Http:
    return Http(kube.secure_url, ca_pem=kube.ca_pem, token=ADMIN_TOKEN)


@pytest.fixture
def sa_token(kube, admin) -> str:
    """A TokenRequest token for default/airflow (the service account is created here)."""
    kube.apply(
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "airflow", "namespace": "default"},
        }
    )
    resp = admin.post(
        TOKEN_PATH, {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}}
    )
    assert resp.status == 201, resp.body
    return resp.body["status"]["token"]


@pytest.fixture
def sa(kube, sa_token) -> Http:
    return Http(kube.secure_url, ca_pem=kube.ca_pem, token=sa_token)


def forbidden_message(verb: str, resource: str, group: str, namespace: str | None) -> str:
    where = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    return f'User "{SA_USER}" cannot {verb} resource "{resource}" in API group "{group}" {where}'


# -- authentication --------------------------------------------------------------------------------
def test_missing_or_unknown_token_is_401_on_the_tls_port(kube):
    unauthorized = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401,
    }
    for token in (None, "sandbox-token-wrong", "a.b.c"):
        resp = Http(kube.secure_url, ca_pem=kube.ca_pem, token=token).get("/api/v1/namespaces")
        assert (resp.status, resp.body) == (401, unauthorized), token
    basic = Http(kube.secure_url, ca_pem=kube.ca_pem).get(
        "/version", headers={"Authorization": "Basic Zm9vOmJhcg=="}
    )
    assert basic.status == 401
    assert Http(kube.secure_url, ca_pem=kube.ca_pem).get("/healthz").status == 200  # anonymous health checks
    log = kube.requests
    assert [r.user for r in log[:4]] == [None] * 4 and log[-1].user == "system:anonymous"
    assert all(r.secure for r in log)


def test_admin_token_is_kubernetes_admin_in_system_masters(kube, admin):
    assert admin.get("/api/v1/namespaces/default/secrets").status == 200
    record = kube.requests[-1]
    assert record.user == "kubernetes-admin" and "system:masters" in record.groups
    assert record.allowed is True and record.verb == "list"
    whoami = admin.post("/apis/authentication.k8s.io/v1/selfsubjectreviews", {"kind": "SelfSubjectReview"})
    assert whoami.status == 201
    assert whoami.body["status"]["userInfo"] == {
        "username": "kubernetes-admin",
        "groups": ["system:masters", "system:authenticated"],
    }


def test_plain_http_port_checks_tokens_but_treats_none_as_the_insecure_port(kube, sa_token):
    plain = Http(kube.url)
    assert plain.get("/api/v1/namespaces/default/secrets").status == 200
    assert kube.requests[-1].user == "system:unsecured" and not kube.requests[-1].secure
    assert plain.get("/api/v1/namespaces", headers={"Authorization": "Bearer whatever"}).status == 401
    assert Http(kube.url, token=sa_token).get("/api/v1/namespaces/default/secrets").status == 403
    assert Http(kube.url, token=ADMIN_TOKEN).get("/api/v1/namespaces/default/secrets").status == 200
    assert kube.requests[-1].user == "kubernetes-admin"


def test_token_request(kube, admin):
    assert admin.post(TOKEN_PATH, {"spec": {}}).body["message"] == 'serviceaccounts "airflow" not found'
    sa_obj = kube.apply({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "airflow"}})
    before = time.time()
    resp = admin.post(TOKEN_PATH, {"kind": "TokenRequest", "spec": {"expirationSeconds": 1200}})
    assert resp.status == 201
    body = resp.body
    assert body["kind"] == "TokenRequest" and body["apiVersion"] == "authentication.k8s.io/v1"
    assert body["metadata"]["name"] == "airflow" and body["metadata"]["namespace"] == "default"
    assert body["spec"]["expirationSeconds"] == 1200
    expires = dt.datetime.strptime(body["status"]["expirationTimestamp"], "%Y-%m-%dT%H:%M:%SZ")
    assert abs(expires.replace(tzinfo=dt.UTC).timestamp() - (before + 1200)) < 5
    token = body["status"]["token"]
    assert token.count(".") == 2  # a JWT, like the real ones

    whoami = Http(kube.secure_url, ca_pem=kube.ca_pem, token=token).post(
        "/apis/authentication.k8s.io/v1/selfsubjectreviews", {"kind": "SelfSubjectReview"}
    )
    assert whoami.body["status"]["userInfo"] == {
        "username": SA_USER,
        "uid": sa_obj["metadata"]["uid"],
        "groups": ["system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"],
    }
    short = admin.post(TOKEN_PATH, {"spec": {"expirationSeconds": 60}})
    assert short.status == 422 and "may not specify a duration less than 10 minutes" in short.body["message"]
    assert admin.get(TOKEN_PATH).status == 405


def test_service_account_tokens_expire_and_die_with_their_account(kube, admin, sa_token):
    sa = Http(kube.secure_url, ca_pem=kube.ca_pem, token=sa_token)
    assert sa.get("/version").status == 200
    kube.auth.clock = lambda: time.time() + 3601
    assert sa.get("/version").status == 401
    kube.auth.clock = time.time
    other = admin.post(TOKEN_PATH, {"spec": {"audiences": ["sts.amazonaws.com"]}}).body["status"]["token"]
    assert Http(kube.secure_url, ca_pem=kube.ca_pem, token=other).get("/version").status == 401
    kube.delete("v1", "serviceaccounts", "airflow", "default")
    assert sa.get("/version").status == 401
    kube.apply({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "airflow"}})
    assert sa.get("/version").status == 401, "a recreated account (new uid) does not revive old tokens"


# -- authorization ---------------------------------------------------------------------------------
def test_forbidden_status_shape(kube, sa):
    resp = sa.get(f"{TJ}/a")
    assert resp.status == 403
    assert resp.body == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f'trainingjobs.{GROUP} "a" is forbidden: '
        + forbidden_message("get", "trainingjobs", GROUP, "default"),
        "reason": "Forbidden",
        "details": {"name": "a", "group": GROUP, "kind": "trainingjobs"},
        "code": 403,
    }
    listing = sa.get("/api/v1/namespaces/default/secrets").body
    assert listing["message"] == "secrets is forbidden: " + forbidden_message(
        "list", "secrets", "", "default"
    )
    assert listing["details"] == {"kind": "secrets"}
    crds = sa.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions").body["message"]
    assert crds == "customresourcedefinitions.apiextensions.k8s.io is forbidden: " + forbidden_message(
        "list", "customresourcedefinitions", "apiextensions.k8s.io", None
    )
    path = sa.get("/metrics").body
    assert (
        path["message"] == f'forbidden: User "{SA_USER}" cannot get path "/metrics"' and path["details"] == {}
    )
    record = kube.requests[-1]
    assert record.user == SA_USER and record.allowed is False and record.status == 403


def test_discovery_and_self_reviews_are_allowed_to_any_authenticated_user(sa):
    for path in (
        "/api",
        "/api/v1",
        "/apis",
        f"/apis/{GROUP}",
        f"/apis/{GROUP}/v1",
        "/version",
        "/openapi/v3",
    ):
        assert sa.get(path).status == 200, path
    review = {
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"verb": "list", "resource": "pods"}},
    }
    resp = sa.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", review)
    assert resp.status == 201 and resp.body["status"] == {"allowed": False}


def test_role_is_namespaced_and_clusterrole_binding_is_cluster_wide(kube, sa):
    kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ml"}})
    grant(kube, [rule(["trainingjobs"], ["list"])], "ml")
    assert sa.get(f"/apis/{GROUP}/v1/namespaces/ml/trainingjobs").status == 200
    assert sa.get(TJ).status == 403
    assert sa.get(f"/apis/{GROUP}/v1/trainingjobs").status == 403  # all namespaces: needs cluster scope
    # A ClusterRole bound by a RoleBinding grants in that namespace only, and nothing cluster-scoped.
    kube.apply(role("reader", [rule(["trainingjobs"], ["get"]), rule(["namespaces"], ["get"], "")], None))
    kube.apply(binding("reader", ("ClusterRole", "reader"), [SA_SUBJECT], "default"))
    kube.apply(trainingjob("a"))
    assert sa.get(f"{TJ}/a").status == 200
    assert sa.get(f"/apis/{GROUP}/v1/namespaces/ml/trainingjobs/a").status == 403
    # As on kube-apiserver, a Namespace object counts as inside itself: the RoleBinding in "default"
    # reaches GET namespaces/default, but not namespaces/ml.
    assert sa.get("/api/v1/namespaces/default").status == 200
    assert sa.get("/api/v1/namespaces/ml").status == 403
    kube.apply(binding("reader", ("ClusterRole", "reader"), [SA_SUBJECT], None))
    assert sa.get("/api/v1/namespaces/ml").status == 200
    assert sa.get(f"/apis/{GROUP}/v1/namespaces/ml/trainingjobs/a").status == 404  # allowed, not there
    assert kube.requests[-1].authz_reason == (
        'RBAC: allowed by ClusterRoleBinding "reader" of ClusterRole "reader" '
        'to ServiceAccount "airflow/default"'
    )


def test_resource_names(kube, sa):
    grant(kube, [rule(["trainingjobs"], ["get", "watch", "delete"], resourceNames=["a"])])
    kube.apply(trainingjob("a"))
    kube.apply(trainingjob("b"))
    assert sa.get(f"{TJ}/a").status == 200
    assert sa.get(f"{TJ}/b").status == 403
    assert sa.get(TJ).status == 403  # list has no name
    with sa.watch(TJ, {"fieldSelector": "metadata.name=a"}) as w:  # client-go's single-object watch
        assert w.status == 200 and w.next()["object"]["metadata"]["name"] == "a"
    with sa.watch(TJ) as w:
        assert w.status == 403
    assert sa.delete(f"{TJ}/b").status == 403 and sa.delete(f"{TJ}/a").status == 200


def test_subresources(kube, sa):
    kube.apply(trainingjob("a"))
    grant(kube, [rule(["trainingjobs/status"], ["patch"]), rule(["trainingjobs"], ["get"])])
    status = {"status": {"trainingJobStatus": "InProgress"}}
    assert sa.patch(f"{TJ}/a/status", status).status == 200
    resp = sa.patch(f"{TJ}/a", {"metadata": {"labels": {"x": "y"}}})
    assert resp.status == 403 and 'cannot patch resource "trainingjobs" in' in resp.body["message"]
    grant(kube, [rule(["trainingjobs"], ["get", "patch"])])  # the main resource does not cover /status
    resp = sa.patch(f"{TJ}/a/status", status)
    assert resp.status == 403 and 'cannot patch resource "trainingjobs/status"' in resp.body["message"]
    grant(kube, [rule(["*/status"], ["patch"])])
    assert sa.patch(f"{TJ}/a/status", status).status == 200


def test_wildcards_and_verbs(kube, sa):
    grant(kube, [rule(["*"], ["list"])])
    assert (
        sa.get(TJ).status == 200
        and sa.get(f"/apis/{GROUP}/v1/namespaces/default/hostingdeployments").status == 200
    )
    assert sa.get("/api/v1/namespaces/default/pods").status == 403  # other API group
    assert sa.post(TJ, trainingjob("a")).status == 403
    grant(kube, [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}])
    assert sa.post(TJ, trainingjob("a")).status == 201
    assert sa.get("/api/v1/namespaces/default/pods").status == 200
    assert sa.delete(TJ).status == 200 and kube.requests[-1].verb == "deletecollection"
    assert sa.get("/api/v1/nodes").status == 403  # a Role never reaches cluster-scoped resources


def test_user_group_and_default_namespace_subjects(kube):
    kube.auth.add_token("jane-token", "jane", ["ml-engineers"])
    jane = Http(kube.secure_url, ca_pem=kube.ca_pem, token="jane-token")  # noqa: S106 - a test token
    kube.apply(role("r", [rule(["trainingjobs"], ["list"])]))
    assert jane.get(TJ).status == 403
    kube.apply(
        binding("by-group", ("Role", "r"), [{"kind": "Group", "name": "ml-engineers", "apiGroup": RBAC}])
    )
    assert jane.get(TJ).status == 200
    kube.delete(f"{RBAC}/v1", "rolebindings", "by-group", "default")
    kube.apply(binding("by-user", ("Role", "r"), [{"kind": "User", "name": "jane", "apiGroup": RBAC}]))
    assert jane.get(TJ).status == 200
    kube.auth.remove_token("jane-token")
    assert jane.get(TJ).status == 401
    # A ServiceAccount subject without a namespace: the RoleBinding's namespace; in a
    # ClusterRoleBinding it matches nobody.
    kube.apply({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "airflow"}})
    admin = Http(kube.secure_url, ca_pem=kube.ca_pem, token=ADMIN_TOKEN)
    airflow = Http(
        kube.secure_url, ca_pem=kube.ca_pem, token=admin.post(TOKEN_PATH, {}).body["status"]["token"]
    )
    no_namespace = [{"kind": "ServiceAccount", "name": "airflow"}]
    kube.apply(role("lister", [rule(["trainingjobs"], ["list"])], None))
    kube.apply(binding("cluster-wide", ("ClusterRole", "lister"), no_namespace, None))
    assert airflow.get(TJ).status == 403
    kube.apply(binding("by-sa", ("Role", "r"), no_namespace))
    assert airflow.get(TJ).status == 200


def test_missing_role_is_named_in_the_403(kube, sa):
    kube.apply(binding("dangling", ("Role", "nope"), [SA_SUBJECT]))
    resp = sa.get(TJ)
    assert resp.status == 403
    assert resp.body["message"].endswith(f': RBAC: role.{RBAC} "nope" not found')


@pytest.mark.parametrize(
    ("method", "path", "query", "expected"),
    [
        ("GET", TJ, {}, ("list", GROUP, "trainingjobs", "", "default", "")),
        ("GET", TJ, {"watch": "true"}, ("watch", GROUP, "trainingjobs", "", "default", "")),
        (
            "GET",
            TJ,
            {"watch": "1", "fieldSelector": "metadata.name=a"},
            ("watch", GROUP, "trainingjobs", "", "default", "a"),
        ),
        (
            "GET",
            f"/apis/{GROUP}/v1/watch/namespaces/default/trainingjobs",
            {},
            ("watch", GROUP, "trainingjobs", "", "default", ""),
        ),
        ("GET", f"{TJ}/a", {}, ("get", GROUP, "trainingjobs", "", "default", "a")),
        ("PUT", f"{TJ}/a/status", {}, ("update", GROUP, "trainingjobs", "status", "default", "a")),
        ("PATCH", f"{TJ}/a", {}, ("patch", GROUP, "trainingjobs", "", "default", "a")),
        ("POST", TJ, {}, ("create", GROUP, "trainingjobs", "", "default", "")),
        ("DELETE", f"{TJ}/a", {}, ("delete", GROUP, "trainingjobs", "", "default", "a")),
        ("DELETE", TJ, {}, ("deletecollection", GROUP, "trainingjobs", "", "default", "")),
        ("GET", "/api/v1/namespaces/ml", {}, ("get", "", "namespaces", "", "ml", "ml")),
        ("PUT", "/api/v1/namespaces/ml/finalize", {}, ("update", "", "namespaces", "finalize", "ml", "ml")),
        ("POST", TOKEN_PATH, {}, ("create", "", "serviceaccounts", "token", "default", "airflow")),
        ("GET", "/apis/apps/v1/deployments", {}, ("list", "apps", "deployments", "", "", "")),
    ],
)
def test_request_attributes_like_kube_apiserver(method, path, query, expected):
    info = request_info(method, path, query)
    assert info.resource_request
    assert (info.verb, info.api_group, info.resource, info.subresource, info.namespace, info.name) == expected


@pytest.mark.parametrize(
    "path", ["/api", "/api/v1", "/apis", f"/apis/{GROUP}", f"/apis/{GROUP}/v1", "/version"]
)
def test_discovery_paths_are_non_resource_requests(path):
    info = request_info("GET", path, {})
    assert not info.resource_request and info.verb == "get" and info.path == path


def test_kubernetes_asyncio_client_is_authorized_too(kube, sa_token, tmp_path):
    from kubernetes_asyncio import client, config

    grant(kube, [rule(["trainingjobs"], ["get"])])
    kube.apply(trainingjob("a"))
    kubeconfig = write_kubeconfig(
        tmp_path / "kc", kube.secure_url, token=sa_token, certificate_authority=kube.ca_pem
    )

    async def main() -> tuple[str, int]:
        api_client = await config.new_client_from_config(str(kubeconfig))
        async with api_client:
            api = client.CustomObjectsApi(api_client)
            got = await api.get_namespaced_custom_object(GROUP, "v1", "default", "trainingjobs", "a")
            try:
                await api.list_namespaced_custom_object(GROUP, "v1", "default", "trainingjobs")
            except client.ApiException as e:
                return got["metadata"]["name"], e.status
        return got["metadata"]["name"], 200

    assert asyncio.run(main()) == ("a", 403)


def test_the_tls_port_closes_on_stop():
    srv = KubeApiServer().start()
    port = srv.secure_port
    assert Http(srv.secure_url, ca_pem=srv.ca_pem, token=ADMIN_TOKEN).get("/version").status == 200
    srv.stop()
    assert port_closed("127.0.0.1", port)


# -- kubectl -------------------------------------------------------------------------------------------
class Kubectl:
    def __init__(self, kube: KubeApiServer, tmp: Path, token: str = ADMIN_TOKEN, secure: bool = True) -> None:
        (tmp / "home").mkdir(exist_ok=True)
        url, ca = (kube.secure_url, kube.ca_pem) if secure else (kube.url, None)
        self.kubeconfig = write_kubeconfig(
            tmp / f"kubeconfig-{token[:8]}", url, token=token, certificate_authority=ca
        )
        self.env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp / "home")}

    def __call__(self, *args: str) -> subprocess.CompletedProcess:
        argv = [KUBECTL, "--kubeconfig", str(self.kubeconfig), *args]
        return subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=60, check=False)


@needs_kubectl
def test_kubectl_with_rbac_yaml_and_a_service_account_token(kube, tmp_path):
    kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": OPERATOR_NS}})
    admin = Kubectl(kube, tmp_path)
    applied = admin("apply", "-f", str(RBAC_YAML))
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.count("created") == len([d for d in yaml.safe_load_all(RBAC_YAML.read_text()) if d])
    created = admin("create", "token", "airflow", "-n", "default")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert (
        kube.requests[-1].content_type == "application/vnd.kubernetes.protobuf"
    )  # kubectl sends TokenRequest so

    airflow = Kubectl(kube, tmp_path, token)
    whoami = airflow("auth", "whoami", "-o", "yaml")
    assert yaml.safe_load(whoami.stdout)["status"]["userInfo"]["username"] == SA_USER
    cases = {
        ("create", f"trainingjobs.{GROUP}", "-n", "default"): "yes",
        ("delete", f"hostingdeployments.{GROUP}", "-n", "default"): "yes",
        ("patch", f"trainingjobs.{GROUP}", "-n", "default"): "no",
        ("watch", f"trainingjobs.{GROUP}", "-n", "default"): "no",
        ("create", f"trainingjobs.{GROUP}", "-n", "kube-system"): "no",
        ("list", "customresourcedefinitions"): "yes",
        ("list", "pods", "-n", OPERATOR_NS): "yes",
        ("get", "deployments/sagemaker-k8s-operator-controller-manager", "-n", OPERATOR_NS): "yes",
        ("get", "deployments/other", "-n", OPERATOR_NS): "no",
        ("delete", "deployments/sagemaker-k8s-operator-controller-manager", "-n", OPERATOR_NS): "no",
        ("list", "secrets", "-n", "default"): "no",
    }
    answers = {args: airflow("auth", "can-i", *args).stdout.strip() for args in cases}
    assert answers == cases
    denied = airflow("get", "secrets", "-n", "default")
    assert denied.returncode == 1
    assert denied.stderr.strip() == (
        "Error from server (Forbidden): secrets is forbidden: "
        + forbidden_message("list", "secrets", "", "default")
    )


@needs_kubectl
def test_kubectl_unknown_token_and_plain_http(kube, tmp_path):
    denied = Kubectl(kube, tmp_path, "not-a-token")("get", "pods")
    assert denied.returncode == 1
    assert "error: You must be logged in to the server" in denied.stderr
    # Over http:// kubectl (clientcmd) sends no credentials at all: the insecure-port identity.
    kube.clear_requests()
    assert Kubectl(kube, tmp_path, "not-a-token", secure=False)("get", "pods").returncode == 0
    assert {r.user for r in kube.requests} == {"system:unsecured"}
