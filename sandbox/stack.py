"""The whole sandbox in one process: AWS (moto), the Kubernetes API, the cluster and the SageMaker
controller(s).

    with Sandbox(state_dir) as sb:      # all on 127.0.0.1, ephemeral ports
        sb.info.kube_url, sb.info.aws_endpoint_url, sb.env()
        sb.misconfigure("wrong-sub")
    with Sandbox(state_dir, flavour="ack") as sb: ...   # the ACK controller instead ("both": side by side)

The flavour says which controller is installed: ``legacy`` (default) the original SageMaker operator
(``sagemaker.aws.amazon.com/v1`` CRDs, ``sandbox/operator/``), ``ack`` the ACK SageMaker controller
(``sagemaker.services.k8s.aws/v1alpha1`` CRDs, ``sandbox/ack/``), ``both`` both. Only that flavour's CRDs and
installer objects are applied, and only its controller emulator runs.

Start order: moto (+ the SageMaker simulator) -> seed the account -> Kubernetes API emulator ->
CRDs, namespaces and the controllers' installer objects -> cluster emulator (pods) -> controller
emulator(s) -> control API -> state files. Stop runs the reverse and is idempotent.
"""

from __future__ import annotations

import copy
import logging
import time
from pathlib import Path

import yaml

from . import misconfigure as _misconfigure
from .ack import AckControllerEmulator
from .aws import seed_account, start_moto
from .cluster import ROLE_ARN_ANNOTATION, ClusterEmulator
from .common.faults import Fault, FaultRules
from .control import ControlServer
from .kube import KubeApiServer, write_exec_kubeconfig, write_kubeconfig
from .misconfigure import ACK_MISCONFIGURATIONS, KUBE_MISCONFIGURATIONS, MISCONFIGURATIONS
from .operator import OperatorEmulator
from .state import SandboxInfo, clear_state, env_for, write_state

__all__ = [
    "ACK_MISCONFIGURATIONS",
    "FLAVOURS",
    "KUBE_MISCONFIGURATIONS",
    "MISCONFIGURATIONS",
    "Sandbox",
    "load_yaml_documents",
]

log = logging.getLogger(__name__)

MANIFESTS = Path(__file__).resolve().parent.parent / "include" / "manifests"
FLAVOURS = ("legacy", "ack", "both")
INSTALLERS = {"legacy": "installer.yaml", "ack": "ack-controller.yaml"}


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
        flavour: str = "legacy",
    ) -> None:
        if flavour not in FLAVOURS:
            raise ValueError(f"unknown flavour {flavour!r}; expected one of {FLAVOURS}")
        self.flavour = flavour
        self.state_dir = Path(state_dir).resolve()
        self.region = region
        self.namespace = namespace
        self.phase_delay = phase_delay
        self.poll_interval = poll_interval
        self.moto = self.kube = self.cluster = self.operator = self.ack = self.control = None
        self.seed = None
        self.faults = FaultRules()  # armed controller faults, shared by the controller emulators
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
        common = dict(
            region=self.region,
            cluster_name=self.seed.cluster_name,
            inject_sagemaker_fault=self._inject_sagemaker_fault,
            withdraw_sagemaker_fault=self._withdraw_sagemaker_fault,
            poll_interval=self.poll_interval,
            faults=self.faults,
        )
        if "legacy" in self.installed:
            self.operator = OperatorEmulator(
                self.kube.url, self.moto.url, pod_state=self.cluster.operator_state, **common
            )
            self.operator.start()
        if "ack" in self.installed:
            self.ack = AckControllerEmulator(
                self.kube.url,
                self.moto.url,
                account=self.seed.account,
                pod_state=self.cluster.ack_state,
                **common,
            )
            self.ack.start()
        self.control = ControlServer(self)
        self.control.start()
        self.info = SandboxInfo(
            region=self.region,
            account=self.seed.account,
            cluster_name=self.seed.cluster_name,
            bucket=self.seed.bucket,
            namespace=self.namespace,
            operator_role_arn=self.seed.operator_role_arn
            if self.flavour != "ack"
            else self.seed.ack_role_arn,
            execution_role_arn=self.seed.execution_role_arn,
            oidc_issuer=self.seed.oidc_issuer,
            aws_endpoint_url=self.moto.url,
            kube_url=self.kube.url,
            control_url=self.control.url,
            state_dir=str(self.state_dir),
            kubeconfig=str(kubeconfig),
            flavour=self.flavour,
            ack_role_arn=self.seed.ack_role_arn,
        )
        write_state(self.info)

    @property
    def installed(self) -> tuple[str, ...]:
        """The controllers of this flavour: ``("legacy",)``, ``("ack",)`` or both."""
        return _misconfigure.controllers(self.flavour)

    @property
    def controllers(self) -> list:
        """The running controller emulators."""
        return [c for c in (self.operator, self.ack) if c is not None]

    def stop(self) -> None:
        for part in ("control", "operator", "ack", "cluster", "kube", "moto"):
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
        """What the walkthrough's installer (legacy) or the Helm chart (ACK) leaves on a cluster, plus the
        pipeline's namespace."""
        for name in ("default", "kube-system", "kube-public", self.namespace):
            self.kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        self.install_crds()
        roles = {"legacy": self.seed.operator_role_arn, "ack": self.seed.ack_role_arn}
        for controller in self.installed:
            for obj in load_yaml_documents(MANIFESTS / "operator" / INSTALLERS[controller]):
                obj = copy.deepcopy(obj)
                if obj["kind"] == "ServiceAccount":
                    obj["metadata"]["annotations"][ROLE_ARN_ANNOTATION] = roles[controller]
                if obj["kind"] == "Deployment" and controller == "ack":
                    for var in obj["spec"]["template"]["spec"]["containers"][0]["env"]:
                        if var["name"] == "AWS_REGION":
                            var["value"] = self.region
                self.kube.apply(obj)

    def install_crds(self) -> None:
        for flavour in self.installed:
            for path in sorted((MANIFESTS / "crds" / flavour).glob("*.yaml")):
                for crd in load_yaml_documents(path):
                    self.kube.apply(crd)

    # -- faults -------------------------------------------------------------------------------------
    @property
    def misconfigurations(self) -> dict[str, str]:
        """The misconfigurations this sandbox can apply (``ack-wrong-region`` only with ACK installed)."""
        return {**MISCONFIGURATIONS, **(ACK_MISCONFIGURATIONS if "ack" in self.installed else {})}

    def misconfigure(self, name: str) -> None:
        """Break one thing the preflight check must catch (see ``sandbox/misconfigure.py``); it acts on the
        installed flavour's controller(s)."""
        _misconfigure.apply(self, name)
        self.cluster.sync()
        for controller in self.controllers:  # from here on they act on the broken cluster, never the old one
            controller.forget_credentials()
            controller.settle()

    def restore(self) -> None:
        """Undo every misconfiguration: the account seeded again (seeding is idempotent and resets trust
        policies, attachments, the OIDC provider and the bucket), the CRDs and the controllers' installer
        objects applied again as at start, the controllers' pods back. It deletes nothing: jobs, CRs and S3
        objects stay, and what a misconfiguration deleted (the bucket's objects, CRs of removed CRDs) stays
        gone."""
        self.seed = seed_account(self.moto.url, region=self.region)
        self.install()
        self.cluster.sync()
        for controller in self.controllers:
            controller.forget_credentials()
            controller.settle()

    def arm_fault(self, fault: str, *, kind: str = "*", namespace: str = "*", name: str = "*") -> None:
        """Arm a controller/SageMaker fault for CRs the caller does not create itself, e.g.
        ``arm_fault("update-fail:no capacity", kind="HostingDeployment")``: every UpdateEndpoint of
        matching HostingDeployments fails (and is retried) until ``clear_faults()``; ACK kinds too
        (``TrainingJob``, ``HyperParameterTuningJob``, ``TransformJob``, ``Model``, ``EndpointConfig``,
        ``Endpoint``). Faults: see ``sandbox/common/faults.py``; namespace and name are globs on the CR."""
        self.faults.add(Fault.from_text(fault), kind=kind, namespace=namespace, name=name)

    def arm_s3_fault(self, **rule) -> int:
        """Arm an S3 error (503 SlowDown by default) for matching requests; returns the rule id for
        ``sandbox.moto.s3_faults.hits(id)``. Keywords: see ``sandbox.aws.s3_faults.S3Faults.add``."""
        return self.moto.s3_faults.add(**rule)

    def clear_faults(self) -> None:
        self.faults.clear()
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
