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

from sandbox.__main__ import build_parser
from sandbox.state import DEFAULT_STATE_DIR, read_info
from tests.helpers import wait_for

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


def cli(state_dir: Path, *args: str, state_dir_after: bool = False) -> subprocess.CompletedProcess:
    """``python -m sandbox --state-dir DIR ARGS``, or ``python -m sandbox ARGS --state-dir DIR``."""
    where = (
        [*args, "--state-dir", str(state_dir)] if state_dir_after else ["--state-dir", str(state_dir), *args]
    )
    return subprocess.run(
        [sys.executable, "-m", "sandbox", *where],
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
        # The form the module's usage line documents: the option after the command.
        process = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "up", "--state-dir", str(state_dir), "--phase-delay", "0.05"],
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


#: Every command with the arguments it needs: each takes --state-dir before or after itself.
COMMANDS = {
    "up": ["--phase-delay", "0.05"],
    "misconfigure": ["operator-not-running"],
    "fault": ["hang", "--kind", "TrainingJob"],
    "clear-faults": [],
    "info": [],
}


def test_every_command_is_covered():
    subparsers = next(a for a in build_parser()._actions if a.dest == "command")
    assert set(subparsers.choices) == set(COMMANDS)


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ("b", None, "b"),  # python -m sandbox --state-dir b CMD
        (None, "a", "a"),  # python -m sandbox CMD --state-dir a (the documented form)
        ("b", "a", "a"),  # both: the one nearer the command's own options wins
        (None, None, str(DEFAULT_STATE_DIR)),
    ],
)
def test_state_dir_before_or_after_the_command(command, before, after, expected):
    argv = ["--state-dir", before] if before else []
    argv += [command, *COMMANDS[command]]
    argv += ["--state-dir", after] if after else []
    args = build_parser().parse_args(argv)
    assert (args.command, args.state_dir) == (command, Path(expected))


def test_up_announces_its_endpoints_and_writes_the_state(up):
    info = read_info(up.state_dir)
    assert any(info.kube_url in line for line in up.stdout)
    assert any(info.aws_endpoint_url in line for line in up.stdout)
    assert all((up.state_dir / name).is_file() for name in STATE_FILES)
    assert json.loads((up.state_dir / "sandbox.json").read_text())["pid"] == up.process.pid


@pytest.mark.parametrize("state_dir_after", [False, True], ids=["before", "after"])
def test_info_prints_the_state_as_json(up, state_dir_after):
    result = cli(up.state_dir, "info", state_dir_after=state_dir_after)
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
    cleared = cli(up.state_dir, "clear-faults", state_dir_after=True)
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


@pytest.mark.parametrize("state_dir_after", [False, True], ids=["before", "after"])
def test_client_without_a_running_sandbox_says_so(tmp_path, state_dir_after):
    result = cli(tmp_path / "nothing-here", "clear-faults", state_dir_after=state_dir_after)
    assert result.returncode != 0
    assert f"no running sandbox with state in {tmp_path / 'nothing-here'}" in result.stderr
    assert "Traceback" not in result.stderr


def test_misconfigure_scales_the_operator_down_through_the_control_api(up):
    result = cli(up.state_dir, "misconfigure", "operator-not-running", state_dir_after=True)
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


@pytest.mark.parametrize(
    ("argv", "flavour"), [([], "legacy"), (["--flavour", "ack"], "ack"), (["--flavour", "both"], "both")]
)
def test_up_takes_the_controller_flavour(argv, flavour):
    assert build_parser().parse_args(["up", *argv]).flavour == flavour
    with pytest.raises(SystemExit):
        build_parser().parse_args(["up", "--flavour", "other"])
