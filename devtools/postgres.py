"""A throwaway PostgreSQL cluster on 127.0.0.1 for Airflow's metadata database (tests, ``make airflow``).

``initdb`` into a fresh directory, then the ``postgres`` server as a child process on an ephemeral
port (TCP on 127.0.0.1 only, its Unix socket inside the directory), trust authentication for the
local ``postgres`` role, one database ``airflow``. Stopping it (SIGINT: PostgreSQL's "fast" shutdown)
removes the directory. PostgreSQL refuses to run as root, so as root it runs as the ``postgres``
system user that Debian's package creates.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

USER = "postgres"
DATABASE = "airflow"
INITDB_OPTIONS = ("--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
# A disposable test database: no durability needed; Airflow's components open many connections.
SERVER_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "max_connections": "200"}


def _settings(**settings: str) -> list[str]:
    return [arg for key, value in settings.items() for arg in ("-c", f"{key}={value}")]


def find_bindir() -> Path | None:
    """Where ``initdb`` and ``postgres`` live: on PATH, else Debian's /usr/lib/postgresql/<major>/bin."""
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return versions[-1].parent if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ThrowawayPostgres:
    def __init__(self, bindir: Path | None = None, base_dir: Path | None = None) -> None:
        self.bindir = bindir or find_bindir()
        if self.bindir is None or not (self.bindir / "initdb").exists():
            raise FileNotFoundError(
                f"PostgreSQL server binaries not found (initdb in {self.bindir or 'PATH'}); "
                "install them: apt-get install postgresql"
            )
        self._base_dir = base_dir
        self.dir: Path | None = None
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None
        self._as_user: list[str] = []

    @property
    def url(self) -> str:
        """SQLAlchemy URL for Airflow (``[database] sql_alchemy_conn``)."""
        return f"postgresql+psycopg2://{USER}@127.0.0.1:{self.port}/{DATABASE}"

    def start(self, timeout: float = 60) -> ThrowawayPostgres:
        self.dir = Path(tempfile.mkdtemp(prefix="airflow-pg-", dir=self._base_dir))
        if os.geteuid() == 0:
            account = pwd.getpwnam(USER)
            os.chown(self.dir, account.pw_uid, account.pw_gid)
            self._as_user = ["runuser", "-u", USER, "--"]
        data = self.dir / "data"
        subprocess.run(
            [*self._as_user, str(self.bindir / "initdb"), "-D", str(data), "-U", USER, *INITDB_OPTIONS],
            check=True,
            capture_output=True,
            timeout=120,
        )
        self.port = _free_port()
        log = open(self.dir / "postgres.log", "wb")  # noqa: SIM115 - the server's stderr for its lifetime
        options = _settings(
            listen_addresses="127.0.0.1", unix_socket_directories=str(self.dir), **SERVER_SETTINGS
        )
        self.proc = subprocess.Popen(
            [*self._as_user, str(self.bindir / "postgres"), "-D", str(data), "-p", str(self.port), *options],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self._wait_ready(timeout)
        self._psql(f"CREATE DATABASE {DATABASE}")
        return self

    def _psql(self, sql: str) -> str:
        out = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, "-d", "postgres", "-Atc", sql],
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        )
        return out.stdout.strip()

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited at start: {self.log_tail()}")
            try:
                self._psql("SELECT 1")
                return
            except subprocess.CalledProcessError:
                time.sleep(0.1)
        raise TimeoutError(f"postgres not ready in {timeout}s: {self.log_tail()}")

    def log_tail(self, chars: int = 2000) -> str:
        path = (self.dir or Path("/nonexistent")) / "postgres.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def server_version(self) -> str:
        return self._psql("SHOW server_version")

    def stop(self, timeout: float = 30) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)  # fast shutdown: disconnect clients, then exit
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.proc = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self) -> ThrowawayPostgres:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
