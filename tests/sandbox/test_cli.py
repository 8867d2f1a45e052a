"""``python -m sandbox``: ``up`` as a real subprocess in its own session, the client commands that drive it
through the state directory and the control API, and a clean SIGTERM shutdown."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from helpers import wait_for

from sandbox.state import read_info

ROOT = Path(__file__).resolve().parents[2]
KUBECTL = "/usr/bin/kubectl"
STATE_FILES = ("kubeconfig", "env", "sandbox.json")
OPERATOR = ("-n", "sagemaker-k8s-operator-system")


@dataclass
class Up:
    process: subprocess.Popen
    state_dir: Path
    stderr_path: Path
    stdout: list[str] = field(default_factory=list)
    _lines: queue.Queue = field(default_factory=queue.Queue)

    def read_stdout(self) -> None:
        for line in self.process.stdout:
            self._lines.put(line.rstrip("\n"))

    def drain(self) -> list[str]:
        while True:
            try:
                self.stdout.append(self._lines.get_nowait())
            except queue.Empty:
                return self.stdout


def cli(state_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sandbox", "--state-dir", str(state_dir), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def kubectl(state_dir: Path, *args: str) -> str:
    result = subprocess.run(
        [KUBECTL, "--kubeconfig", str(state_dir / "kubeconfig"), *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def up(tmp_path_factory) -> Iterator[Up]:
    base = tmp_path_factory.mktemp("cli")
    state_dir, stderr_path = base / "state", base / "up.stderr"
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "--state-dir", str(state_dir), "up", "--phase-delay", "0.05"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            start_new_session=True,
        )
    running = Up(process, state_dir, stderr_path)
    threading.Thread(target=running.read_stdout, daemon=True).start()
    try:
        wait_for(
            lambda: "sandbox ready" in running.drain() or process.poll() is not None,
            timeout=60,
            interval=0.1,
            what="'sandbox ready' from python -m sandbox up",
        )
        assert "sandbox ready" in running.stdout, stderr_path.read_text()[-3000:]
        yield running
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def test_up_announces_its_endpoints_and_writes_the_state(up):
    info = read_info(up.state_dir)
    assert any(info.kube_url in line for line in up.stdout)
    assert any(info.aws_endpoint_url in line for line in up.stdout)
    assert all((up.state_dir / name).is_file() for name in STATE_FILES)
    assert json.loads((up.state_dir / "sandbox.json").read_text())["pid"] == up.process.pid


def test_info_prints_the_state_as_json(up):
    result = cli(up.state_dir, "info")
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed == json.loads(read_info(up.state_dir).to_json())
    assert printed["kube_url"].startswith("http://127.0.0.1:")


@pytest.mark.parametrize(
    ("fault", "kind"), [("fail:x", "TrainingJob"), ("update-fail:no capacity", "HostingDeployment")]
)
def test_fault_and_clear_faults_answer(up, fault, kind):
    armed = cli(up.state_dir, "fault", fault, "--kind", kind)
    assert armed.returncode == 0, armed.stderr
    assert json.loads(armed.stdout) == {"armed": fault}
    cleared = cli(up.state_dir, "clear-faults")
    assert cleared.returncode == 0, cleared.stderr
    assert json.loads(cleared.stdout) == {"cleared": True}


def test_unknown_fault_is_refused_with_a_message(up):
    result = cli(up.state_dir, "fault", "explode")
    assert result.returncode != 0
    assert "unknown fault 'explode'" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_misconfiguration_is_refused_with_a_message(up):
    result = cli(up.state_dir, "misconfigure", "bogus")
    assert result.returncode != 0
    assert "unknown misconfiguration 'bogus'" in result.stderr
    assert "operator-not-running" in result.stderr  # lists the known ones
    assert "Traceback" not in result.stderr


def test_client_without_a_running_sandbox_says_so(tmp_path):
    result = cli(tmp_path / "nothing-here", "clear-faults")
    assert result.returncode != 0
    assert "no running sandbox" in result.stderr
    assert "Traceback" not in result.stderr


def test_misconfigure_scales_the_operator_down_through_the_control_api(up):
    result = cli(up.state_dir, "misconfigure", "operator-not-running")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"misconfigured": "operator-not-running"}
    deployment = ("deployment", "sagemaker-k8s-operator-controller-manager", *OPERATOR)
    assert kubectl(up.state_dir, "get", *deployment, "-o", "jsonpath={.spec.replicas}") == "0"
    wait_for(
        lambda: kubectl(up.state_dir, "get", "pods", *OPERATOR, "-o", "name").strip() == "",
        timeout=10,
        interval=0.2,
        what="the operator pod to go",
    )


def _session_members(sid: int) -> list[tuple[int, str]]:
    """(pid, state) of every process whose session id is ``sid``."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state ppid pgrp session ...
        if int(fields[3]) == sid:
            members.append((int(entry.name), fields[0]))
    return members


def test_sigterm_stops_cleanly(up):
    """Last in this module: it ends the sandbox the other tests use."""
    up.process.send_signal(signal.SIGTERM)
    assert up.process.wait(30) == 0
    wait_for(lambda: "stopping sandbox" in up.drain(), timeout=5, what="the goodbye line")
    assert not [name for name in STATE_FILES if (up.state_dir / name).exists()]
    try:
        os.killpg(up.process.pid, 0)  # start_new_session: its process group id is its pid
    except ProcessLookupError:
        pass
    else:
        assert all(state == "Z" for _, state in _session_members(up.process.pid))
    assert _session_members(up.process.pid) == [] or all(
        s == "Z" for _, s in _session_members(up.process.pid)
    )
