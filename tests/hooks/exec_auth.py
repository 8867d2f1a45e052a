"""Helpers for the shared-client tests (hooks and triggers): a sandbox whose TrainingJobs keep the status a
test writes (the operator emulator is stopped), connections to exec-plugin kubeconfigs, and the sockets
this process holds to the API server."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sagemaker_k8s.manifests.build import TrainingJobSpec, build_training_job
from sagemaker_k8s.manifests.flavours import LEGACY_TRAINING_JOB as TJ
from sagemaker_k8s.manifests.images import xgboost_image
from sagemaker_k8s.manifests.load import load_template
from sandbox.kube import exec_invocations
from sandbox.stack import Sandbox

EXEC_USER = "sandbox-exec-admin"


@contextmanager
def quiet_sandbox(state_dir: Path) -> Iterator[Sandbox]:
    """A sandbox with the operator emulator stopped: CRs keep whatever status the test applies."""
    with Sandbox(state_dir, phase_delay=0.05, poll_interval=0.1) as sb:
        sb.misconfigure("operator-not-running")
        yield sb


def set_status(sandbox: Sandbox, name: str, status: str = "InProgress") -> dict:
    """Create or update TrainingJob ``name`` with ``status`` as the controller would write it."""
    info = sandbox.info
    spec = TrainingJobSpec(
        cr_name=name, namespace=info.namespace, job_name=name, region=info.region,
        role_arn=info.execution_role_arn, image=xgboost_image(info.region), bucket=info.bucket,
        prefix="xgboost", instance_type="ml.m4.xlarge", instance_count=1, volume_size_gb=5,
        max_runtime_seconds=3600,
    )  # fmt: skip
    body = build_training_job(load_template("trainingjob.yaml"), spec)
    body["metadata"]["finalizers"] = ["sagemaker-operator-finalizer"]
    body["status"] = {"trainingJobStatus": status, "sageMakerTrainingJobName": name}
    return sandbox.kube.apply(body)


@dataclass
class ExecConnection:
    conn_id: str
    kubeconfig: Path

    def invocations(self) -> int:
        """How many times the exec plugin has run for this kubeconfig."""
        return exec_invocations(f"{self.kubeconfig}.invocations")


def exec_connection(
    sandbox: Sandbox, directory: Path, monkeypatch, conn_id: str = "kube_exec", **kubeconfig_options
) -> ExecConnection:
    """An Airflow connection (environment variable) to a new exec-plugin kubeconfig in ``directory``."""
    kubeconfig = sandbox.exec_kubeconfig(directory / f"{conn_id}.kubeconfig", **kubeconfig_options)
    extra = {"kube_config_path": str(kubeconfig), "namespace": sandbox.info.namespace}
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "kubernetes", "extra": extra})
    )
    return ExecConnection(conn_id, kubeconfig)


def cr_requests(sandbox: Sandbox, name: str | None = None) -> list:
    """The emulator's log of requests to TrainingJob ``name`` (any TrainingJob: None) by the plugin's user
    or rejected as unauthenticated."""
    pattern = re.compile(rf"/{TJ.plural}/{re.escape(name) if name else '[^/]+'}$")
    return [
        r
        for r in sandbox.kube.requests
        if pattern.search(r.path) and (r.user == EXEC_USER or r.status == 401)
    ]


def client_sockets(port: int) -> int:
    """TCP connections this process holds open to ``port`` on 127.0.0.1 (client side only: the in-process
    server's own end has ``port`` as its local port)."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        established = fields[3] == "01"
        if established and int(fields[2].rsplit(":", 1)[1], 16) == port and fields[9] in inodes:
            count += 1
    return count
