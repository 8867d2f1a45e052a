"""The whole sandbox in one process: AWS (moto), the Kubernetes API, the cluster and the operator.

    with Sandbox(state_dir) as sb:      # all on 127.0.0.1, ephemeral ports
        sb.info.kube_url, sb.info.aws_endpoint_url, sb.env()
        sb.misconfigure("wrong-sub")

Start order: moto (+ the SageMaker simulator) -> seed the account -> Kubernetes API emulator ->
CRDs, namespaces and the operator's installer objects -> cluster emulator (pods) -> operator
emulator -> control API -> state files. Stop runs the reverse and is idempotent.
"""

from __future__ import annotations

import copy
import logging
import time
from pathlib import Path

import yaml

from .aws import AWS_MISCONFIGURATIONS, apply_misconfiguration, seed_account, start_moto
from .cluster import OPERATOR_DEPLOYMENT, OPERATOR_NAMESPACE, ROLE_ARN_ANNOTATION, ClusterEmulator
from .control import ControlServer
from .kube import KubeApiServer, write_exec_kubeconfig, write_kubeconfig
from .operator import Fault, OperatorEmulator
from .state import SandboxInfo, clear_state, env_for, write_state

log = logging.getLogger(__name__)

MANIFESTS = Path(__file__).resolve().parent.parent / "include" / "manifests"
LEGACY_GROUP = "sagemaker.aws.amazon.com"

KUBE_MISCONFIGURATIONS = {
    "crds-missing": "the operator's CRDs are not installed (deleted)",
    "operator-not-running": "the operator's Deployment is scaled to 0 replicas (no pod)",
    "operator-crashloop": "the operator's pod is in CrashLoopBackOff",
    "operator-wrong-namespace": "the operator only watches namespace 'sagemaker-jobs' (--namespace flag)",
    "sa-annotation-missing": "the operator's service account has no eks.amazonaws.com/role-arn annotation",
}
MISCONFIGURATIONS = {**AWS_MISCONFIGURATIONS, **KUBE_MISCONFIGURATIONS}


# libyaml's loader parses the CRDs (300 kB) in ~0.1 s instead of ~2 s; same safe constructor.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml_documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.load_all(path.read_text(), Loader=_YAML_LOADER) if doc]


def _forget_aws_state(moto) -> None:
    """moto's backends and the simulator are process-wide: without this, the next sandbox in this
    process would inherit this one's jobs, endpoints, S3 objects and armed SageMaker faults.
    (IAM and EKS need no wipe: seeding is idempotent and undoes every misconfiguration.)"""
    from moto.backends import get_backend

    moto.simulator.reset()
    for service in ("sagemaker", "s3"):
        for account in get_backend(service).values():  # BackendDict.reset() would reset every service
            account.reset()


class Sandbox:
    def __init__(
        self,
        state_dir: Path | str = ".sandbox",
        *,
        region: str = "us-west-2",
        namespace: str = "default",
        phase_delay: float = 0.2,
        poll_interval: float = 0.25,
    ) -> None:
        self.state_dir = Path(state_dir).resolve()
        self.region = region
        self.namespace = namespace
        self.phase_delay = phase_delay
        self.poll_interval = poll_interval
        self.moto = self.kube = self.cluster = self.operator = self.control = None
        self.seed = None
        self.info: SandboxInfo | None = None
        self._injected: dict[tuple[str, str], object] = {}  # (resource, action) -> simulator fault armed

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> Sandbox:
        started = time.monotonic()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        log.info("sandbox ready in %.1fs", time.monotonic() - started)
        return self

    def _start(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.moto = start_moto(phase_delay=self.phase_delay)
        self.seed = seed_account(self.moto.url, region=self.region)
        self.kube = KubeApiServer(host="127.0.0.1", port=0)
        self.kube.start()
        kubeconfig = self.state_dir / "kubeconfig"
        write_kubeconfig(kubeconfig, self.kube.url, namespace=self.namespace)
        self.install()
        self.cluster = ClusterEmulator(self.kube, interval=self.poll_interval)
        self.cluster.start()
        self.operator = OperatorEmulator(
            self.kube.url,
            self.moto.url,
            region=self.region,
            cluster_name=self.seed.cluster_name,
            pod_state=self.cluster.operator_state,
            inject_sagemaker_fault=self._inject_sagemaker_fault,
            withdraw_sagemaker_fault=self._withdraw_sagemaker_fault,
            poll_interval=self.poll_interval,
        )
        self.operator.start()
        self.control = ControlServer(self)
        self.control.start()
        self.info = SandboxInfo(
            region=self.region,
            account=self.seed.account,
            cluster_name=self.seed.cluster_name,
            bucket=self.seed.bucket,
            namespace=self.namespace,
            operator_role_arn=self.seed.operator_role_arn,
            execution_role_arn=self.seed.execution_role_arn,
            oidc_issuer=self.seed.oidc_issuer,
            aws_endpoint_url=self.moto.url,
            kube_url=self.kube.url,
            control_url=self.control.url,
            state_dir=str(self.state_dir),
            kubeconfig=str(kubeconfig),
        )
        write_state(self.info)

    def stop(self) -> None:
        for part in ("control", "operator", "cluster", "kube", "moto"):
            component = getattr(self, part)
            if component is None:
                continue
            try:
                component.stop()
                if part == "moto":
                    _forget_aws_state(component)
            except Exception:
                log.exception("stopping %s failed", part)
            setattr(self, part, None)
        clear_state(self.state_dir)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def env(self) -> dict[str, str]:
        return env_for(self.info)

    def exec_kubeconfig(
        self, path: Path | str, *, token_ttl: float = 900.0, report_expiry: bool = True
    ) -> Path:
        """A TLS kubeconfig whose tokens come from an exec plugin (``sandbox/token_command.py``), as on
        EKS: valid ``token_ttl`` seconds, then 401; each plugin run is logged to ``<path>.invocations``
        (``sandbox.kube.exec_invocations``). ``report_expiry=False``: no expirationTimestamp."""
        return write_exec_kubeconfig(
            path, self.kube.secure_url, self.kube.auth.exec_key, certificate_authority=self.kube.ca_pem,
            namespace=self.namespace, token_ttl=token_ttl, report_expiry=report_expiry,
        )  # fmt: skip

    # -- cluster contents ----------------------------------------------------------------------
    def install(self) -> None:
        """What the walkthrough's installer leaves on a cluster, plus the pipeline's namespace."""
        for name in ("default", "kube-system", "kube-public", self.namespace):
            self.kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        self.install_crds()
        for obj in load_yaml_documents(MANIFESTS / "operator" / "installer.yaml"):
            obj = copy.deepcopy(obj)
            if obj["kind"] == "ServiceAccount":
                obj["metadata"]["annotations"][ROLE_ARN_ANNOTATION] = self.seed.operator_role_arn
            self.kube.apply(obj)

    def install_crds(self) -> None:
        for flavour in ("legacy", "ack"):
            for path in sorted((MANIFESTS / "crds" / flavour).glob("*.yaml")):
                for crd in load_yaml_documents(path):
                    self.kube.apply(crd)

    # -- faults -------------------------------------------------------------------------------------
    def misconfigure(self, name: str) -> None:
        """Break one thing the preflight check must catch (see MISCONFIGURATIONS)."""
        if name in AWS_MISCONFIGURATIONS:
            apply_misconfiguration(self.moto.url, self.seed, name)
        elif name == "crds-missing":
            for crd in self.kube.list_objects("apiextensions.k8s.io/v1", "customresourcedefinitions"):
                if crd["spec"]["group"] == LEGACY_GROUP:
                    self.kube.delete(
                        "apiextensions.k8s.io/v1", "customresourcedefinitions", crd["metadata"]["name"]
                    )
        elif name.startswith("operator-") or name == "sa-annotation-missing":
            self._misconfigure_operator(name)
        else:
            raise ValueError(f"unknown misconfiguration {name!r}; known: {sorted(MISCONFIGURATIONS)}")
        self.cluster.sync()
        self.operator.settle()  # from here on the operator acts on the broken cluster, never on the old one

    def restore(self) -> None:
        """Undo every misconfiguration: the account seeded again (seeding is idempotent and resets trust
        policies, attachments, the OIDC provider and the bucket), the CRDs and the operator's installer
        objects applied again as at start, the operator's pod back. It deletes nothing: jobs, CRs and S3
        objects stay, and what a misconfiguration deleted (the bucket's objects, CRs of removed CRDs) stays
        gone."""
        self.seed = seed_account(self.moto.url, region=self.region)
        self.install()
        self.cluster.sync()
        self.operator.settle()

    def _misconfigure_operator(self, name: str) -> None:
        if name == "sa-annotation-missing":
            sa = self.kube.get(
                "v1", "serviceaccounts", "sagemaker-k8s-operator-default", namespace=OPERATOR_NAMESPACE
            )
            sa["metadata"].get("annotations", {}).pop(ROLE_ARN_ANNOTATION, None)
            self.kube.apply(sa)
            return
        deployment = self.kube.get(
            "apps/v1", "deployments", OPERATOR_DEPLOYMENT, namespace=OPERATOR_NAMESPACE
        )
        if name == "operator-not-running":
            deployment["spec"]["replicas"] = 0
        elif name == "operator-crashloop":
            deployment["metadata"].setdefault("annotations", {})["sandbox.sagemaker.local/fault"] = (
                "crashloop"
            )
        elif name == "operator-wrong-namespace":
            container = deployment["spec"]["template"]["spec"]["containers"][0]
            container["args"] = [*container.get("args", []), "--namespace=sagemaker-jobs"]
        deployment.pop("status", None)
        self.kube.apply(deployment)

    def arm_fault(self, fault: str, *, kind: str = "*", namespace: str = "*", name: str = "*") -> None:
        """Arm an operator/SageMaker fault for CRs the caller does not create itself, e.g.
        ``arm_fault("update-fail:no capacity", kind="HostingDeployment")``: every UpdateEndpoint of
        matching HostingDeployments fails (and is retried) until ``clear_faults()``.
        Faults: see ``sandbox.operator.faults``; namespace and name are globs on the CR."""
        self.operator.faults.add(Fault.from_text(fault), kind=kind, namespace=namespace, name=name)

    def arm_s3_fault(self, **rule) -> int:
        """Arm an S3 error (503 SlowDown by default) for matching requests; returns the rule id for
        ``sandbox.moto.s3_faults.hits(id)``. Keywords: see ``sandbox.aws.s3_faults.S3Faults.add``."""
        return self.moto.s3_faults.add(**rule)

    def clear_faults(self) -> None:
        self.operator.faults.clear()
        self.moto.simulator.faults.clear()
        self.moto.s3_faults.clear()
        self.kube.faults.clear()

    def _inject_sagemaker_fault(self, resource_name: str, fault: Fault) -> None:
        faults = self.moto.simulator.faults
        if fault.action == "fail":
            faults.add(resource_name, "fail", reason=fault.reason or "AlgorithmError: injected failure")
        elif fault.action in ("hang", "stop"):
            faults.add(resource_name, fault.action)
        elif fault.action == "endpoint-fail":
            faults.add(resource_name, "endpoint_fail", reason=fault.reason or "injected endpoint failure")
        elif fault.action == "update-fail":  # armed before each UpdateEndpoint: keep one, not one per retry
            reason = fault.reason or "injected update failure"
            armed = self._injected.get((resource_name, fault.action))
            if armed is not None and faults.active(armed) and armed.reason == reason:
                return
            self._withdraw_sagemaker_fault(resource_name, fault.action)
            self._injected[(resource_name, fault.action)] = faults.add(
                resource_name, "update_fail", reason=reason
            )

    def _withdraw_sagemaker_fault(self, resource_name: str, action: str) -> None:
        armed = self._injected.pop((resource_name, action), None)
        if armed is not None:
            self.moto.simulator.faults.remove(armed)
