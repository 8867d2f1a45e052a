"""``make demo``: the whole pipeline, end to end, on the embedded sandbox.

1. starts ``python -m sandbox up`` (moto, the Kubernetes API and operator emulators) and waits for
   its "sandbox ready" line;
2. loads the sandbox's ``env`` file — the only link between Airflow and the sandbox;
3. runs ``airflow dags test sagemaker_xgboost_mnist`` (real Airflow, SQLite in ``.airflow/``);
4. prints a summary: training job, validation error, endpoint, accuracy; then stops the sandbox.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.airflow_runs import (
    DAG_ID,
    airflow_settings,
    configure_environment,
    dags_test,
    latest_run,
    migrate,
)
from devtools.sandbox_process import start_sandbox, stop_sandbox
from sandbox.state import parse_env

STATE_DIR = ROOT / ".sandbox"
HOME = ROOT / ".airflow"


def main() -> int:
    configure_environment(HOME)
    print("starting the sandbox ...")
    sandbox = start_sandbox(STATE_DIR)
    try:
        env = {**os.environ, **airflow_settings(HOME), **parse_env((STATE_DIR / "env").read_text())}
        print("preparing Airflow's database in .airflow/ ...")
        migrate(env)
        print(f"running `airflow dags test {DAG_ID}` on the sandbox (about a minute) ...")
        started = time.monotonic()
        log_path = HOME / "demo-dags-test.log"
        result = dags_test(env, log_path=log_path)
        run = latest_run()
        print(f"\nDAG run {run.run_id}: {run.state} in {time.monotonic() - started:.0f}s (log: {log_path})")
        for task, state in sorted(run.task_states.items()):
            print(f"  {task:<22} {state}")
        trained = run.xcoms.get("wait_training") or {}
        endpoint = run.xcoms.get("deploy_endpoint") or {}
        smoke = run.xcoms.get("smoke_test_endpoint") or {}
        print("\nsummary")
        print(f"  training job      {trained.get('job_name')}")
        print(f"  model             {trained.get('model_path')}")
        print(f"  validation error  {(trained.get('metrics') or {}).get('validation:merror')}")
        print(f"  endpoint          {endpoint.get('endpoint_name')}")
        print(f"  accuracy          {smoke.get('accuracy')} on {smoke.get('rows')} test rows")
        if result.returncode != 0 or run.state != "success":
            print(result.stdout[-4000:], result.stderr[-4000:], sep="\n")
            return 1
        return 0
    finally:
        print("stopping the sandbox ...")
        stop_sandbox(sandbox)


if __name__ == "__main__":
    sys.exit(main())
