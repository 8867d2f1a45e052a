"""``make airflow``: the sandbox plus the real Airflow 3.3 components, on 127.0.0.1, until Ctrl-C.

Starts ``python -m sandbox up`` (its ``env`` file is the only link to Airflow), optionally a throwaway
PostgreSQL cluster (``--db postgres``; SQLite in ``.airflow-local/`` otherwise), then the api-server,
scheduler, dag-processor and triggerer in one process group. Prints the UI address and the login
(user ``admin``; password from ``SAGEMAKER_K8S_UI_PASSWORD``, ``admin`` by default — the UI listens on
127.0.0.1 only). Ctrl-C or SIGTERM stops every process it started.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.airflow_runs import DAG_ID
from devtools.local_airflow import USERNAME, LocalAirflow
from devtools.postgres import ThrowawayPostgres
from devtools.sandbox_process import start_sandbox, stop_sandbox
from sandbox.state import parse_env

STATE_DIR = ROOT / ".sandbox"
HOME = ROOT / ".airflow-local"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--port", type=int, default=int(os.environ.get("SAGEMAKER_K8S_UI_PORT", "8080")))
    parser.add_argument("--home", type=Path, default=HOME)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    password = os.environ.get("SAGEMAKER_K8S_UI_PASSWORD", "admin")
    print("starting the sandbox ...", flush=True)
    sandbox = start_sandbox(STATE_DIR, flavour=os.environ.get("FLAVOUR") or "legacy")
    postgres = airflow = None
    try:
        env = {**os.environ, **parse_env((STATE_DIR / "env").read_text())}
        db_url = None
        if args.db == "postgres":
            postgres = ThrowawayPostgres().start()
            db_url = postgres.url
            print(f"PostgreSQL {postgres.server_version()} on 127.0.0.1:{postgres.port}", flush=True)
        if db_url is None:
            db_url = f"sqlite:///{args.home / 'airflow.db'}"
        airflow = LocalAirflow(args.home, env, port=args.port, db_url=db_url, password=password)
        print("starting api-server, scheduler, dag-processor, triggerer (about 30 s) ...", flush=True)
        airflow.start()
        shown = "$SAGEMAKER_K8S_UI_PASSWORD" if "SAGEMAKER_K8S_UI_PASSWORD" in os.environ else password
        print(
            f"\nAirflow is up: {airflow.url}/dags/{DAG_ID}\n"
            f"  login     {USERNAME} / {shown}\n"
            f"  logs      {args.home / 'components'}/*.log\n"
            "  Ctrl-C stops everything.",
            flush=True,
        )
        while not stop.wait(2):
            dead = {n: p.returncode for n, p in airflow.procs.items() if p.poll() is not None}
            if dead:
                print(f"an Airflow component exited: {dead}; stopping", file=sys.stderr)
                return 1
        return 0
    finally:
        print("stopping ...", flush=True)
        if airflow is not None:
            airflow.stop()
        if postgres is not None:
            postgres.stop()
        stop_sandbox(sandbox)
        print("stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
