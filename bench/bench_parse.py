"""Benchmark: how long parsing ``dags/sagemaker_xgboost_mnist.py`` takes, against a trivial DAG.

    .venv/bin/python bench/bench_parse.py                 # 7 runs per DAG file, print a Markdown table
    .venv/bin/python bench/bench_parse.py --write-docs    # ... and update the section in docs/benchmarks.md
    .venv/bin/python bench/bench_parse.py --runs 3        # quick check

Every run is a fresh interpreter, as in the dag-processor: it imports ``airflow`` and the DagBag class
first (not timed), then times only ``DagBag(dag_folder=<file>)`` -- importing the file, which imports our
package and builds the DAG. Runs of the different files are interleaved so that machine noise hits
them alike; the median is reported. Files compared:

* ``trivial``: an ``airflow.sdk`` DAG with two ``EmptyOperator`` tasks (written to a temp dir);
* ``trivial + params``: the same plus this project's typed ``Param``s -- a reference for the part of
  the cost that is Airflow validating Params (jsonschema) and deep-copying them into every task;
* ``same shape, stock operators``: the project's DAG rebuilt from ``EmptyOperator``s -- the same task ids,
  edges, trigger rules, Params, schedule, default_args and doc_md, read off the parsed DAG (untimed) --
  except that a task built on a stock operator stays that stock operator (the approval task is the
  standard provider's human-in-the-loop ``ApprovalOperator``, whose module, its triggers and asgiref
  cost about 11 ms to import whoever uses it): the baseline of the goal, what our operators, our
  package and its imports add to a DAG of this shape;
* ``sagemaker_xgboost_mnist``: the project's DAG.

Bytecode: by default each file gets one untimed warm-up run that writes ``.pyc`` files under a temporary
``PYTHONPYCACHEPREFIX`` (a dag-processor with a writable cache); ``--no-bytecode`` compiles every module
on every run instead (``PYTHONDONTWRITEBYTECODE=1``: a read-only DAG bundle without cached bytecode).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from docs_section import DOCS, markers, write_section

ROOT = Path(__file__).resolve().parents[1]
DAG_FILE = ROOT / "dags" / "sagemaker_xgboost_mnist.py"
START, END = markers("parse")
SAME_SHAPE = "same shape, stock operators"
#: Goal: the project's DAG parses within this factor of the same shape built from stock operators.
GOAL = 1.2
#: Packages whose import at parse time would be a cost worth flagging.
HEAVY = ("kubernetes", "kubernetes_asyncio", "boto3", "botocore", "numpy", "aiohttp", "jsonschema", "yaml")

TRIVIAL_DAG = """\
from datetime import datetime, timezone

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG(
    dag_id="trivial", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=timezone.utc), catchup=False
):
    EmptyOperator(task_id="start") >> EmptyOperator(task_id="end")
"""

TRIVIAL_WITH_PARAMS_DAG = """\
from datetime import datetime, timezone

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Param

from sagemaker_k8s.config.params import PARAM_SPECS

with DAG(
    dag_id="trivial_with_params",
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    params={name: Param(**spec.param_kwargs()) for name, spec in PARAM_SPECS.items()},
):
    EmptyOperator(task_id="start") >> EmptyOperator(task_id="end")
"""

#: Reads the project DAG's shape (one untimed parse) for the stock-operator rebuild.
SHAPE_CHILD = textwrap.dedent(
    """
    import json, sys
    from airflow.dag_processing.dagbag import DagBag
    from airflow.providers.standard.operators.hitl import ApprovalOperator
    (dag,) = DagBag(dag_folder=sys.argv[1]).dags.values()
    args = {k: v.total_seconds() if k == "retry_delay" else v for k, v in dag.default_args.items()}
    print(json.dumps({
        "schedule": dag.schedule if isinstance(dag.schedule, str) or dag.schedule is None else None,
        "max_active_runs": dag.max_active_runs,
        "default_args": args,
        "tasks": {
            t.task_id: [sorted(t.upstream_task_ids), t.trigger_rule.value, isinstance(t, ApprovalOperator)]
            for t in dag.tasks
        },
    }))
    """
)

SAME_SHAPE_DAG = """\
import json
from datetime import datetime, timedelta, timezone

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import DAG, Param

from sagemaker_k8s.config.params import PARAM_SPECS

SHAPE = json.loads({shape!r})
DOC = {doc!r}
default_args = dict(SHAPE["default_args"])
if "retry_delay" in default_args:
    default_args["retry_delay"] = timedelta(seconds=default_args["retry_delay"])

with DAG(
    dag_id="same_shape",
    doc_md=DOC,
    schedule=SHAPE["schedule"],
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=SHAPE["max_active_runs"],
    default_args=default_args,
    params={{name: Param(**spec.param_kwargs()) for name, spec in PARAM_SPECS.items()}},
):
    tasks = {{
        task_id: (
            ApprovalOperator(task_id=task_id, trigger_rule=rule, subject="Promote?")
            if approval
            else EmptyOperator(task_id=task_id, trigger_rule=rule)
        )
        for task_id, (_, rule, approval) in SHAPE["tasks"].items()
    }}
    for task_id, (upstream, _, _) in SHAPE["tasks"].items():
        for up in upstream:
            tasks[up] >> tasks[task_id]
"""


def same_shape_dag(env: dict[str, str]) -> str:
    """The project DAG's shape as a DAG file of ``EmptyOperator``s (the shape read by one untimed parse)."""
    shape = run_child(SHAPE_CHILD, [str(DAG_FILE)], env, f"reading the shape of {DAG_FILE}")
    doc = DAG_FILE.read_text().split('"""')[1]
    return SAME_SHAPE_DAG.format(shape=shape, doc=doc)


CHILD = textwrap.dedent(
    """
    import json, sys, time
    import airflow
    from airflow.dag_processing.dagbag import DagBag
    before = set(sys.modules)
    started = time.perf_counter()
    bag = DagBag(dag_folder=sys.argv[1])
    seconds = time.perf_counter() - started
    new = set(sys.modules) - before
    (dag,) = bag.dags.values()
    # Airflow's operator metaclass wraps every __init__ in a task's class hierarchy; each wrapper
    # deep-copies the DAG's Params again (airflow.sdk.bases.operator._get_parent_defaults).
    levels = sum(
        sum(1 for c in type(t).__mro__ if hasattr(c.__dict__.get("__init__"), "__wrapped__"))
        for t in dag.tasks
    )
    print(json.dumps({
        "init_levels": levels,
        "seconds": seconds,
        "dags": len(bag.dags),
        "errors": {k: str(v)[-500:] for k, v in bag.import_errors.items()},
        "modules": len(new),
        "packages": sorted({m.split(".")[0] for m in new if not m.startswith("unusual_prefix_")}),
        "heavy_loaded": sorted(m for m in json.loads(sys.argv[2]) if m in sys.modules),
        "heavy_new": sorted(m for m in json.loads(sys.argv[2]) if m in new),
    }))
    """
)


def child_env(home: Path, pycache: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYTHON"))}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(DAG_FILE.parent),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(ROOT / "plugins"),
        AIRFLOW__LOGGING__LOGGING_LEVEL="WARNING",
        SAGEMAKER_K8S_MANIFESTS_DIR=str(ROOT / "include" / "manifests"),
    )
    if pycache is None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    else:
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def run_child(script: str, args: list[str], env: dict[str, str], what: str) -> str:
    """Run ``script`` in a fresh interpreter; its last line of output (or exit with ``what`` failed)."""
    proc = subprocess.run(
        [sys.executable, "-c", script, *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{what} failed (rc {proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc.stdout.strip().splitlines()[-1]


def parse_once(path: Path, env: dict[str, str]) -> dict:
    result = json.loads(run_child(CHILD, [str(path), json.dumps(HEAVY)], env, f"parsing {path}"))
    if result["errors"] or result["dags"] != 1:
        raise SystemExit(f"parsing {path} gave {result['dags']} DAG(s), errors: {result['errors']}")
    return result


def measure(files: dict[str, Path], runs: int, bytecode: bool) -> dict[str, list[dict]]:
    with tempfile.TemporaryDirectory(prefix="bench-parse-") as tmp:
        home = Path(tmp) / "airflow-home"
        home.mkdir()
        env = child_env(home, Path(tmp) / "pycache" if bytecode else None)
        if bytecode:
            for path in files.values():  # untimed: writes the bytecode cache
                parse_once(path, env)
        results: dict[str, list[dict]] = {label: [] for label in files}
        for run in range(runs):
            for label, path in files.items():
                result = parse_once(path, env)
                results[label].append(result)
                print(
                    f"run {run + 1}/{runs} {label:>24}: {result['seconds'] * 1000:7.1f} ms", file=sys.stderr
                )
        return results


def median_ms(samples: list[dict]) -> float:
    return statistics.median(s["seconds"] for s in samples) * 1000


def render(results: dict[str, list[dict]], runs: int, bytecode: bool) -> tuple[str, float]:
    base = median_ms(results["trivial"])
    shape = median_ms(results[SAME_SHAPE])
    rows = []
    for label, samples in results.items():
        times = [s["seconds"] * 1000 for s in samples]
        last = samples[-1]
        packages = ", ".join(p for p in last["packages"] if p != "airflow") or "-"
        rows.append(
            f"| {label} | {median_ms(samples):.1f} | {min(times):.1f} | {max(times):.1f} | "
            f"{median_ms(samples) / base:.1f}x | {median_ms(samples) / shape:.2f}x | {last['init_levels']} | "
            f"{last['modules']} | "
            f"{packages} | "
            f"{', '.join(last['heavy_new']) or '-'} |"
        )
    ratio = median_ms(results["sagemaker_xgboost_mnist"]) / shape
    verdict = "met" if ratio <= GOAL else "NOT met"
    mode = (
        "bytecode cached (one untimed warm-up run per file)"
        if bytecode
        else "no bytecode cache (every module compiled on every run)"
    )
    table = "\n".join(
        [
            f"Median of {runs} fresh interpreters per file, {mode}; "
            "time of `DagBag(dag_folder=<file>)` only.",
            "",
            "| DAG file | median (ms) | min (ms) | max (ms) | vs trivial | vs same shape | "
            "`__init__` levels | modules imported | packages imported (besides airflow) | "
            "heavy packages imported |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
            *rows,
            "",
            f"Ratio to the same shape built from stock operators: {ratio:.2f}x (goal <= {GOAL}x: {verdict}).",
        ]
    )
    return table, ratio


def machine() -> str:
    load = f", 1-min load average {os.getloadavg()[0]:.1f} at start" if hasattr(os, "getloadavg") else ""
    try:
        from importlib.metadata import version

        airflow = f", Airflow {version('apache-airflow')}"
    except Exception:
        airflow = ""
    return (
        f"{os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}{airflow}{load}"
    )


def docs_section(tables: list[str], env: str) -> str:
    today = dt.datetime.now(dt.UTC).date().isoformat()
    return "\n".join(
        [
            START,
            "## DAG parse time",
            "",
            "Time for a fresh dag-processor-like interpreter (`airflow` already imported) to fill a",
            "`DagBag` from one file: `dags/sagemaker_xgboost_mnist.py` against the same shape built from",
            "stock `EmptyOperator`s (same task ids, edges, trigger rules, Params, schedule, default_args,",
            "doc_md; the approval task stays the stock human-in-the-loop `ApprovalOperator` it is built on;",
            "the goal's baseline), and for reference a trivial 2-task DAG with and without this",
            "project's typed Params (Airflow validates every Param with jsonschema when the DAG is built and",
            "deep-copies them into each task).",
            "",
            "`__init__` levels: the `__init__`s in the tasks' class hierarchies, summed over the tasks.",
            "Airflow's operator metaclass wraps each one, and each wrapper deep-copies the DAG's Params",
            "again (`airflow.sdk.bases.operator._get_parent_defaults`): about 0.6 ms per copy of this",
            "DAG's 25 Params. An `EmptyOperator` has one level; an operator with its own `__init__` (ours,",
            "and every provider's) two; a sensor three or four. That, not importing our modules, is most",
            "of the gap to the `EmptyOperator` baseline.",
            "",
            f"Measured {today} on {env}. Generated by `bench/bench_parse.py`; do not edit by hand, rerun",
            "`.venv/bin/python bench/bench_parse.py --write-docs`.",
            "",
            "\n\n".join(tables),
            END,
        ]
    )


def write_docs(section: str, path: Path = DOCS) -> None:
    """Replace the marked section in ``path`` (or append it), leaving every other section alone."""
    write_section("parse", section, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh interpreters per DAG file (default 7)")
    parser.add_argument(
        "--no-bytecode", action="store_true", help="measure only without a bytecode cache (default: both)"
    )
    parser.add_argument(
        "--bytecode-only", action="store_true", help="measure only with a bytecode cache (default: both)"
    )
    parser.add_argument("--write-docs", action="store_true", help=f"update the section in {DOCS}")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be positive")
    if args.no_bytecode and args.bytecode_only:
        parser.error("--no-bytecode and --bytecode-only exclude each other")
    modes = [True, False]
    if args.no_bytecode:
        modes = [False]
    elif args.bytecode_only:
        modes = [True]

    env = machine()
    tables, ratios = [], []
    with tempfile.TemporaryDirectory(prefix="bench-parse-dags-") as tmp:
        files = {
            "trivial": Path(tmp) / "trivial.py",
            "trivial + params": Path(tmp) / "trivial_with_params.py",
            SAME_SHAPE: Path(tmp) / "same_shape.py",
            "sagemaker_xgboost_mnist": DAG_FILE,
        }
        files["trivial"].write_text(TRIVIAL_DAG)
        files["trivial + params"].write_text(TRIVIAL_WITH_PARAMS_DAG)
        home = Path(tmp) / "shape-home"
        home.mkdir()
        files[SAME_SHAPE].write_text(same_shape_dag(child_env(home, None)))
        for bytecode in modes:
            table, ratio = render(measure(files, args.runs, bytecode), args.runs, bytecode)
            tables.append(table)
            ratios.append(ratio)
    print(f"\nMachine: {env}\n")
    print("\n\n".join(tables))
    if args.write_docs:
        write_docs(docs_section(tables, env))
        print(f"\nupdated {DOCS.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
