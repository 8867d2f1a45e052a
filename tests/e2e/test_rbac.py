"""The pipeline as Airflow's least-privilege identity: ``include/manifests/rbac.yaml`` is exactly enough.

rbac.yaml is applied as ``kubernetes-admin``, a token for its service account ``default/airflow``
comes from the TokenRequest API, and ``kubernetes_default`` points at a kubeconfig with that token
for the emulator's TLS port (where every request must authenticate; the operator emulator uses the
plain port, so whatever arrives over TLS is the pipeline). Then:

* the whole DAG succeeds and every request it made was allowed, each by a binding of rbac.yaml;
* together with a training task's ``on_kill`` and a rollback with no champion (the other users of
  ``delete``), every verb x resource of every rule in rbac.yaml was used: nothing in it is superfluous;
* anything else (secrets, deleting the operator's Deployment, another namespace, patch, watch) is
  403 with kube-apiserver's message, and the hook raises ``KubeForbidden`` at once (no retry).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from airflow.sdk.exceptions import AirflowFailException
from kubernetes import client, config, utils

from devtools.airflow_runs import DAG_ID
from sandbox.kube import write_kubeconfig
from sandbox.kube.auth import ADMIN_TOKEN
from sandbox.kube.rbac import rule_allows
from sandbox.kube.requestinfo import RequestInfo
from tests.e2e.e2e_helpers import GROUP_VERSION, custom_objects
from tests.helpers import wait_for

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
RBAC_YAML = ROOT / "include" / "manifests" / "rbac.yaml"
SA_USER = "system:serviceaccount:default:airflow"
OPERATOR_NS = "sagemaker-k8s-operator-system"
GROUP = "sagemaker.aws.amazon.com"


def rbac_documents(path: Path = RBAC_YAML) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


@dataclass
class Identity:
    kubeconfig: Path
    env: dict[str, str]  # what run_dag needs to use it as kubernetes_default

    def api_client(self) -> client.ApiClient:
        return config.new_client_from_config(str(self.kubeconfig))


def admin_client(sandbox, tmp_path: Path) -> client.ApiClient:
    kube = sandbox.kube
    path = write_kubeconfig(tmp_path / "admin-kubeconfig", kube.secure_url, certificate_authority=kube.ca_pem)
    return config.new_client_from_config(str(path))


@pytest.fixture
def airflow_identity(sandbox, tmp_path) -> Identity:
    return identity_for(sandbox, tmp_path, RBAC_YAML)


def identity_for(sandbox, tmp_path: Path, rbac: Path) -> Identity:
    """``rbac`` applied as the admin, and a kubeconfig with a token of its service account default/airflow."""
    kube = sandbox.kube
    admin = admin_client(sandbox, tmp_path)
    utils.create_from_yaml(admin, yaml_objects=rbac_documents(rbac))
    request = client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(audiences=[]))
    token = client.CoreV1Api(admin).create_namespaced_service_account_token("airflow", "default", request)
    assert token.status.token and token.status.token != ADMIN_TOKEN
    kubeconfig = write_kubeconfig(
        tmp_path / "airflow-kubeconfig",
        kube.secure_url,
        namespace=sandbox.info.namespace,
        token=token.status.token,
        certificate_authority=kube.ca_pem,
    )
    conn = json.loads(sandbox.env()["AIRFLOW_CONN_KUBERNETES_DEFAULT"])
    conn["extra"]["kube_config_path"] = str(kubeconfig)
    env = {"AIRFLOW_CONN_KUBERNETES_DEFAULT": json.dumps(conn), "KUBECONFIG": str(kubeconfig)}
    return Identity(kubeconfig, env)


def granted(path: Path = RBAC_YAML) -> list[tuple[str, str, RequestInfo]]:
    """One (binding, rule text, attributes) per verb x resource x resourceName of an RBAC file."""
    docs = rbac_documents(path)
    roles = {(d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"]): d for d in docs}
    out = []
    for binding in (d for d in docs if d["kind"] in ("RoleBinding", "ClusterRoleBinding")):
        namespace = binding["metadata"].get("namespace", "")
        ref = binding["roleRef"]
        role = roles[(ref["kind"], namespace if ref["kind"] == "Role" else "", ref["name"])]
        for rule in role["rules"]:
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    for verb in rule["verbs"]:
                        for name in rule.get("resourceNames") or [""]:
                            info = RequestInfo("", verb, True, group, "v1", resource, "", namespace, name)
                            out.append((binding["metadata"]["name"], f"{info.describe()}", info))
    return out


def used(grant: RequestInfo, request: RequestInfo) -> bool:
    rule = {"verbs": [grant.verb], "apiGroups": [grant.api_group], "resources": [grant.resource]}
    if grant.name:
        rule["resourceNames"] = [grant.name]
    return (not grant.namespace or grant.namespace == request.namespace) and rule_allows(request, rule)


def delete_everything(sandbox, run, tuned, monkeypatch, identity: Identity) -> None:
    """The other users of ``delete``, as airflow: killed training and tuning tasks delete their CRs,
    and a rollback with no champion to go back to deletes the serving CR (its champion record removed
    first, by the admin, to take that path)."""
    from sagemaker_k8s.operators.rollback import SageMakerK8sRollbackOperator
    from sagemaker_k8s.operators.training import SageMakerK8sTrainingOperator
    from sagemaker_k8s.operators.tuning import SageMakerK8sTuningOperator

    for key, value in {**sandbox.env(), **identity.env}.items():
        monkeypatch.setenv(key, value)
    training = SageMakerK8sTrainingOperator(task_id="submit_training", config=run.xcoms["resolve_config"])
    training._submitted = (run.xcoms["submit_training"]["name"], run.xcoms["submit_training"]["namespace"])
    training.on_kill()
    tuning = SageMakerK8sTuningOperator(task_id="submit_tuning", config=tuned.xcoms["resolve_config"])
    tuning._submitted = (tuned.xcoms["submit_tuning"]["name"], tuned.xcoms["submit_tuning"]["namespace"])
    tuning.on_kill()
    (serving,) = custom_objects(sandbox, "hostingdeployments")
    serving["metadata"]["annotations"].pop("sagemaker-k8s.airflow/champion")
    serving["metadata"].pop("resourceVersion", None)
    sandbox.kube.apply(serving)
    rollback = SageMakerK8sRollbackOperator(
        task_id="rollback_endpoint",
        gate_task_id="evaluate_challenger",
        config_task_id="resolve_config",
        dataset_task_id="upload_dataset",
        promote_task_id="promote_endpoint",
        smoke_task_id="smoke_test_endpoint",
    )
    xcoms = {"resolve_config": run.xcoms["resolve_config"], "upload_dataset": run.xcoms["upload_dataset"]}
    ti = RecordedTI(xcoms, {"promote_endpoint": "failed"}, run.run_id)
    with pytest.raises(AirflowFailException, match="no champion to roll back to"):
        rollback.execute({"ti": ti, "dag": type("D", (), {"dag_id": DAG_ID}), "run_id": run.run_id})
    for plural in ("hyperparametertuningjobs", "trainingjobs", "hostingdeployments"):
        wait_for(lambda p=plural: custom_objects(sandbox, p) == [], timeout=120, what=f"{plural} deleted")


@dataclass
class RecordedTI:
    """A finished run's XComs and task states, as a task instance hands them to a task."""

    xcoms: dict
    states: dict
    run_id: str
    dag_id: str = DAG_ID

    def xcom_pull(self, task_ids, key="return_value", **_):
        return self.xcoms.get(task_ids) if key == "return_value" else None

    def get_task_states(self, dag_id, task_ids, run_ids):
        return {self.run_id: {t: self.states[t] for t in task_ids if t in self.states}}


def test_pipeline_needs_exactly_rbac_yaml(sandbox, run_dag, airflow_identity, monkeypatch):
    kube = sandbox.kube
    kube.clear_requests()
    result, run = run_dag(env=airflow_identity.env)
    assert run.state == "success", result.stdout[-3000:] + result.stderr[-2000:]
    assert set(run.task_states.values()) == {"success", "skipped"}
    # A tuning run too: the tuning branch has its own kind (its batch scoring and retention as well).
    result, tuned = run_dag(env=airflow_identity.env, conf={"tuning": {"max_jobs": 2, "max_parallel": 2}})
    assert tuned.state == "success", result.stdout[-3000:] + result.stderr[-2000:]
    assert tuned.task_states["wait_tuning"] == "success"
    delete_everything(sandbox, run, tuned, monkeypatch, airflow_identity)

    over_tls = [r for r in kube.requests if r.secure]
    assert over_tls, "the pipeline did not use the TLS port"
    assert {r.user for r in over_tls} == {SA_USER}
    denied = [
        f"{r.method} {r.path} -> {r.status}" for r in over_tls if not r.allowed or r.status in (401, 403)
    ]
    assert denied == []
    bindings = [d["metadata"]["name"] for d in rbac_documents() if d["kind"].endswith("Binding")]
    outside = [r.path for r in over_tls if not any(f'Binding "{b}' in r.authz_reason for b in bindings)]
    assert outside == [], "allowed by something other than rbac.yaml"
    deletes = [r for r in over_tls if r.verb == "delete"]
    assert sorted({r.attributes.resource for r in deletes}) == [
        "batchtransformjobs", "hostingdeployments", "hyperparametertuningjobs", "models", "trainingjobs",
    ]  # fmt: skip
    assert all(r.status == 200 for r in deletes)

    unused = [
        f"{binding}: {text}"
        for binding, text, grant in granted()
        if not any(used(grant, r.attributes) for r in over_tls)
    ]
    assert unused == [], "rules in rbac.yaml that nothing used"


def test_everything_else_is_forbidden(sandbox, airflow_identity, monkeypatch):
    from sagemaker_k8s.exceptions import KubeForbidden, KubeTransientError
    from sagemaker_k8s.hooks.kubernetes import SageMakerK8sHook
    from sagemaker_k8s.manifests.flavours import LEGACY_TRAINING_JOB

    api = airflow_identity.api_client()
    core, apps, custom = client.CoreV1Api(api), client.AppsV1Api(api), client.CustomObjectsApi(api)
    cases = {
        "list secrets": (
            lambda: core.list_namespaced_secret("default"),
            'secrets is forbidden: User "system:serviceaccount:default:airflow" cannot list resource '
            '"secrets" in API group "" in the namespace "default"',
        ),
        "delete the operator's deployment": (
            lambda: apps.delete_namespaced_deployment(
                "sagemaker-k8s-operator-controller-manager", OPERATOR_NS
            ),
            'deployments.apps "sagemaker-k8s-operator-controller-manager" is forbidden: User '
            '"system:serviceaccount:default:airflow" cannot delete resource "deployments" in API group '
            '"apps" in the namespace "sagemaker-k8s-operator-system"',
        ),
        "get another deployment": (
            lambda: apps.read_namespaced_deployment("coredns", "kube-system"),
            'cannot get resource "deployments" in API group "apps" in the namespace "kube-system"',
        ),
        "list all pods": (lambda: core.list_pod_for_all_namespaces(), "at the cluster scope"),
        "create a training job elsewhere": (
            lambda: custom.create_namespaced_custom_object(GROUP, "v1", "kube-system", "trainingjobs", {}),
            'cannot create resource "trainingjobs" in API group "sagemaker.aws.amazon.com" in the namespace '
            '"kube-system"',
        ),
        "patch a training job": (
            lambda: custom.patch_namespaced_custom_object(GROUP, "v1", "default", "trainingjobs", "x", {}),
            'trainingjobs.sagemaker.aws.amazon.com "x" is forbidden',
        ),
        "watch training jobs": (
            lambda: custom.list_namespaced_custom_object(GROUP, "v1", "default", "trainingjobs", watch=True),
            'cannot watch resource "trainingjobs"',
        ),
    }
    for what, (call, message) in cases.items():
        with pytest.raises(client.ApiException) as info:
            call()
        assert info.value.status == 403, what
        assert message in json.loads(info.value.body)["message"], what

    # The pipeline's hook: a 403 is a KubeForbidden right away, never retried like a transient error.
    for key, value in {**sandbox.env(), **airflow_identity.env}.items():
        monkeypatch.setenv(key, value)
    hook = SageMakerK8sHook()
    sandbox.kube.clear_requests()
    with pytest.raises(KubeForbidden) as forbidden:
        hook.get(LEGACY_TRAINING_JOB, "x", "kube-system")
    assert not isinstance(forbidden.value, KubeTransientError)
    assert forbidden.value.status == 403 and forbidden.value.reason == "Forbidden"
    assert 'User "system:serviceaccount:default:airflow" cannot get resource "trainingjobs"' in str(
        forbidden.value
    )
    assert [(r.method, r.status) for r in sandbox.kube.requests if r.secure] == [("GET", 403)]


def test_without_delete_on_kill_fails_with_a_403(sandbox, airflow_identity, monkeypatch):
    from sagemaker_k8s.exceptions import KubeForbidden
    from sagemaker_k8s.operators.training import SageMakerK8sTrainingOperator

    kube = sandbox.kube
    role = next(
        d for d in rbac_documents() if d["kind"] == "Role" and d["metadata"]["namespace"] == "default"
    )
    for rule in role["rules"]:
        rule["verbs"].remove("delete")
    kube.apply(role)
    cr = yaml.safe_load((ROOT / "include" / "manifests" / "trainingjob.yaml").read_text())
    cr["metadata"]["name"] = "killed"
    kube.apply(cr)
    for key, value in {**sandbox.env(), **airflow_identity.env}.items():
        monkeypatch.setenv(key, value)
    operator = SageMakerK8sTrainingOperator(task_id="submit_training", config={"flavour": "legacy"})
    operator._submitted = ("killed", "default")
    kube.clear_requests()
    with pytest.raises(KubeForbidden, match='cannot delete resource "trainingjobs"'):
        operator.on_kill()
    assert [(r.method, r.status) for r in kube.requests if r.secure] == [("DELETE", 403)]
    assert kube.get(GROUP_VERSION, "trainingjobs", "killed", namespace="default") is not None
