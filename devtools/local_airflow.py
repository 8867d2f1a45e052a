"""The real Airflow 3.3 components on 127.0.0.1: api-server, scheduler, dag-processor and triggerer.

Used by ``make airflow`` (``scripts/airflow_local.py``) and by the runtime tests. Everything is
configured through the environment (no ``airflow.cfg`` edits): LocalExecutor, the simple auth
manager with a pre-seeded password file (a known login for local use), one JWT secret shared by
the components, the Execution API on the api-server's port, log servers off (``--skip-serve-logs``:
they would bind 0.0.0.0; the api-server reads the task logs from ``$AIRFLOW_HOME/logs`` directly).

The four processes share one process group, created with the first one, so one signal to the group
stops them and every child they forked (LocalExecutor workers, task supervisors); ``stop`` sends
SIGTERM, then SIGKILL to whatever is left after the grace period.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from devtools.airflow_runs import airflow_bin, airflow_settings

COMPONENTS: dict[str, list[str]] = {
    "api-server": ["api-server", "--host", "127.0.0.1", "--workers", "1"],
    "scheduler": ["scheduler", "--skip-serve-logs"],
    "dag-processor": ["dag-processor"],
    "triggerer": ["triggerer", "--skip-serve-logs"],
}
HEALTHY_COMPONENTS = ("metadatabase", "scheduler", "triggerer", "dag_processor")
USERNAME = "admin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def runtime_settings(home: Path, port: int, db_url: str | None, jwt_secret: str) -> dict[str, str]:
    """The environment every component gets (on top of ``airflow_settings`` and the caller's env)."""
    settings = {
        **airflow_settings(home),
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API_AUTH__JWT_SECRET": jwt_secret,
        "AIRFLOW__CORE__AUTH_MANAGER": (
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
        ),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USERNAME}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "300",
        "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "2",
    }
    if db_url:
        settings["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = db_url
    return settings


class LocalAirflow:
    """Start, health-check and stop the four components. ``env`` carries the sandbox's connections."""

    def __init__(
        self,
        home: Path,
        env: dict[str, str],
        *,
        port: int | None = None,
        db_url: str | None = None,
        password: str | None = None,
    ) -> None:
        self.home = home
        self.port = port or free_port()
        self.password = password or secrets.token_urlsafe(12)
        self.env = {
            **env,
            **runtime_settings(home, self.port, db_url, jwt_secret=secrets.token_urlsafe(32)),
        }
        self.procs: dict[str, subprocess.Popen] = {}
        self.pgid: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_path(self, component: str) -> Path:
        return self.home / "components" / f"{component}.log"

    def prepare(self) -> None:
        """Airflow home, the pre-seeded login and the migrated database."""
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "components").mkdir(exist_ok=True)
        self.write_password_file()
        self.migrate()

    def write_password_file(self) -> Path:
        """The simple auth manager only generates passwords for users missing from this file."""
        passwords = self.home / "passwords.json"
        passwords.touch(mode=0o600)
        passwords.chmod(0o600)
        passwords.write_text(json.dumps({USERNAME: self.password}))
        return passwords

    def migrate(self) -> None:
        done = subprocess.run(
            [airflow_bin(), "db", "migrate"], env=self.env, capture_output=True, text=True, timeout=600
        )
        if done.returncode != 0:
            raise RuntimeError(f"airflow db migrate failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")

    def start(self, timeout: float = 180) -> LocalAirflow:
        self.prepare()
        for name, args in COMPONENTS.items():
            with open(self.log_path(name), "ab") as log:
                proc = subprocess.Popen(
                    [airflow_bin(), *args, *(["--port", str(self.port)] if name == "api-server" else [])],
                    env=self.env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    process_group=0 if self.pgid is None else self.pgid,
                )
            self.pgid = self.pgid or proc.pid
            self.procs[name] = proc
        try:
            self.wait_healthy(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def health(self) -> dict:
        with urllib.request.urlopen(f"{self.url}/api/v2/monitor/health", timeout=5) as resp:  # noqa: S310
            return json.load(resp)

    def wait_healthy(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            dead = {n: p.returncode for n, p in self.procs.items() if p.poll() is not None}
            if dead:
                raise RuntimeError(f"Airflow component(s) exited: {dead}; logs in {self.home / 'components'}")
            try:
                last = self.health()
                if all((last.get(c) or {}).get("status") == "healthy" for c in HEALTHY_COMPONENTS):
                    return last
            except (OSError, urllib.error.URLError, ValueError) as e:
                last = e
            time.sleep(0.5)
        raise TimeoutError(f"Airflow not healthy after {timeout}s (last: {last})")

    def stop(self, grace: float = 30) -> None:
        """SIGTERM to the whole process group; SIGKILL what is still there after ``grace`` seconds."""
        if self.pgid is None:
            return
        _signal_group(self.pgid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        while group_members(self.pgid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if group_members(self.pgid):
            _signal_group(self.pgid, signal.SIGKILL)
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.wait(timeout=10)
        # SIGKILL is delivered asynchronously: grandchildren (reaped by someone else) may still be
        # exiting when our own children are; return only once the group is empty.
        deadline = time.monotonic() + 10
        while group_members(self.pgid) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.pgid = None

    @contextlib.contextmanager
    def paused(self, component: str) -> Iterator[list[int]]:
        """SIGSTOP one component and every process under it (a hung or partitioned component), and
        SIGCONT them on the way out, children first. Yields the stopped pids."""
        root = self.procs[component].pid
        stopped: list[int] = []
        try:
            for pid in [root, *descendants(root)]:  # the parent first: it cannot fork once stopped
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGSTOP)
                    stopped.append(pid)
            deadline = time.monotonic() + 10  # SIGSTOP is delivered asynchronously
            while any(process_state(pid) not in ("T", None) for pid in stopped):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{component} did not stop: {stopped}")
                time.sleep(0.02)
            yield stopped
        finally:
            for pid in reversed(stopped):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)

    def __enter__(self) -> LocalAirflow:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def processes() -> list[tuple[int, int, int, int]]:
    """Live (non-zombie) processes from /proc, as ``(pid, ppid, pgid, session)``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, ppid, pgid, session = stat.rsplit(")", 1)[1].split()[:4]
        if state != "Z":
            found.append((int(entry.name), int(ppid), int(pgid), int(session)))
    return found


def process_state(pid: int) -> str | None:
    """The state letter of ``pid`` (``R``, ``S``, ``T`` stopped, ``Z``, ...); None once it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def group_members(pgid: int) -> list[int]:
    """Live processes of a process group."""
    return [pid for pid, _, group, _ in processes() if group == pgid]


def descendants(pid: int) -> list[int]:
    """Live children, grandchildren, ... of ``pid`` (parents before their children)."""
    children: dict[int, list[int]] = {}
    for child, parent, _, _ in processes():
        children.setdefault(parent, []).append(child)
    found, todo = [], list(children.get(pid, []))
    while todo:
        found.append(todo.pop(0))
        todo.extend(children.get(found[-1], []))
    return found
