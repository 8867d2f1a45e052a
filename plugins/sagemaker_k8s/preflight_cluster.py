"""Preflight checks on the Kubernetes side (pure): CRDs, the operator's pod, its service account.

Each function takes facts already read from the cluster and returns `Finding` rows whose ``fix``
is the exact command to run.
"""

from __future__ import annotations

from collections.abc import Iterable

from sagemaker_k8s.constants import (
    OPERATOR_DEPLOYMENT,
    OPERATOR_NAMESPACE,
    OPERATOR_SERVICE_ACCOUNT,
    ROLE_ARN_ANNOTATION,
)
from sagemaker_k8s.manifests.images import partition
from sagemaker_k8s.preflight_report import FAIL, PASS, WARN, Finding

REQUIRED_CRDS = (
    "trainingjobs.sagemaker.aws.amazon.com",
    "hostingdeployments.sagemaker.aws.amazon.com",
)
TUNING_CRDS = ("hyperparametertuningjobs.sagemaker.aws.amazon.com",)
BATCH_CRDS = ("models.sagemaker.aws.amazon.com", "batchtransformjobs.sagemaker.aws.amazon.com")


def required_crds(*, tuning: bool = False, batch_scoring: bool = False) -> tuple[str, ...]:
    """The CRDs a run needs: training and hosting always, tuning and batch scoring when enabled."""
    return (*REQUIRED_CRDS, *(TUNING_CRDS if tuning else ()), *(BATCH_CRDS if batch_scoring else ()))


CRD_FIX = (
    "kubectl apply -f include/manifests/crds/legacy/   "
    "# the operator's CRDs converted to apiextensions.k8s.io/v1 (the published v1beta1 ones "
    "do not install on Kubernetes >= 1.22)"
)


def check_crds(installed: Iterable[str], required: Iterable[str] = REQUIRED_CRDS) -> list[Finding]:
    required = tuple(required)
    missing = sorted(set(required) - set(installed))
    if missing:
        return [Finding("operator CRDs installed", FAIL, f"missing: {', '.join(missing)}", CRD_FIX)]
    return [Finding("operator CRDs installed", PASS, ", ".join(required))]


def _ready(pod: dict) -> bool:
    status = pod.get("status") or {}
    return status.get("phase") == "Running" and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or []
    )


def _waiting_reasons(pod: dict) -> list[str]:
    reasons = []
    for container in (pod.get("status") or {}).get("containerStatuses") or []:
        waiting = (container.get("state") or {}).get("waiting")
        if waiting:
            reasons.append(f"{container.get('name')}: {waiting.get('reason')}")
    return reasons


def check_operator_pod(pods: list[dict], deployment: dict | None) -> list[Finding]:
    check = "operator pod running"
    if deployment is None:
        return [
            Finding(
                check,
                FAIL,
                f"deployment {OPERATOR_NAMESPACE}/{OPERATOR_DEPLOYMENT} not found: "
                "the operator is not installed",
                "kubectl apply -f include/manifests/operator/installer.yaml   "
                "# or the walkthrough's release/rolebased/installer.yaml",
            )
        ]
    ready = [p for p in pods if _ready(p)]
    if ready:
        names = ", ".join(p["metadata"]["name"] for p in ready)
        return [Finding(check, PASS, f"{len(ready)} ready pod(s): {names}")]
    if not pods:
        replicas = (deployment.get("spec") or {}).get("replicas")
        return [
            Finding(
                check,
                FAIL,
                f"no pod for deployment {OPERATOR_DEPLOYMENT} (replicas: {replicas})",
                f"kubectl -n {OPERATOR_NAMESPACE} scale deployment {OPERATOR_DEPLOYMENT} --replicas=1",
            )
        ]
    reasons = "; ".join(r for p in pods for r in _waiting_reasons(p)) or "not ready"
    return [
        Finding(
            check,
            FAIL,
            f"operator pod not ready ({reasons})",
            f"kubectl -n {OPERATOR_NAMESPACE} logs deployment/{OPERATOR_DEPLOYMENT} -c manager   "
            f"# then: kubectl -n {OPERATOR_NAMESPACE} rollout restart deployment {OPERATOR_DEPLOYMENT}",
        )
    ]


def watched_namespace(deployment: dict | None) -> str | None:
    """The ``--namespace=X`` flag of the manager container (None: all namespaces)."""
    if not deployment:
        return None
    for container in deployment["spec"]["template"]["spec"].get("containers", []):
        if container.get("name") != "manager":
            continue
        for arg in container.get("args") or []:
            if arg.startswith("--namespace="):
                return arg.split("=", 1)[1] or None
    return None


def check_watched_namespace(deployment: dict | None, namespace: str) -> list[Finding]:
    watched = watched_namespace(deployment)
    check = f"operator watches namespace {namespace}"
    if watched is None or watched == namespace:
        return [Finding(check, PASS, "all namespaces" if watched is None else f"--namespace={watched}")]
    return [
        Finding(
            check,
            FAIL,
            f"the operator only watches namespace {watched} (--namespace={watched})",
            f"run the pipeline with namespace={watched}, or remove the --namespace flag: "
            f"kubectl -n {OPERATOR_NAMESPACE} edit deployment {OPERATOR_DEPLOYMENT}",
        )
    ]


def service_account_role(service_account: dict | None) -> str | None:
    annotations = ((service_account or {}).get("metadata") or {}).get("annotations") or {}
    return annotations.get(ROLE_ARN_ANNOTATION)


def check_service_account(service_account: dict | None, expected_role_arn: str | None) -> list[Finding]:
    check = "operator service account (IRSA)"
    where = f"{OPERATOR_NAMESPACE}/{OPERATOR_SERVICE_ACCOUNT}"
    if service_account is None:
        return [
            Finding(
                check,
                FAIL,
                f"service account {where} not found",
                "kubectl apply -f include/manifests/operator/installer.yaml",
            )
        ]
    role = service_account_role(service_account)
    annotate = (
        f"kubectl -n {OPERATOR_NAMESPACE} annotate serviceaccount {OPERATOR_SERVICE_ACCOUNT} "
        f"{ROLE_ARN_ANNOTATION}={expected_role_arn or '<operator role ARN>'} --overwrite   "
        f"# then: kubectl -n {OPERATOR_NAMESPACE} rollout restart deployment {OPERATOR_DEPLOYMENT}"
    )
    if not role:
        return [Finding(check, FAIL, f"{where} has no {ROLE_ARN_ANNOTATION} annotation", annotate)]
    if expected_role_arn and role != expected_role_arn:
        return [Finding(check, WARN, f"{where} is annotated with {role}, not {expected_role_arn}", annotate)]
    return [Finding(check, PASS, f"{where} -> {role}")]


def check_bucket(bucket: str, region: str, error: str | None) -> list[Finding]:
    check = "S3 bucket reachable"
    if error is None:
        return [Finding(check, PASS, f"s3://{bucket}")]
    if error in ("404", "NoSuchBucket", "NotFound"):
        fix = f"aws s3 mb s3://{bucket} --region {region}"
    else:
        fix = (
            f"grant s3:ListBucket/GetObject/PutObject on arn:{partition(region)}:s3:::{bucket} "
            "to Airflow's AWS identity"
        )
    return [Finding(check, FAIL, f"s3://{bucket}: {error}", fix)]
