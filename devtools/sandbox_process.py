"""Run ``python -m sandbox up`` as a child process (``make demo``, ``make airflow``).

It gets its own session so one signal stops it and everything it started; ``start_sandbox`` returns
once it printed "sandbox ready" (its ``env`` file is then complete).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def start_sandbox(state_dir: Path, timeout: float = 120, *, flavour: str = "legacy") -> subprocess.Popen:
    """``python -m sandbox up`` with the controller ``flavour`` (legacy, ack or both), once it is ready."""
    state_dir.mkdir(parents=True, exist_ok=True)
    with open(state_dir / "sandbox.log", "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "--state-dir", str(state_dir), "up", "--flavour", flavour],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    for line in proc.stdout:
        print("  " + line.rstrip(), flush=True)
        if line.strip() == "sandbox ready":
            return proc
        if time.monotonic() > deadline:
            break
    stop_sandbox(proc)
    raise SystemExit(f"the sandbox did not come up; see {state_dir / 'sandbox.log'}")


def stop_sandbox(proc: subprocess.Popen, timeout: float = 30) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
