"""Benchmark: scheduled retraining on the sandbox, run after run.

    .venv/bin/python bench/bench_promotion.py                 # 5 runs, print a Markdown table
    .venv/bin/python bench/bench_promotion.py --write-docs    # ... and update docs/benchmarks.md
    .venv/bin/python bench/bench_promotion.py --runs 3

Starts the sandbox in this process (its default phase timing, the 2 s poll interval its env file sets)
and a throwaway Airflow home, then runs ``airflow dags test`` N times, as a schedule would: the first
run with default params, every later one with ``force_promote`` (each run trains its own job, so
every run after the first is a real in-place update of the endpoint). After each run it counts the
pipeline's endpoints in SageMaker and HostingDeployments on the cluster (must stay 1), and reads from
the task instances the time from ``wait_training``'s end (training completed) to ``promote_endpoint``'s
end (SageMaker serves the new model on the new config, verified through DescribeEndpoint).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from docs_section import markers, write_section

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]
START, END = markers("promotion")


def task_times(run_id: str) -> dict[str, tuple[dt.datetime, dt.datetime]]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from devtools.airflow_runs import DAG_ID

    with create_session() as session:
        tis = session.scalars(
            select(TaskInstance).where(TaskInstance.dag_id == DAG_ID, TaskInstance.run_id == run_id)
        ).all()
        return {ti.task_id: (ti.start_date, ti.end_date) for ti in tis if ti.start_date and ti.end_date}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="bench-promotion-"))
    os.environ.update(
        AIRFLOW_HOME=str(home / "airflow"),
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(ROOT / "plugins"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        SAGEMAKER_K8S_MANIFESTS_DIR=str(ROOT / "include" / "manifests"),
    )
    from devtools.airflow_runs import airflow_settings, dags_test, latest_run, migrate
    from sandbox.stack import Sandbox

    migrate({**os.environ, **airflow_settings(home / "airflow")})
    load = os.getloadavg()[0]
    rows = []
    with Sandbox(home / "sandbox") as sandbox:
        import boto3

        sm = boto3.client(
            "sagemaker",
            endpoint_url=sandbox.moto.url,
            region_name=sandbox.info.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto's dummy credentials
        )
        for number in range(1, args.runs + 1):
            conf = {} if number == 1 else {"force_promote": True}
            started = time.monotonic()
            result = dags_test(
                {**os.environ, **sandbox.env()}, conf=conf, log_path=home / f"run-{number}.log"
            )
            wall = time.monotonic() - started
            run = latest_run()
            if run.state != "success":
                print(result.stdout[-4000:], file=sys.stderr)
                raise SystemExit(f"run {number} ended {run.state}")
            times = task_times(run.run_id)
            live = (times["promote_endpoint"][1] - times["wait_training"][1]).total_seconds()
            endpoints = [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]]
            deployments = sandbox.kube.list_objects("sagemaker.aws.amazon.com/v1", "hostingdeployments")
            rows.append(
                {
                    "run": number,
                    "kind": "create" if number == 1 else "in-place update",
                    "wall": wall,
                    "live": live,
                    "endpoints": len(endpoints),
                    "deployments": len(deployments),
                    "config": run.xcoms["promote_endpoint"]["endpoint_config"],
                }
            )
            print(rows[-1], flush=True)
    table = render(rows, args.runs, load)
    print(table)
    if args.write_docs:
        write_section("promotion", table)
    return 0 if all(r["endpoints"] == r["deployments"] == 1 for r in rows) else 1


INTRO = """\
## Retraining: endpoints after N runs, and time to a verified-live promotion

{runs} consecutive `airflow dags test` runs on one sandbox, as a schedule makes them (the first
with default params, the others with `force_promote`, so each later run is a real in-place update
of the endpoint). Time to live: from `wait_training`'s end (training completed) to
`promote_endpoint`'s end (SageMaker serves the new model on the new config, verified through
DescribeEndpoint), on the sandbox's timing (0.2 s simulated phases, 2 s poll interval): it
measures the pipeline's own overhead (gate, approval, update, child resources, polling), not a
real endpoint's minutes of provisioning.

Measured {date} on {cores} cores, {system}, Python {python}, 1-min load average {load:.1f} at
start. Generated by `bench/bench_promotion.py`; do not edit by hand, rerun
`.venv/bin/python bench/bench_promotion.py --write-docs`.

| run | promotion | run wall time (s) | training completed → live (s) | endpoints | HostingDeployments |
|---:|---|---:|---:|---:|---:|"""


def render(rows: list[dict], runs: int, load: float) -> str:
    updates = [r["live"] for r in rows if r["kind"] != "create"]
    configs = len({r["config"] for r in rows})
    intro = INTRO.format(
        runs=runs,
        date=dt.date.today().isoformat(),
        cores=os.cpu_count(),
        system=f"{platform.system()} {platform.machine()}",
        python=platform.python_version(),
        load=load,
    )
    cells = ("{run}", "{kind}", "{wall:.0f}", "{live:.1f}", "{endpoints}", "{deployments}")
    table = ["| " + " | ".join(c.format(**r) for c in cells) + " |" for r in rows]
    met = "met" if all(r["endpoints"] == 1 for r in rows) else "NOT met"
    summary = f"Endpoints alive after {runs} runs: **{rows[-1]['endpoints']}** (goal 1: {met}); "
    summary += f"{configs} endpoint configs served in turn."
    if updates:
        summary += (
            " In-place update, training completed → verified live: median "
            f"{statistics.median(updates):.1f} s (min {min(updates):.1f}, max {max(updates):.1f})."
        )
    return "\n".join([START, intro, *table, "", summary, END])


if __name__ == "__main__":
    sys.exit(main())
