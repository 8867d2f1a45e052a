"""Benchmark: a tuning job against the same number of plain trainings run one after another.

    .venv/bin/python bench/bench_tuning.py                  # 4 jobs, 2 in parallel; print a table
    .venv/bin/python bench/bench_tuning.py --write-docs     # ... and update docs/benchmarks.md
    .venv/bin/python bench/bench_tuning.py --jobs 6 --parallel 3

Starts the sandbox in this process (its default phase timing) and uploads the bundled sample. Then,
on the same data and cluster, (a) one HyperparameterTuningJob CR as the DAG's ``submit_tuning`` builds
it, from creation until the CR reports ``Completed``; (b) the same number of TrainingJob CRs as
``submit_training`` builds them, each created when the one before has completed. Both are timed on the
CRs' status as the operator emulator writes it (polled every 0.1 s), and every training really runs
XGBoost; the tuning job's training jobs overlap up to ``max_parallel``, so (a) should take about
``ceil(jobs / parallel) / jobs`` of (b) plus the tuning job's own bookkeeping.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from docs_section import markers, write_section

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "plugins"), str(ROOT / "tests")]
START, END = markers("tuning")
GROUP_VERSION = "sagemaker.aws.amazon.com/v1"
DAG_ID = "sagemaker_xgboost_mnist"


def wait_status(sandbox, plural: str, name: str, field: str, timeout: float = 900) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = (sandbox.kube.get(GROUP_VERSION, plural, name, "default").get("status") or {}).get(field)
        if status in ("Completed", "Failed", "Stopped"):
            return status
        time.sleep(0.1)
    raise SystemExit(f"{plural}/{name} did not finish within {timeout:.0f}s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="bench-tuning-"))
    os.environ.update(SAGEMAKER_K8S_MANIFESTS_DIR=str(ROOT / "include" / "manifests"))
    from sagemaker_k8s.config.run_config import resolve_run_config
    from sagemaker_k8s.dataset.layout import build_artifacts
    from sagemaker_k8s.dataset.mnist import load_sample_csv_gz, split_sample
    from sagemaker_k8s.dataset.sources import bundled_sample_path
    from sagemaker_k8s.operators.training import SageMakerK8sTrainingOperator
    from sagemaker_k8s.operators.tuning import SageMakerK8sTuningOperator
    from sandbox.stack import Sandbox

    load = os.getloadavg()[0]
    with Sandbox(home / "sandbox") as sandbox:
        from helpers import aws

        info = sandbox.info
        params = {"region": info.region, "bucket": info.bucket, "execution_role_arn": info.execution_role_arn}
        tuning = {"max_jobs": args.jobs, "max_parallel": args.parallel, "strategy": "Random"}
        cfg = resolve_run_config({**params, "tuning": tuning}, variables={}, connection_region=None)
        X, y = load_sample_csv_gz(bundled_sample_path().read_bytes())
        s3 = aws(sandbox, "s3")
        for artifact, body in build_artifacts(split_sample(X, y), cfg.s3_prefix):
            s3.put_object(Bucket=info.bucket, Key=artifact.key, Body=body)

        body = SageMakerK8sTuningOperator(task_id="submit_tuning", config={}).build(cfg, DAG_ID, "bench-tune")
        started = time.monotonic()
        sandbox.kube.create(body)
        state = wait_status(
            sandbox, "hyperparametertuningjobs", body["metadata"]["name"], "hyperParameterTuningJobStatus"
        )
        tuned = time.monotonic() - started
        if state != "Completed":
            raise SystemExit(f"the tuning job ended {state}")
        print(f"tuning: {args.jobs} jobs, {args.parallel} in parallel: {tuned:.1f}s", flush=True)

        training = SageMakerK8sTrainingOperator(task_id="submit_training", config={})
        started, each = time.monotonic(), []
        for number in range(args.jobs):
            job = training.build(cfg, DAG_ID, f"bench-train-{number}")
            began = time.monotonic()
            sandbox.kube.create(job)
            if (
                wait_status(sandbox, "trainingjobs", job["metadata"]["name"], "trainingJobStatus")
                != "Completed"
            ):
                raise SystemExit(f"training {number} did not complete")
            each.append(time.monotonic() - began)
        sequential = time.monotonic() - started
        print(f"sequential: {args.jobs} trainings: {sequential:.1f}s", flush=True)
    table = render(args.jobs, args.parallel, tuned, sequential, each, load)
    print(table)
    if args.write_docs:
        write_section("tuning", table)
    return 0


INTRO = """\
## Tuning: {jobs} jobs with {parallel} in parallel against {jobs} trainings one after another

On the sandbox (its default timing; every training really runs XGBoost on the bundled 5,000-digit
sample): one `HyperparameterTuningJob` as `submit_tuning` builds it, from creation to `Completed`,
against {jobs} `TrainingJob` CRs as `submit_training` builds them, each created when the one before
completed. Ideal ratio with perfect overlap: ceil({jobs}/{parallel})/{jobs} = {ideal:.2f}.

Measured {date} on {cores} cores, {system}, Python {python}, 1-min load average {load:.1f} at start.
Generated by `bench/bench_tuning.py`; do not edit by hand, rerun
`.venv/bin/python bench/bench_tuning.py --write-docs`.

| | wall time (s) | per training job (s) |
|---|---:|---:|"""


def render(jobs: int, parallel: int, tuned: float, sequential: float, each: list[float], load: float) -> str:
    intro = INTRO.format(
        jobs=jobs,
        parallel=parallel,
        ideal=math.ceil(jobs / parallel) / jobs,
        date=dt.date.today().isoformat(),
        cores=os.cpu_count(),
        system=f"{platform.system()} {platform.machine()}",
        python=platform.python_version(),
        load=load,
    )
    rows = [
        f"| tuning job ({jobs} jobs, {parallel} at a time) | {tuned:.1f} | {tuned / jobs:.1f} (wall / n) |",
        f"| {jobs} trainings one after another | {sequential:.1f} | {sum(each) / len(each):.1f} (mean) |",
        f"| ratio tuning / sequential | {tuned / sequential:.2f} | |",
    ]
    return "\n".join([START, intro, *rows, END])


if __name__ == "__main__":
    sys.exit(main())
