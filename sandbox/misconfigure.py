"""The misconfigurations a preflight check must catch, applied to a running ``Sandbox``.

Each name acts on the installed flavour's pieces: the legacy operator's (``sagemaker-k8s-operator-system``)
or the ACK controller's (``ack-system``), both for flavour ``both``. The IAM ones about "the operator role"
break that controller's IRSA role (``sandbox/aws/seed.py``). ``ack-wrong-region`` (in
:data:`ACK_MISCONFIGURATIONS`, kept apart from :data:`MISCONFIGURATIONS` because it exists only where the
ACK controller is installed) starts the ACK controller with another ``--aws-region``.
"""

from __future__ import annotations

from .aws import AWS_MISCONFIGURATIONS, ROLE_MISCONFIGURATIONS, apply_misconfiguration
from .cluster import (
    ACK_DEPLOYMENT,
    ACK_NAMESPACE,
    ACK_SERVICE_ACCOUNT,
    FAULT_ANNOTATION,
    OPERATOR_DEPLOYMENT,
    OPERATOR_NAMESPACE,
    OPERATOR_SERVICE_ACCOUNT,
    ROLE_ARN_ANNOTATION,
)

LEGACY_GROUP = "sagemaker.aws.amazon.com"
ACK_GROUP = "sagemaker.services.k8s.aws"
WRONG_WATCH_NAMESPACE = "sagemaker-jobs"

KUBE_MISCONFIGURATIONS = {
    "crds-missing": "the operator's CRDs are not installed (deleted)",
    "operator-not-running": "the operator's Deployment is scaled to 0 replicas (no pod)",
    "operator-crashloop": "the operator's pod is in CrashLoopBackOff",
    "operator-wrong-namespace": (
        f"the operator only watches namespace {WRONG_WATCH_NAMESPACE!r} "
        "(legacy --namespace, ACK --watch-namespace)"
    ),
    "sa-annotation-missing": "the operator's service account has no eks.amazonaws.com/role-arn annotation",
}
MISCONFIGURATIONS = {**AWS_MISCONFIGURATIONS, **KUBE_MISCONFIGURATIONS}
ACK_MISCONFIGURATIONS = {
    "ack-wrong-region": "the ACK controller runs with another --aws-region than the pipeline's region",
}

#: controller -> (namespace, Deployment, container, service account, CRD group)
PIECES = {
    "legacy": (OPERATOR_NAMESPACE, OPERATOR_DEPLOYMENT, "manager", OPERATOR_SERVICE_ACCOUNT, LEGACY_GROUP),
    "ack": (ACK_NAMESPACE, ACK_DEPLOYMENT, "controller", ACK_SERVICE_ACCOUNT, ACK_GROUP),
}


def controllers(flavour: str) -> tuple[str, ...]:
    return ("legacy", "ack") if flavour == "both" else (flavour,)


def other_region(region: str) -> str:
    return "us-east-1" if region != "us-east-1" else "us-west-2"


def apply(sandbox, name: str) -> None:
    """Break ``name`` on ``sandbox`` (a started ``Sandbox``)."""
    installed = controllers(sandbox.flavour)
    if name in ACK_MISCONFIGURATIONS:
        if "ack" not in installed:
            raise ValueError(
                f"{name} needs the ACK controller (flavour 'ack' or 'both'), not {sandbox.flavour!r}"
            )
        _set_env(sandbox, "ack", "AWS_REGION", other_region(sandbox.region))
    elif name in AWS_MISCONFIGURATIONS:
        for controller in installed if name in ROLE_MISCONFIGURATIONS else installed[:1]:
            apply_misconfiguration(sandbox.moto.url, sandbox.seed, name, controller)
    elif name in KUBE_MISCONFIGURATIONS:
        for controller in installed:
            _break_kube(sandbox, controller, name)
    else:
        known = sorted({**MISCONFIGURATIONS, **ACK_MISCONFIGURATIONS})
        raise ValueError(f"unknown misconfiguration {name!r}; known: {known}")


def _break_kube(sandbox, controller: str, name: str) -> None:
    namespace, deployment_name, container, account, group = PIECES[controller]
    kube = sandbox.kube
    if name == "crds-missing":
        for crd in kube.list_objects("apiextensions.k8s.io/v1", "customresourcedefinitions"):
            if crd["spec"]["group"] == group:
                kube.delete("apiextensions.k8s.io/v1", "customresourcedefinitions", crd["metadata"]["name"])
        return
    if name == "sa-annotation-missing":
        sa = kube.get("v1", "serviceaccounts", account, namespace=namespace)
        sa["metadata"].get("annotations", {}).pop(ROLE_ARN_ANNOTATION, None)
        kube.apply(sa)
        return
    if name == "operator-wrong-namespace" and controller == "ack":
        _set_env(sandbox, controller, "ACK_WATCH_NAMESPACE", WRONG_WATCH_NAMESPACE)
        return
    deployment = kube.get("apps/v1", "deployments", deployment_name, namespace=namespace)
    if name == "operator-not-running":
        deployment["spec"]["replicas"] = 0
    elif name == "operator-crashloop":
        deployment["metadata"].setdefault("annotations", {})[FAULT_ANNOTATION] = "crashloop"
    elif name == "operator-wrong-namespace":
        spec = next(c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == container)
        spec["args"] = [*spec.get("args", []), f"--namespace={WRONG_WATCH_NAMESPACE}"]
    deployment.pop("status", None)
    kube.apply(deployment)


def _set_env(sandbox, controller: str, variable: str, value: str) -> None:
    namespace, deployment_name, container, _, _ = PIECES[controller]
    deployment = sandbox.kube.get("apps/v1", "deployments", deployment_name, namespace=namespace)
    spec = next(c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == container)
    env = spec.setdefault("env", [])
    found = [e for e in env if e.get("name") == variable]
    if found:
        found[0].clear()
        found[0].update(name=variable, value=value)
    else:
        env.append({"name": variable, "value": value})
    deployment.pop("status", None)
    sandbox.kube.apply(deployment)
