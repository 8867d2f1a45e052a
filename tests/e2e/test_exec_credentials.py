"""``airflow dags test`` with an exec-plugin kubeconfig (as ``aws eks update-kubeconfig`` writes, with the
sandbox's token command as the plugin): the plugin runs the same number of times whatever the jobs'
duration and however many polls the waits make, because one token serves the whole process (tasks run
in-process, triggers each under their own ``asyncio.run``) until it expires."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from sandbox.kube import exec_invocations
from sandbox.stack import Sandbox

pytestmark = pytest.mark.e2e

EXEC_USER = "sandbox-exec-admin"
POLLED = re.compile(r"/(trainingjobs|hostingdeployments)/[^/]+$")


@pytest.fixture(params=[0.05, 0.6], ids=["short-jobs", "long-jobs"])
def sandbox(request, tmp_path) -> Iterator[Sandbox]:
    """The conftest's sandbox with SageMaker phases of ``param`` seconds: 12x longer jobs in the second."""
    with Sandbox(tmp_path / "sandbox", phase_delay=request.param, poll_interval=0.1) as sb:
        yield sb


def test_dags_test_runs_the_exec_plugin_once_whatever_the_jobs_duration(sandbox, run_dag, tmp_path):
    kubeconfig = sandbox.exec_kubeconfig(tmp_path / "exec-kubeconfig")
    conn = {
        "conn_type": "kubernetes",
        "extra": {"kube_config_path": str(kubeconfig), "namespace": sandbox.info.namespace},
    }
    env = {
        "KUBECONFIG": str(kubeconfig),
        "AIRFLOW_CONN_KUBERNETES_DEFAULT": json.dumps(conn),
        "SAGEMAKER_K8S_POLL_INTERVAL": "0.25",
    }
    result, run = run_dag(env)
    assert run.state == "success", result.stdout[-3000:]
    polls = [
        r
        for r in sandbox.kube.requests
        if r.method == "GET" and POLLED.search(r.path) and r.user == EXEC_USER
    ]
    assert len(polls) >= 10, "the waits polled the custom resources through the exec kubeconfig"
    assert not [r for r in sandbox.kube.requests if r.status == 401]
    runs = exec_invocations(f"{kubeconfig}.invocations")
    print(f"exec plugin runs: {runs} for {len(polls)} polls of the custom resources")
    assert runs == 1, f"{len(polls)} polls"
