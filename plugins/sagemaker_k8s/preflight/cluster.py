"""Preflight checks on the Kubernetes side (pure): CRDs, the controller's pod, its service account.

Each function takes facts already read from the cluster and returns `Finding` rows whose ``fix``
is the exact command to run. A ``Controller`` says whose installation is judged: the legacy
operator's (``LEGACY_OPERATOR``, the default) or the ACK SageMaker controller's (``ack_controller``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sagemaker_k8s.constants import (
    ACK_CHART,
    ACK_CHART_VERSION,
    ACK_CONTAINER,
    ACK_DEFAULT_REGION_ANNOTATION,
    ACK_DEPLOYMENT,
    ACK_DEPLOYMENT_NAMES,
    ACK_NAMESPACE,
    ACK_REGION_ANNOTATION,
    ACK_RELEASE,
    ACK_SERVICE_ACCOUNT,
    OPERATOR_DEPLOYMENT,
    OPERATOR_NAMESPACE,
    OPERATOR_SERVICE_ACCOUNT,
    ROLE_ARN_ANNOTATION,
)
from sagemaker_k8s.manifests.flavours import ACK_GROUP
from sagemaker_k8s.manifests.images import partition
from sagemaker_k8s.preflight.report import FAIL, PASS, WARN, Finding

REQUIRED_CRDS = (
    "trainingjobs.sagemaker.aws.amazon.com",
    "hostingdeployments.sagemaker.aws.amazon.com",
)
TUNING_CRDS = ("hyperparametertuningjobs.sagemaker.aws.amazon.com",)
BATCH_CRDS = ("models.sagemaker.aws.amazon.com", "batchtransformjobs.sagemaker.aws.amazon.com")
#: ACK serves with a Model, an EndpointConfig and an Endpoint (it has no HostingDeployment).
ACK_REQUIRED_CRDS = tuple(
    f"{p}.{ACK_GROUP}" for p in ("trainingjobs", "models", "endpointconfigs", "endpoints")
)
ACK_TUNING_CRDS = (f"hyperparametertuningjobs.{ACK_GROUP}",)
ACK_BATCH_CRDS = (f"models.{ACK_GROUP}", f"transformjobs.{ACK_GROUP}")


def required_crds(*, tuning: bool = False, batch_scoring: bool = False, ack: bool = False) -> tuple[str, ...]:
    """The CRDs a run needs: training and serving always, tuning and batch scoring when enabled."""
    base, tune, batch = (
        (ACK_REQUIRED_CRDS, ACK_TUNING_CRDS, ACK_BATCH_CRDS)
        if ack
        else (REQUIRED_CRDS, TUNING_CRDS, BATCH_CRDS)
    )
    return tuple(dict.fromkeys((*base, *(tune if tuning else ()), *(batch if batch_scoring else ()))))


CRD_FIX = (
    "kubectl apply -f include/manifests/crds/legacy/   "
    "# the operator's CRDs converted to apiextensions.k8s.io/v1 (the published v1beta1 ones "
    "do not install on Kubernetes >= 1.22)"
)


@dataclass(frozen=True)
class Controller:
    """The installation the Kubernetes checks judge.

    ``label`` starts the rows' check names ("operator pod running"); ``deployment`` is the name the
    Deployment was found under (``other_deployments``: further names it is looked for by);
    ``pod_selector`` None means the Deployment's own ``spec.selector``.
    """

    label: str
    namespace: str
    deployment: str
    service_account: str
    container: str
    install_fix: str
    service_account_fix: str
    crd_fix: str
    pod_selector: str | None = None
    other_deployments: tuple[str, ...] = ()
    flavour: str = "legacy"

    @property
    def deployment_names(self) -> tuple[str, ...]:
        return (self.deployment, *(n for n in self.other_deployments if n != self.deployment))


LEGACY_OPERATOR = Controller(
    label="operator",
    namespace=OPERATOR_NAMESPACE,
    deployment=OPERATOR_DEPLOYMENT,
    service_account=OPERATOR_SERVICE_ACCOUNT,
    container="manager",
    install_fix="kubectl apply -f include/manifests/operator/installer.yaml   "
    "# or the walkthrough's release/rolebased/installer.yaml",
    service_account_fix="kubectl apply -f include/manifests/operator/installer.yaml",
    crd_fix=CRD_FIX,
    pod_selector="control-plane=controller-manager",
)

#: ``--set`` escapes the dots of an annotation key; the double quotes keep the backslashes from the shell.
_ROLE_ARN_VALUE = 'serviceAccount.annotations."' + ROLE_ARN_ANNOTATION.replace(".", "\\.") + '"'


def ack_install_fix(region: str, role_arn: str | None) -> str:
    """The Helm install of the ACK SageMaker controller as the pipeline expects it (CRDs included)."""
    return (
        f"helm install -n {ACK_NAMESPACE} {ACK_RELEASE} {ACK_CHART} --version {ACK_CHART_VERSION} "
        f"--set aws.region={region} --set {_ROLE_ARN_VALUE}={role_arn or '<controller role ARN>'} "
        "--create-namespace"
    )


def ack_upgrade_fix(*settings: str) -> str:
    """``helm upgrade`` of the installed release, changing only ``settings`` (``key=value``)."""
    sets = " ".join(f"--set {s}" for s in settings)
    return (
        f"helm upgrade -n {ACK_NAMESPACE} {ACK_RELEASE} {ACK_CHART} --version {ACK_CHART_VERSION} "
        f"--reuse-values {sets}"
    )


def ack_controller(region: str, role_arn: str | None, deployment: str | None = None) -> Controller:
    """The ACK controller's installation; ``deployment``: the name its Deployment was found under."""
    install = ack_install_fix(region, role_arn)
    return Controller(
        label="ACK controller",
        namespace=ACK_NAMESPACE,
        deployment=deployment or ACK_DEPLOYMENT,
        service_account=ACK_SERVICE_ACCOUNT,
        container=ACK_CONTAINER,
        install_fix=install,
        service_account_fix=install,
        crd_fix=f"{install}   # the controller is installed but its CRDs were deleted (helm never "
        "reinstalls CRDs): kubectl apply -f include/manifests/crds/ack/",
        other_deployments=ACK_DEPLOYMENT_NAMES,
        flavour="ack",
    )


def check_crds(
    installed: Iterable[str],
    required: Iterable[str] = REQUIRED_CRDS,
    controller: Controller = LEGACY_OPERATOR,
) -> list[Finding]:
    check = f"{controller.label} CRDs installed"
    required = tuple(required)
    missing = sorted(set(required) - set(installed))
    if missing:
        return [Finding(check, FAIL, f"missing: {', '.join(missing)}", controller.crd_fix)]
    return [Finding(check, PASS, ", ".join(required))]


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


def check_operator_pod(
    pods: list[dict], deployment: dict | None, controller: Controller = LEGACY_OPERATOR
) -> list[Finding]:
    c = controller
    check = f"{c.label} pod running"
    if deployment is None:
        where = " or ".join(f"{c.namespace}/{name}" for name in c.deployment_names)
        return [
            Finding(
                check, FAIL, f"deployment {where} not found: the {c.label} is not installed", c.install_fix
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
                f"no pod for deployment {c.deployment} (replicas: {replicas})",
                f"kubectl -n {c.namespace} scale deployment {c.deployment} --replicas=1",
            )
        ]
    reasons = "; ".join(r for p in pods for r in _waiting_reasons(p)) or "not ready"
    return [
        Finding(
            check,
            FAIL,
            f"{c.label} pod not ready ({reasons})",
            f"kubectl -n {c.namespace} logs deployment/{c.deployment} -c {c.container}   "
            f"# then: kubectl -n {c.namespace} rollout restart deployment {c.deployment}",
        )
    ]


def pod_selector(deployment: Mapping | None) -> str:
    """The Deployment's ``spec.selector`` as a label selector string ("" if it has none)."""
    selector = ((deployment or {}).get("spec") or {}).get("selector") or {}
    terms = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), ",".join(expr.get("values") or [])
        terms.append(
            {"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})", "Exists": key}.get(
                op, f"!{key}"
            )
        )
    return ",".join(terms)


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


def check_service_account(
    service_account: dict | None, expected_role_arn: str | None, controller: Controller = LEGACY_OPERATOR
) -> list[Finding]:
    c = controller
    check = f"{c.label} service account (IRSA)"
    where = f"{c.namespace}/{c.service_account}"
    if service_account is None:
        return [Finding(check, FAIL, f"service account {where} not found", c.service_account_fix)]
    role = service_account_role(service_account)
    annotate = (
        f"kubectl -n {c.namespace} annotate serviceaccount {c.service_account} "
        f"{ROLE_ARN_ANNOTATION}={expected_role_arn or f'<{c.label} role ARN>'} --overwrite   "
        f"# then: kubectl -n {c.namespace} rollout restart deployment {c.deployment}"
    )
    if not role:
        return [Finding(check, FAIL, f"{where} has no {ROLE_ARN_ANNOTATION} annotation", annotate)]
    if expected_role_arn and role != expected_role_arn:
        return [Finding(check, WARN, f"{where} is annotated with {role}, not {expected_role_arn}", annotate)]
    return [Finding(check, PASS, f"{where} -> {role}")]


# -- the ACK controller's own settings: its flags, their $(VAR) references, its env -----------------
@dataclass(frozen=True)
class Setting:
    """One setting of the controller's container: ``value`` None when it cannot be known here (an
    env var from ``valueFrom``); ``source`` says where it was read, for the row's detail."""

    value: str | None
    source: str


_VAR_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")
_UNKNOWN = object()


def _env(container: Mapping) -> dict[str, object]:
    """The container's env: literal values; ``_UNKNOWN`` for ``valueFrom`` (a later entry wins)."""
    env: dict[str, object] = {}
    for var in container.get("env") or []:
        env[var.get("name")] = _UNKNOWN if "valueFrom" in var else str(var.get("value") or "")
    return env


def _expand(text: str, env: Mapping[str, object]) -> str | None:
    """Kubernetes' ``$(VAR)`` expansion of an arg (``$$`` escapes; an undefined var stays as
    written); None when it refers to a var whose value is not known here."""
    unknown = False

    def one(match: re.Match) -> str:
        nonlocal unknown
        if match.group(0) == "$$":
            return "$"
        value = env.get(match.group(1), match.group(0))
        if value is _UNKNOWN:
            unknown = True
            return ""
        return str(value)

    expanded = _VAR_REF.sub(one, text)
    return None if unknown else expanded


def _flag(args: list[str], flag: str) -> str | None:
    """The value of ``--flag=value`` or ``--flag value`` (the last one wins, as pflag does)."""
    found = None
    for i, arg in enumerate(args):
        if arg.startswith(f"--{flag}="):
            found = arg.split("=", 1)[1]
        elif arg == f"--{flag}" and i + 1 < len(args):
            found = args[i + 1]
    return found


def _container(deployment: Mapping | None, name: str) -> Mapping:
    spec = (((deployment or {}).get("spec") or {}).get("template") or {}).get("spec") or {}
    containers = spec.get("containers") or []
    return next((c for c in containers if c.get("name") == name), containers[0] if containers else {})


def controller_setting(deployment: Mapping | None, flag: str, env_name: str) -> Setting:
    """``--flag`` of the ACK controller's container (its ``$(VAR)`` references expanded), else the
    env var ``env_name``; "" when neither is set."""
    container = _container(deployment, ACK_CONTAINER)
    env = _env(container)
    raw = _flag([str(a) for a in container.get("args") or []], flag)
    if raw is not None:
        value = _expand(raw, env)
        shown = raw if value is None or value == raw else f"{raw} = {value!r}"
        return Setting(value, f"--{flag} {shown}")
    value = env.get(env_name, "")
    return Setting(
        None if value is _UNKNOWN else str(value),
        f"env {env_name}={value if value is not _UNKNOWN else '(valueFrom)'}",
    )


def ack_watched_namespaces(deployment: Mapping | None) -> tuple[tuple[str, ...] | None, Setting]:
    """(the namespaces the ACK controller watches, None for all; the setting read)."""
    setting = controller_setting(deployment, "watch-namespace", "ACK_WATCH_NAMESPACE")
    if not setting.value:
        return None, setting
    return tuple(ns.strip() for ns in setting.value.split(",") if ns.strip()), setting


def check_ack_watched_namespace(deployment: Mapping | None, namespace: str) -> list[Finding]:
    check = f"ACK controller watches namespace {namespace}"
    watched, setting = ack_watched_namespaces(deployment)
    if setting.value is None:
        return [
            Finding(
                check,
                WARN,
                f"cannot tell which namespaces the ACK controller watches ({setting.source})",
                f"kubectl -n {ACK_NAMESPACE} get deployment -o yaml   # check --watch-namespace",
            )
        ]
    if watched is None:
        return [Finding(check, PASS, f"all namespaces ({setting.source})")]
    if namespace in watched:
        return [Finding(check, PASS, f"{', '.join(watched)} ({setting.source})")]
    return [
        Finding(
            check,
            FAIL,
            f"the ACK controller only watches namespace {', '.join(watched)} ({setting.source})",
            f"run the pipeline with namespace={watched[0]}, or let the controller watch every namespace: "
            + ack_upgrade_fix("installScope=cluster", "watchNamespace="),
        )
    ]


def _enable_carm(deployment: Mapping | None) -> bool:
    container = _container(deployment, ACK_CONTAINER)
    args = [str(a) for a in container.get("args") or []]
    value = next((a.split("=", 1)[1] for a in reversed(args) if a.startswith("--enable-carm=")), None)
    if value is None:
        return True  # the runtime's default (and the chart's enableCARM)
    return (_expand(value, _env(container)) or "true").strip().lower() in ("true", "1", "t")


def check_ack_region(
    deployment: Mapping | None, namespace_object: Mapping | None, namespace: str, region: str
) -> list[Finding]:
    """Is the region the ACK controller uses for the pipeline's namespace the run's region?

    The controller takes it from the namespace's ``services.k8s.aws/default-region`` annotation --
    read only when it runs its namespace cache (``--enable-carm``, the default, and not exactly one
    watched namespace) -- else from ``--aws-region`` / ``AWS_REGION``, without which it does not start.
    """
    check = f"ACK controller region for namespace {namespace}"
    setting = controller_setting(deployment, "aws-region", "AWS_REGION")
    upgrade = ack_upgrade_fix(f"aws.region={region}")
    annotate = f"kubectl annotate namespace {namespace} {ACK_DEFAULT_REGION_ANNOTATION}={region} --overwrite"
    if setting.value == "":
        return [
            Finding(
                check, FAIL, f"the ACK controller has no region ({setting.source}): it cannot start", upgrade
            )
        ]
    watched, _ = ack_watched_namespaces(deployment)
    honoured = _enable_carm(deployment) and (watched is None or len(watched) != 1)
    annotations = ((namespace_object or {}).get("metadata") or {}).get("annotations") or {}
    ns_region = annotations.get(ACK_DEFAULT_REGION_ANNOTATION) or None
    ignored = ""
    if ns_region and not honoured:
        ignored = (
            f"; namespace annotation {ACK_DEFAULT_REGION_ANNOTATION}={ns_region} ignored (no namespace cache)"
        )
        ns_region = None
    if ns_region:
        effective, source = ns_region, f"namespace {namespace} annotation {ACK_DEFAULT_REGION_ANNOTATION}"
    elif setting.value is None:
        return [
            Finding(
                check,
                WARN,
                f"cannot tell the ACK controller's region ({setting.source}){ignored}",
                upgrade,
            )
        ]
    else:
        effective, source = setting.value, f"the controller's {setting.source}"
    if effective == region:
        return [Finding(check, PASS, f"{region} ({source}){ignored}")]
    if ns_region:
        fix = annotate
    elif honoured:
        fix = f"{annotate}   # or, for every namespace: {upgrade}"
    else:
        fix = upgrade
    detail = (
        f"the ACK controller uses {effective} for namespace {namespace} ({source}){ignored}, "
        f"not the run's region {region} (only a CR's own {ACK_REGION_ANNOTATION} annotation overrides it)"
    )
    return [Finding(check, FAIL, detail, fix)]


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
