"""Helpers for the operator emulator's suites: CRs built from the shipped templates, boto3 clients for the
sandbox, waits on CR status, and a watch that records every status a CR passes through (polling could miss
the short-lived ones). A uniquely named module, so ``import`` never picks up another directory's helper."""

from __future__ import annotations

import copy
import functools
import threading
from pathlib import Path

import yaml
from kubernetes import client, watch

from tests import helpers
from tests.helpers import wait_for

ROOT = Path(__file__).resolve().parents[3]
MANIFESTS = ROOT / "include" / "manifests"
GROUP, VERSION = "sagemaker.aws.amazon.com", "v1"
API_VERSION = f"{GROUP}/{VERSION}"
FINALIZER = "sagemaker-operator-finalizer"
FAULT_ANNOTATION = "sandbox.sagemaker.local/fault"
OPERATOR_NAMESPACE = "sagemaker-k8s-operator-system"
OPERATOR_DEPLOYMENT = "sagemaker-k8s-operator-controller-manager"
# fewer, shallower trees than the walkthrough (5 x 10): ~1 s of real training, validation:merror ~0.17
QUICK_HYPERPARAMETERS = {"max_depth": "4", "num_round": "4"}


@functools.cache
def _template(name: str) -> dict:
    return yaml.safe_load((MANIFESTS / name).read_text())


def training_cr(
    sandbox,
    data_uri: str,
    name: str = "xgboost-mnist",
    *,
    namespace: str = "default",
    fault: str | None = None,
    job_name: str | None = None,
    hyperparameters: dict[str, str] | None = None,
) -> dict:
    """The walkthrough's TrainingJob, pointed at ``data_uri`` (``s3://bucket/prefix/``) in the sandbox."""
    cr = copy.deepcopy(_template("trainingjob.yaml"))
    cr["metadata"] = {"name": name, "namespace": namespace}
    if fault is not None:
        cr["metadata"]["annotations"] = {FAULT_ANNOTATION: fault}
    spec = cr["spec"]
    spec["region"] = sandbox.info.region
    spec["roleArn"] = sandbox.info.execution_role_arn
    spec["outputDataConfig"]["s3OutputPath"] = f"{data_uri}output/"  # trailing slash, as in the sample
    for channel in spec["inputDataConfig"]:
        channel["dataSource"]["s3DataSource"]["s3Uri"] = f"{data_uri}{channel['channelName']}/"
    if job_name is not None:
        spec["trainingJobName"] = job_name
    for key, value in (hyperparameters or {}).items():
        spec["hyperParameters"] = [hp for hp in spec["hyperParameters"] if hp["name"] != key]
        spec["hyperParameters"].append({"name": key, "value": value})
    return cr


def hosting_cr(
    sandbox, model_data_url: str, name: str = "hosting-deployment", *, fault: str | None = None
) -> dict:
    """The walkthrough's HostingDeployment serving ``model_data_url`` in the sandbox's region."""
    cr = copy.deepcopy(_template("hostingdeployment.yaml"))
    cr["metadata"] = {"name": name, "namespace": "default"}
    if fault is not None:
        cr["metadata"]["annotations"] = {FAULT_ANNOTATION: fault}
    cr["spec"]["region"] = sandbox.info.region
    for model in cr["spec"]["models"]:
        model["executionRoleArn"] = sandbox.info.execution_role_arn
        for container in model["containers"]:
            container["modelDataUrl"] = model_data_url
    return cr


def upload_sample_to(sandbox, prefix: str) -> str:
    """Like the ``upload_sample`` fixture, for a sandbox shared by a module: the bundled sample's splits
    under ``s3://<bucket>/<prefix>/{train,validation,test}/examples``; returns ``s3://<bucket>/<prefix>/``."""
    from sagemaker_k8s.dataset.layout import build_artifacts
    from sagemaker_k8s.dataset.mnist import load_sample_csv_gz, split_sample
    from sagemaker_k8s.dataset.sources import bundled_sample_path

    X, y = load_sample_csv_gz(bundled_sample_path().read_bytes())
    s3 = aws(sandbox, "s3")
    for artifact, body in build_artifacts(split_sample(X, y), prefix):
        s3.put_object(Bucket=sandbox.info.bucket, Key=artifact.key, Body=body)
    return f"s3://{sandbox.info.bucket}/{prefix}/"


def aws(sandbox, service: str):
    """A boto3 client for the sandbox's AWS endpoint (dummy credentials; moto accepts any)."""
    return helpers.aws(sandbox, service, retries=False)


def get_cr(sandbox, plural: str, name: str, namespace: str = "default") -> dict | None:
    return sandbox.kube.get(API_VERSION, plural, name, namespace=namespace)


def status_of(sandbox, plural: str, name: str, namespace: str = "default") -> dict:
    return (get_cr(sandbox, plural, name, namespace) or {}).get("status") or {}


def wait_status(
    sandbox, plural: str, name: str, field: str, values, *, namespace="default", timeout=60.0
) -> dict:
    """Wait until ``status.<field>`` is one of ``values``; returns the status."""
    values = {values} if isinstance(values, str) else set(values)

    def reached():
        status = status_of(sandbox, plural, name, namespace)
        return status if status.get(field) in values else None

    return wait_for(reached, timeout=timeout, what=f"{plural}/{name} status.{field} in {sorted(values)}")


def wait_passes(sandbox, count: int = 2, timeout: float = 30.0) -> None:
    """Let the operator emulator finish ``count`` more full passes (instead of sleeping)."""
    target = sandbox.operator.passes + count + 1  # +1: the pass under way may have started before
    wait_for(lambda: sandbox.operator.passes >= target, timeout=timeout, what=f"{count} operator passes")


def wait_gone(sandbox, plural: str, name: str, namespace: str = "default", timeout: float = 60.0) -> None:
    """Wait until GET on the CR answers 404 over HTTP."""
    api = client.CustomObjectsApi(kube_client(sandbox))

    def gone() -> bool:
        try:
            api.get_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
        except client.ApiException as e:
            if e.status == 404:
                return True
            raise
        return False

    wait_for(gone, timeout=timeout, what=f"{plural}/{name} to disappear")


def kube_client(sandbox) -> client.ApiClient:
    return client.ApiClient(client.Configuration(host=sandbox.info.kube_url))


class StatusHistory:
    """Watch one CR over HTTP from ``resource_version`` on and record each distinct status tuple
    ``(status[field], status[secondary])``; ends when the CR is deleted or the server closes the watch."""

    def __init__(
        self,
        sandbox,
        plural: str,
        obj: dict,
        field: str,
        secondary: str | None = None,
        timeout_seconds: int = 120,
    ) -> None:
        meta = obj["metadata"]
        self.field, self.secondary = field, secondary
        self.seen: list[tuple] = []
        self.deleted = threading.Event()
        self._watch = watch.Watch()
        api = client.CustomObjectsApi(kube_client(sandbox))
        stream = self._watch.stream(
            api.list_namespaced_custom_object,
            GROUP,
            VERSION,
            meta["namespace"],
            plural,
            field_selector=f"metadata.name={meta['name']}",
            resource_version=meta["resourceVersion"],
            timeout_seconds=timeout_seconds,
        )
        self._thread = threading.Thread(target=self._consume, args=(stream,), daemon=True)
        self._thread.start()

    def _consume(self, stream) -> None:
        for event in stream:
            status = event["object"].get("status") or {}
            entry = (status.get(self.field), status.get(self.secondary) if self.secondary else None)
            if not self.seen or self.seen[-1] != entry:
                self.seen.append(entry)
            if event["type"] == "DELETED":
                self.deleted.set()
                self._watch.stop()

    @property
    def primary(self) -> list:
        """The distinct primary values in order (consecutive repeats folded)."""
        out: list = []
        for value, _ in self.seen:
            if value is not None and (not out or out[-1] != value):
                out.append(value)
        return out

    def secondaries(self, primary) -> set:
        return {s for p, s in self.seen if p == primary and s}
