"""The preflight's checks of the ACK SageMaker controller, on literal objects (no cluster, no AWS).

The Deployment below has the shape the controller's Helm chart renders (``helm/templates/deployment.yaml``):
flags whose values are ``$(VAR)`` references to the container's env, ``--enable-carm=<bool>``.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from sagemaker_k8s.constants import (
    ACK_DEPLOYMENT,
    ACK_NAMESPACE,
    ACK_RELEASE,
    ACK_SERVICE_ACCOUNT,
    ACK_SUBJECT,
    OPERATOR_NAMESPACE,
    OPERATOR_SERVICE_ACCOUNT,
)
from sagemaker_k8s.manifests.images import partition
from sagemaker_k8s.preflight.cluster import (
    ACK_REQUIRED_CRDS,
    LEGACY_OPERATOR,
    REQUIRED_CRDS,
    ack_controller,
    ack_install_fix,
    ack_watched_namespaces,
    check_ack_region,
    check_ack_watched_namespace,
    check_crds,
    check_operator_pod,
    check_service_account,
    controller_setting,
    pod_selector,
    required_crds,
)
from sagemaker_k8s.preflight.irsa import oidc_provider_arn, operator_trust_policy
from sagemaker_k8s.preflight.permissions import (
    ACK_SAGEMAKER_ACTIONS,
    OPERATOR_SAGEMAKER_ACTIONS,
    TRANSFORM_SAGEMAKER_ACTIONS,
    check_sagemaker_permissions,
    full_access_arn,
    operator_actions,
)
from sagemaker_k8s.preflight.report import FAIL, PASS, WARN
from sagemaker_k8s.preflight.trust import check_operator_trust, create_role_fix

ROLE = "arn:aws:iam::123456789012:role/ack-sagemaker-controller"
ACK = ack_controller("us-west-2", ROLE)
CHART = "oci://public.ecr.aws/aws-controllers-k8s/sagemaker-chart"
INSTALL = (
    f"helm install -n ack-system ack-sagemaker-controller {CHART} --version 1.9.1 --set aws.region=us-west-2 "
    f'--set serviceAccount.annotations."eks\\.amazonaws\\.com/role-arn"={ROLE}'
)
GROUP = "sagemaker.services.k8s.aws"


def chart_deployment(
    *, region: str = "us-west-2", watch: str = "", carm: str = "true", name: str = ACK_DEPLOYMENT
) -> dict[str, Any]:
    """The controller's Deployment as the chart renders it (the settings the checks read)."""
    args = [
        "--aws-region", "$(AWS_REGION)", "--aws-endpoint-url", "$(AWS_ENDPOINT_URL)",
        "--log-level", "$(ACK_LOG_LEVEL)", "--watch-namespace", "$(ACK_WATCH_NAMESPACE)",
        f"--enable-carm={carm}", "--enable-cross-namespace=true",
    ]  # fmt: skip
    env = [
        {"name": "ACK_SYSTEM_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "AWS_REGION", "value": region},
        {"name": "AWS_ENDPOINT_URL", "value": ""},
        {"name": "ACK_WATCH_NAMESPACE", "value": watch},
        {"name": "ACK_LOG_LEVEL", "value": "info"},
    ]
    labels = {"app.kubernetes.io/name": "sagemaker-chart", "app.kubernetes.io/instance": ACK_RELEASE}
    container = {"name": "controller", "command": ["./bin/controller"], "args": args, "env": env}
    return {
        "metadata": {"name": name, "namespace": ACK_NAMESPACE},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
        },
    }


def with_container(deployment: dict[str, Any], **fields: Any) -> dict[str, Any]:
    out = copy.deepcopy(deployment)
    out["spec"]["template"]["spec"]["containers"][0].update(fields)
    return out


def namespace(annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": "default", "annotations": annotations or {}}}


def pod(ready: bool = True, waiting: str | None = None) -> dict[str, Any]:
    status = {
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        "containerStatuses": [
            {"name": "controller", "state": {"waiting": {"reason": waiting}} if waiting else {}}
        ],
    }
    return {"metadata": {"name": "ack-sagemaker-controller-0"}, "status": status}


# -- CRDs ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("tuning", "batch", "expected"),
    [
        (False, False, {"trainingjobs", "models", "endpointconfigs", "endpoints"}),
        (True, False, {"trainingjobs", "models", "endpointconfigs", "endpoints", "hyperparametertuningjobs"}),
        (False, True, {"trainingjobs", "models", "endpointconfigs", "endpoints", "transformjobs"}),
    ],
)
def test_ack_needs_its_own_crds(tuning, batch, expected):
    required = required_crds(tuning=tuning, batch_scoring=batch, ack=True)
    assert len(required) == len(set(required))  # models once, though serving and batch scoring both need it
    assert set(required) == {f"{plural}.{GROUP}" for plural in expected}
    assert required_crds(tuning=tuning, batch_scoring=batch) == required_crds(
        tuning=tuning, batch_scoring=batch, ack=False
    )  # the legacy list is unchanged


@pytest.mark.parametrize(
    ("installed", "status"),
    [
        (ACK_REQUIRED_CRDS, PASS),
        ((*ACK_REQUIRED_CRDS, *REQUIRED_CRDS), PASS),
        (REQUIRED_CRDS, FAIL),  # the legacy operator's CRDs do not count
        (ACK_REQUIRED_CRDS[:-1], FAIL),
        ((), FAIL),
    ],
)
def test_ack_crds(installed, status):
    (finding,) = check_crds(installed, ACK_REQUIRED_CRDS, ACK)
    assert (finding.check, finding.status) == ("ACK controller CRDs installed", status)
    if status == FAIL:
        assert finding.fix.startswith(INSTALL)
        assert "kubectl apply -f include/manifests/crds/ack/" in finding.fix
        assert "include/manifests/crds/legacy" not in finding.fix


def test_install_fix_names_the_region_and_a_placeholder_role():
    assert ack_install_fix("cn-north-1", None) == (
        f"helm install -n ack-system ack-sagemaker-controller {CHART} --version 1.9.1 "
        '--set aws.region=cn-north-1 --set serviceAccount.annotations."eks\\.amazonaws\\.com/role-arn"='
        "<controller role ARN> --create-namespace"
    )


# -- the controller's pod ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("pods", "deployment", "status", "detail", "fix"),
    [
        ([pod()], chart_deployment(), PASS, "1 ready pod(s)", ""),
        (
            [],
            None,
            FAIL,
            f"deployment ack-system/{ACK_DEPLOYMENT} or ack-system/ack-sagemaker-controller not found: "
            "the ACK controller is not installed",
            INSTALL,
        ),
        (
            [],
            chart_deployment(),
            FAIL,
            f"no pod for deployment {ACK_DEPLOYMENT} (replicas: 1)",
            f"kubectl -n ack-system scale deployment {ACK_DEPLOYMENT} --replicas=1",
        ),
        (
            [pod(ready=False, waiting="CrashLoopBackOff")],
            chart_deployment(),
            FAIL,
            "ACK controller pod not ready (controller: CrashLoopBackOff)",
            f"kubectl -n ack-system logs deployment/{ACK_DEPLOYMENT} -c controller   "
            f"# then: kubectl -n ack-system rollout restart deployment {ACK_DEPLOYMENT}",
        ),
    ],
)
def test_ack_controller_pod(pods, deployment, status, detail, fix):
    (finding,) = check_operator_pod(pods, deployment, ACK)
    assert (finding.check, finding.status) == ("ACK controller pod running", status)
    assert finding.detail.startswith(detail)
    assert finding.fix.startswith(fix)


def test_fixes_name_the_deployment_it_was_found_under():
    controller = ack_controller("us-west-2", ROLE, "ack-sagemaker-controller")
    (finding,) = check_operator_pod([], chart_deployment(name="ack-sagemaker-controller"), controller)
    assert finding.fix == "kubectl -n ack-system scale deployment ack-sagemaker-controller --replicas=1"
    assert controller.deployment_names == ("ack-sagemaker-controller", ACK_DEPLOYMENT)


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        (
            {"matchLabels": {"app.kubernetes.io/name": "sagemaker-chart", "app.kubernetes.io/instance": "r"}},
            "app.kubernetes.io/instance=r,app.kubernetes.io/name=sagemaker-chart",
        ),
        (
            {
                "matchLabels": {"a": "1"},
                "matchExpressions": [
                    {"key": "b", "operator": "In", "values": ["x", "y"]},
                    {"key": "c", "operator": "NotIn", "values": ["z"]},
                    {"key": "d", "operator": "Exists"},
                    {"key": "e", "operator": "DoesNotExist"},
                ],
            },
            "a=1,b in (x,y),c notin (z),d,!e",
        ),
        ({}, ""),
    ],
)
def test_pods_are_selected_by_the_deployments_selector(selector, expected):
    assert pod_selector({"spec": {"selector": selector}}) == expected
    assert pod_selector(None) == ""


def test_the_legacy_operator_keeps_its_selector_and_names():
    assert LEGACY_OPERATOR.pod_selector == "control-plane=controller-manager"
    assert (LEGACY_OPERATOR.label, LEGACY_OPERATOR.namespace, LEGACY_OPERATOR.service_account) == (
        "operator",
        OPERATOR_NAMESPACE,
        OPERATOR_SERVICE_ACCOUNT,
    )


# -- the namespaces it watches -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("deployment", "watched"),
    [
        (chart_deployment(), None),
        (chart_deployment(watch="default"), ("default",)),
        (chart_deployment(watch="jobs,default"), ("jobs", "default")),
        (with_container(chart_deployment(), args=["--watch-namespace=jobs"]), ("jobs",)),
        (with_container(chart_deployment(), args=["--watch-namespace", "jobs"]), ("jobs",)),
        (with_container(chart_deployment(), args=["--watch-namespace=a", "--watch-namespace=b"]), ("b",)),
        (with_container(chart_deployment(watch="jobs"), args=[]), ("jobs",)),  # env only
        (with_container(chart_deployment(), args=["--watch-namespace", "$$(X)"]), ("$(X)",)),
    ],
)
def test_watched_namespaces(deployment, watched):
    assert ack_watched_namespaces(deployment)[0] == watched


@pytest.mark.parametrize(
    ("watch", "status"),
    [("", PASS), ("default", PASS), ("jobs,default", PASS), ("sagemaker-jobs", FAIL), ("a,b", FAIL)],
)
def test_ack_watched_namespace(watch, status):
    (finding,) = check_ack_watched_namespace(chart_deployment(watch=watch), "default")
    assert (finding.check, finding.status) == ("ACK controller watches namespace default", status)
    if status == FAIL:
        first = watch.split(",")[0]
        assert finding.fix == (
            f"run the pipeline with namespace={first}, or let the controller watch every namespace: "
            f"helm upgrade -n ack-system ack-sagemaker-controller {CHART} --version 1.9.1 --reuse-values "
            "--set installScope=cluster --set watchNamespace="
        )
        assert f"only watches namespace {watch.replace(',', ', ')}" in finding.detail


def test_a_watch_namespace_from_a_secret_cannot_be_judged():
    deployment = chart_deployment()
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    env[3] = {"name": "ACK_WATCH_NAMESPACE", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}}
    (finding,) = check_ack_watched_namespace(deployment, "default")
    assert finding.status == WARN and "cannot tell" in finding.detail


# -- its service account -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("annotations", "expected", "status"),
    [
        ({"eks.amazonaws.com/role-arn": ROLE}, None, PASS),
        ({"eks.amazonaws.com/role-arn": ROLE}, ROLE, PASS),
        ({"eks.amazonaws.com/role-arn": ROLE}, ROLE + "-other", WARN),
        ({}, None, FAIL),
        ({}, ROLE, FAIL),
    ],
)
def test_ack_service_account(annotations, expected, status):
    sa = {"metadata": {"name": ACK_SERVICE_ACCOUNT, "annotations": annotations}}
    (finding,) = check_service_account(sa, expected, ACK)
    assert (finding.check, finding.status) == ("ACK controller service account (IRSA)", status)
    if status != PASS:
        assert finding.fix == (
            "kubectl -n ack-system annotate serviceaccount ack-sagemaker-controller "
            f"eks.amazonaws.com/role-arn={expected or '<ACK controller role ARN>'} --overwrite   "
            f"# then: kubectl -n ack-system rollout restart deployment {ACK_DEPLOYMENT}"
        )


def test_ack_service_account_missing():
    (finding,) = check_service_account(None, None, ACK)
    assert finding.status == FAIL
    assert finding.detail == "service account ack-system/ack-sagemaker-controller not found"
    assert finding.fix.startswith(INSTALL)


# -- its region ------------------------------------------------------------------------------------------
DEFAULT_REGION = "services.k8s.aws/default-region"
ANNOTATE = "kubectl annotate namespace default services.k8s.aws/default-region=us-west-2 --overwrite"
UPGRADE = (
    f"helm upgrade -n ack-system ack-sagemaker-controller {CHART} --version 1.9.1 --reuse-values "
    "--set aws.region=us-west-2"
)


@pytest.mark.parametrize(
    ("deployment", "annotations", "status", "fix"),
    [
        (chart_deployment(), {}, PASS, ""),
        (chart_deployment(region="eu-west-1"), {DEFAULT_REGION: "us-west-2"}, PASS, ""),
        (
            chart_deployment(region="eu-west-1"),
            {},
            FAIL,
            f"{ANNOTATE}   # or, for every namespace: {UPGRADE}",
        ),
        (chart_deployment(), {DEFAULT_REGION: "eu-west-1"}, FAIL, ANNOTATE),
        (chart_deployment(region=""), {DEFAULT_REGION: "us-west-2"}, FAIL, UPGRADE),  # it cannot start
        # One watched namespace, or CARM off: the controller runs no namespace cache, ignores the annotation.
        (chart_deployment(watch="default"), {DEFAULT_REGION: "eu-west-1"}, PASS, ""),
        (chart_deployment(region="eu-west-1", watch="default"), {DEFAULT_REGION: "us-west-2"}, FAIL, UPGRADE),
        (chart_deployment(region="eu-west-1", carm="false"), {DEFAULT_REGION: "us-west-2"}, FAIL, UPGRADE),
        (chart_deployment(region="eu-west-1", watch="default,jobs"), {DEFAULT_REGION: "us-west-2"}, PASS, ""),
        # --aws-region itself wins over AWS_REGION; without the flag AWS_REGION is the default.
        (with_container(chart_deployment(), args=["--aws-region=eu-west-1"]), {}, FAIL, ANNOTATE),
        (with_container(chart_deployment(), args=["--aws-region", "us-west-2"]), {}, PASS, ""),
        (with_container(chart_deployment(region="us-west-2"), args=[]), {}, PASS, ""),
        (with_container(chart_deployment(region="eu-west-1"), args=[]), {}, FAIL, ANNOTATE),
    ],
)
def test_ack_region(deployment, annotations, status, fix):
    (finding,) = check_ack_region(deployment, namespace(annotations), "default", "us-west-2")
    assert (finding.check, finding.status) == ("ACK controller region for namespace default", status)
    assert finding.fix.startswith(fix)


def test_ack_region_detail_says_where_the_region_came_from():
    (finding,) = check_ack_region(
        chart_deployment(), namespace({DEFAULT_REGION: "eu-west-1"}), "default", "us-west-2"
    )
    assert finding.detail.startswith(
        "the ACK controller uses eu-west-1 for namespace default "
        "(namespace default annotation services.k8s.aws/default-region), not the run's region us-west-2"
    )
    (finding,) = check_ack_region(chart_deployment(region="eu-west-1"), None, "default", "us-west-2")
    assert "--aws-region $(AWS_REGION) = 'eu-west-1'" in finding.detail


def test_ack_region_from_a_secret_cannot_be_judged():
    deployment = chart_deployment()
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    env[1] = {"name": "AWS_REGION", "valueFrom": {"secretKeyRef": {"name": "s", "key": "region"}}}
    (finding,) = check_ack_region(deployment, namespace(), "default", "us-west-2")
    assert finding.status == WARN and finding.fix == UPGRADE
    (finding,) = check_ack_region(
        deployment, namespace({DEFAULT_REGION: "us-west-2"}), "default", "us-west-2"
    )
    assert finding.status == PASS  # the namespace's annotation decides


@pytest.mark.parametrize(
    ("args", "env", "value"),
    [
        (["--aws-region", "$(AWS_REGION)"], [{"name": "AWS_REGION", "value": "x"}], "x"),
        (["--aws-region=$(AWS_REGION)-2"], [{"name": "AWS_REGION", "value": "x"}], "x-2"),
        (["--aws-region", "$(UNDEFINED)"], [], "$(UNDEFINED)"),  # Kubernetes leaves it as written
        (["--aws-region", "$$(AWS_REGION)"], [{"name": "AWS_REGION", "value": "x"}], "$(AWS_REGION)"),
        (["--aws-region"], [{"name": "AWS_REGION", "value": "x"}], "x"),  # no value: the flag is not set
        ([], [], ""),
    ],
)
def test_controller_setting(args, env, value):
    deployment = with_container(chart_deployment(), args=args, env=env)
    assert controller_setting(deployment, "aws-region", "AWS_REGION").value == value


# -- its IRSA role: trust (every partition) and permissions ----------------------------------------------
ISSUERS = {
    "us-west-2": "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE",
    "cn-north-1": "https://oidc.eks.cn-north-1.amazonaws.com.cn/id/EXAMPLED539D4633E53DE1B71EXAMPLE",
    "us-gov-west-1": "https://oidc.eks.us-gov-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE",
}
PARTITIONS = [("us-west-2", "aws"), ("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")]


def ack_trust(region: str, subject_namespace: str = ACK_NAMESPACE, subject_sa: str = ACK_SERVICE_ACCOUNT):
    provider = oidc_provider_arn("123456789012", ISSUERS[region], partition(region))
    return provider, operator_trust_policy(provider, ISSUERS[region], subject_namespace, subject_sa)


def trust_kw(region: str, provider: str) -> dict[str, Any]:
    return {
        "provider_arn": provider,
        "issuer_url": ISSUERS[region],
        "namespace": ACK_NAMESPACE,
        "service_account": ACK_SERVICE_ACCOUNT,
        "role_name": "ack-sagemaker-controller",
        "label": "ACK controller",
    }


def test_the_ack_subject():
    assert ACK_SUBJECT == "system:serviceaccount:ack-system:ack-sagemaker-controller"


@pytest.mark.parametrize(("region", "part"), PARTITIONS)
def test_ack_trust_passes_in_every_partition(region, part):
    provider, policy = ack_trust(region)
    assert provider.startswith(f"arn:{part}:iam::123456789012:oidc-provider/")
    findings = check_operator_trust(policy, **trust_kw(region, provider))
    assert [(f.check, f.status) for f in findings] == [
        ("ACK controller role trust: OIDC provider", PASS),
        ("ACK controller role trust: service account", PASS),
        ("ACK controller role trust: audience", PASS),
    ]
    assert findings[1].detail == f"only {ACK_SUBJECT} may assume the role"


@pytest.mark.parametrize(("region", "part"), PARTITIONS)
def test_a_role_trusting_the_legacy_operator_fails_with_the_ack_subject_in_the_fix(region, part):
    provider, legacy = ack_trust(region, OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT)
    by_check = {f.check: f for f in check_operator_trust(legacy, **trust_kw(region, provider))}
    sa = by_check["ACK controller role trust: service account"]
    assert sa.status == FAIL and f"no statement allows {ACK_SUBJECT}" in sa.detail
    fixed = json.loads(sa.fix.split("<<'EOF'\n", 1)[1].split("\nEOF\n", 1)[0])
    condition = fixed["Statement"][0]["Condition"]["StringEquals"]
    host = ISSUERS[region].removeprefix("https://")
    assert condition == {f"{host}:aud": "sts.amazonaws.com", f"{host}:sub": ACK_SUBJECT}
    assert fixed["Statement"][0]["Principal"] == {"Federated": provider}
    assert provider.startswith(f"arn:{part}:")
    assert sa.fix.endswith(
        "aws iam update-assume-role-policy --role-name ack-sagemaker-controller --policy-document file://trust.json"
    )
    assert all(check_operator_trust(fixed, **trust_kw(region, provider))[i].status == PASS for i in range(3))


@pytest.mark.parametrize(("region", "part"), PARTITIONS)
def test_a_commercial_provider_does_not_count_in_another_partition(region, part):
    provider = oidc_provider_arn("123456789012", ISSUERS[region], part)
    wrong = oidc_provider_arn("123456789012", ISSUERS[region], "aws")
    policy = operator_trust_policy(wrong, ISSUERS[region], ACK_NAMESPACE, ACK_SERVICE_ACCOUNT)
    (first, *_) = check_operator_trust(policy, **trust_kw(region, provider))
    assert first.status == (PASS if part == "aws" else FAIL)
    if part != "aws":
        assert f'"Federated": "{provider}"' in first.fix


def test_ack_audience_must_be_sts():
    provider, policy = ack_trust("us-west-2")
    condition = policy["Statement"][0]["Condition"]["StringEquals"]
    (aud_key,) = [k for k in condition if k.endswith(":aud")]
    condition[aud_key] = "sagemaker.amazonaws.com"
    by_check = {f.check: f for f in check_operator_trust(policy, **trust_kw("us-west-2", provider))}
    audience = by_check["ACK controller role trust: audience"]
    assert audience.status == FAIL and ACK_SUBJECT in audience.fix


def test_create_role_fix_writes_the_trust_of_the_ack_subject():
    _, policy = ack_trust("us-west-2")
    fix = create_role_fix("ack-role", policy)
    assert fix.startswith("cat > trust.json <<'EOF'\n") and ACK_SUBJECT in fix
    assert fix.endswith(
        "\nEOF\naws iam create-role --role-name ack-role --assume-role-policy-document file://trust.json"
    )


@pytest.mark.parametrize(
    ("tuning", "batch", "extra"),
    [
        (False, False, set()),
        (True, False, {"sagemaker:CreateHyperParameterTuningJob", "sagemaker:StopHyperParameterTuningJob"}),
        (False, True, set(TRANSFORM_SAGEMAKER_ACTIONS)),
    ],
)
def test_ack_actions(tuning, batch, extra):
    actions = operator_actions(tuning=tuning, batch_scoring=batch, ack=True)
    assert set(actions) >= set(ACK_SAGEMAKER_ACTIONS) | extra
    assert {"sagemaker:AddTags", "sagemaker:UpdateTrainingJob", "sagemaker:UpdateEndpoint"} <= set(actions)
    assert "sagemaker:ListTrainingJobsForHyperParameterTuningJob" not in actions
    assert operator_actions(tuning=tuning, batch_scoring=batch)[: len(OPERATOR_SAGEMAKER_ACTIONS)] == (
        OPERATOR_SAGEMAKER_ACTIONS
    )


@pytest.mark.parametrize("part", ["aws", "aws-cn", "aws-us-gov"])
def test_ack_permissions(part):
    kw = {"role_name": "ack-role", "partition": part, "actions": operator_actions(ack=True)}
    passed = check_sagemaker_permissions([full_access_arn(part)], [], label="ACK controller", **kw)
    assert [(f.check, f.status) for f in passed] == [
        ("ACK controller permissions: SageMaker API", PASS),
        ("ACK controller permissions: iam:PassRole", PASS),
    ]
    # What the legacy operator needs is not enough: no tags on create, no training-job update.
    legacy_only = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": [*OPERATOR_SAGEMAKER_ACTIONS, "iam:PassRole"], "Resource": "*"}
    ]}  # fmt: skip
    api, pass_role = check_sagemaker_permissions([], [legacy_only], label="ACK controller", **kw)
    assert api.status == FAIL and pass_role.status == PASS
    assert api.detail == "not allowed: sagemaker:UpdateTrainingJob, sagemaker:AddTags"
    assert api.fix == f"aws iam attach-role-policy --role-name ack-role --policy-arn {full_access_arn(part)}"
