"""``make demo``: the whole pipeline, end to end, on the embedded sandbox.

1. starts ``python -m sandbox up`` (moto, the Kubernetes API and operator emulators) and waits for
   its "sandbox ready" line;
2. loads the sandbox's ``env`` file — the only link between Airflow and the sandbox;
3. runs ``airflow dags test sagemaker_xgboost_mnist`` (real Airflow, SQLite in ``.airflow/``);
4. prints a summary: the tasks in DAG order, training job, validation error, whether the run
   promoted its model to the pipeline's endpoint and why, the endpoint and its accuracy; then
   stops the sandbox. ``DEMO_RUNS=2`` runs the DAG twice to show the champion/challenger gate
   keeping the first model (the second is no better) on the same endpoint. ``TUNE=1`` tunes
   instead of training once (a HyperparameterTuningJob, 4 jobs, 2 at a time) and prints the best
   job; the batch transform's accuracy on the test split is printed either way. ``FLAVOUR=ack``
   runs the same pipeline on the ACK SageMaker controller (the sandbox installs ACK's CRDs and its
   controller instead of the legacy operator's; the DAG's ``flavour: auto`` picks it up).
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
    flavour = os.environ.get("FLAVOUR", "") or "legacy"
    print(f"starting the sandbox ({flavour} controller) ...")
    sandbox = start_sandbox(STATE_DIR, flavour=flavour)
    try:
        env = {**os.environ, **airflow_settings(HOME), **parse_env((STATE_DIR / "env").read_text())}
        print("preparing Airflow's database in .airflow/ ...")
        migrate(env)
        runs = int(os.environ.get("DEMO_RUNS", "1"))
        conf = (
            {"tuning": {"max_jobs": 4, "max_parallel": 2}}
            if os.environ.get("TUNE", "") not in ("", "0")
            else None
        )
        log_path = HOME / "demo-dags-test.log"
        for number in range(1, runs + 1):
            print(f"running `airflow dags test {DAG_ID}` on the sandbox (run {number} of {runs}, ~1 min) ...")
            started = time.monotonic()
            result = dags_test(env, conf=conf, log_path=log_path)
            run = latest_run()
            print(
                f"\nDAG run {run.run_id}: {run.state} in {time.monotonic() - started:.0f}s (log: {log_path})"
            )
            summarize(run)
            if result.returncode != 0 or run.state != "success":
                print(result.stdout[-4000:], result.stderr[-4000:], sep="\n")
                return 1
        return 0
    finally:
        print("stopping the sandbox ...")
        stop_sandbox(sandbox)


def summarize(run) -> None:
    for task in dag_task_order():
        print(f"  {task:<22} {run.task_states.get(task, '-')}")
    trained = run.xcoms.get("wait_training") or run.xcoms.get("wait_tuning") or {}
    scored = run.xcoms.get("batch_score") or {}
    kept = run.xcoms.get("keep_champion")
    promoted = run.xcoms.get("promote_endpoint") or {}
    recorded = run.xcoms.get("record_champion") or {}
    smoke = run.xcoms.get("smoke_test_endpoint") or {}
    print("\nsummary")
    print(f"  controller        {((run.xcoms.get('resolve_config') or {}).get('flavour'))}")
    print(f"  training job      {trained.get('job_name')}")
    print(f"  model             {trained.get('model_path')}")
    print(f"  validation error  {(trained.get('metrics') or {}).get('validation:merror')}")
    tuning = trained.get("tuning")
    if tuning:
        counters = tuning.get("counters") or {}
        objective = tuning.get("objective") or {}
        done = counters.get("completed")
        print(f"  tuning job        {tuning.get('job_name')}: {done} training jobs completed")
        best = f"{objective.get('name')} = {objective.get('value')}"
        print(f"  best job          {trained.get('job_name')} ({best})")
        print(f"  tuned values      {tuning.get('hyperparameters')}")
    if scored:
        print(f"  test accuracy     {scored.get('accuracy')} on {scored.get('rows')} rows (batch transform)")
        print(f"  batch output      {scored.get('output')}")
    if kept:
        print(f"  promoted          no: {kept['reason']}")
        print(f"  endpoint          {kept['endpoint_name']} (unchanged)")
    elif recorded:
        champion = promoted.get("champion")
        why = (
            "first model for this endpoint" if champion is None else f"better than {champion['training_job']}"
        )
        print(f"  promoted          yes ({why}); live on config {promoted.get('endpoint_config')}")
        print(f"  endpoint          {promoted.get('endpoint_name')}")
        print(f"  accuracy          {smoke.get('accuracy')} on {smoke.get('rows')} test rows")
    else:
        print("  promoted          no: the run did not get that far (see the task states)")


def dag_task_order() -> list[str]:
    """The DAG's tasks in dependency order (the order a reader follows the pipeline)."""
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(ROOT / "dags")).dags[DAG_ID]
    return [task.task_id for task in dag.topological_sort()]


if __name__ == "__main__":
    sys.exit(main())
