"""DAG integrity: the DagBag parses ``dags/`` cleanly, the DAG has the agreed shape, its Params
reject bad values, and parsing it stays cheap (checked in fresh interpreters)."""

from __future__ import annotations

import copy
import itertools
import json
import os
import subprocess
import sys
import textwrap
from datetime import UTC, timedelta
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk.exceptions import ParamValidationError

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "dags"
PLUGINS = ROOT / "plugins"
DAG_ID = "sagemaker_xgboost_mnist"
DAG_FILE = DAGS / f"{DAG_ID}.py"
#: The promotion path, each task downstream of the one before.
TASKS = [
    "resolve_config",
    "check_iam_oidc",
    "upload_dataset",
    "choose_training",
    "submit_training",
    "wait_training",
    "batch_score",
    "evaluate_challenger",
    "approve_promotion",
    "promote_endpoint",
    "smoke_test_endpoint",
    "record_champion",
    "retain_training_jobs",
]
#: Off the promotion path: the gate's other branch, and the rollback when promoting failed.
KEEP, ROLLBACK = "keep_champion", "rollback_endpoint"
#: Runs after the wait whatever its outcome; the run's state still comes from the main chain.
CLEANUP = "cleanup_training"
#: The other side of ``choose_training``: tune instead of training once, with its own cleanup.
TUNING = ["submit_tuning", "wait_tuning"]
TUNING_CLEANUP = "cleanup_tuning"
#: Importing any of these while parsing the DAG file would make every parse pay for it.
MUST_NOT_IMPORT = ("kubernetes", "kubernetes_asyncio", "boto3", "botocore", "numpy", "aiohttp", "moto")


@pytest.fixture(scope="module")
def dagbag() -> DagBag:
    return DagBag(dag_folder=str(DAGS))


@pytest.fixture(scope="module")
def dag(dagbag):
    return dagbag.dags[DAG_ID]


# -- fresh interpreters, started together (each pays Airflow's import, ~4 s, once) --------------------

PROBE = textwrap.dedent(
    """
    import json, os, sys
    import airflow  # settings: the configured plugins folder goes on sys.path
    from airflow.dag_processing.dagbag import DagBag
    dag_file, plugins_root, overrides = sys.argv[1], sys.argv[2], sys.argv[3:]
    if overrides:  # a fresh import of the file per value of the environment variable
        schedules = {}
        for value in overrides:
            os.environ["SAGEMAKER_K8S_RETRAIN_SCHEDULE"] = value
            bag = DagBag(dag_folder=dag_file)
            assert not bag.import_errors, bag.import_errors
            schedules[value] = [d.schedule for d in bag.dags.values()]
        print(json.dumps({"schedules": schedules}))
        raise SystemExit(0)
    before = set(sys.modules)
    bag = DagBag(dag_folder=dag_file)
    parsed = set(sys.modules)
    from airflow import plugins_manager
    plugins_manager.ensure_plugins_loaded()
    import kubernetes
    print(json.dumps({
        "errors": {k: str(v) for k, v in bag.import_errors.items()},
        "schedules": {"": [d.schedule for d in bag.dags.values()]},
        "airflow_imported": sorted(m for m in before if "." not in m),
        "parse_imported": sorted(m for m in parsed - before if "." not in m),
        "package_modules": sorted(m for m in parsed - before if m.startswith("sagemaker_k8s")),
        "plugin_errors": plugins_manager.get_import_errors(),
        "kubernetes_file": kubernetes.__file__,
        "kubernetes_has_client": hasattr(kubernetes, "client"),
        "from_plugins": sorted(
            name for name, module in list(sys.modules.items())
            if (getattr(module, "__file__", None) or "").startswith(plugins_root)
        ),
    }))
    """
)
SCHEDULE_OVERRIDES = ["@daily", "none", "None", "0 3 * * 1"]


@pytest.fixture(scope="module")
def probes() -> dict[str, dict]:
    """Two fresh interpreters, run at once: one parses the DAG as the dag-processor would (and loads
    the plugins), the other re-imports the file under each SAGEMAKER_K8S_RETRAIN_SCHEDULE value."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SAGEMAKER_K8S_RETRAIN_SCHEDULE")}
    argv = [sys.executable, "-c", PROBE, str(DAG_FILE), str(PLUGINS) + os.sep]
    running = {
        name: subprocess.Popen(
            argv + extra, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for name, extra in (("default", []), ("overrides", SCHEDULE_OVERRIDES))
    }
    results = {}
    for name, proc in running.items():
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"{name}: rc {proc.returncode}\n{err[-3000:]}"
        results[name] = json.loads(out.strip().splitlines()[-1])
    return results


# -- parsing -------------------------------------------------------------------------------------


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert dagbag.dags, "no DAG found"


def test_exactly_one_dag_per_file(dagbag):
    files = sorted(p for p in DAGS.glob("*.py") if not p.name.startswith("_"))
    by_file: dict[str, list[str]] = {}
    for dag_id, dag in dagbag.dags.items():
        by_file.setdefault(str(Path(dag.fileloc).resolve()), []).append(dag_id)
    assert by_file == {str(f.resolve()): [f.stem] for f in files}, "one DAG per file, named after it"


def test_dag_settings(dag):
    assert dag.doc_md and dag.doc_md.lstrip().startswith("# ")
    assert "SAGEMAKER_K8S_RETRAIN_SCHEDULE" in dag.doc_md
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert dag.schedule == "@weekly"
    assert dag.start_date.utcoffset() == timedelta(0)
    assert str(dag.start_date.tzinfo) == "UTC"
    assert dag.tags and dag.owner == "ml-platform"


def test_start_date_is_static(dag):
    again = DagBag(dag_folder=str(DAG_FILE)).dags[DAG_ID]
    assert again.start_date == dag.start_date
    assert (dag.start_date.hour, dag.start_date.minute, dag.start_date.second) == (0, 0, 0)
    assert dag.start_date.microsecond == 0


def test_tasks_in_dependency_order(dag):
    assert sorted(dag.task_ids) == sorted([*TASKS, KEEP, ROLLBACK, CLEANUP, *TUNING, TUNING_CLEANUP])
    for upstream, downstream in itertools.pairwise(TASKS):
        assert upstream in dag.get_task(downstream).upstream_task_ids, f"{upstream} >> {downstream}"
    assert dag.get_task("resolve_config").upstream_task_ids == set()
    order = [t.task_id for t in dag.topological_sort()]
    assert [t for t in order if t in TASKS] == TASKS


def test_training_is_a_branch_between_training_once_and_tuning_that_joins_at_batch_scoring(dag):
    from airflow.sdk.bases.branch import BranchMixIn

    mode = dag.get_task("choose_training")
    assert isinstance(mode, BranchMixIn)
    assert mode.downstream_task_ids == {"submit_training", "submit_tuning"}
    assert dag.get_task("wait_tuning").upstream_task_ids == {"submit_tuning"}
    assert dag.get_task(TUNING_CLEANUP).upstream_task_ids == {"wait_tuning"}
    assert dag.get_task(TUNING_CLEANUP).trigger_rule == "all_done"
    # Only one wait runs: the join must not be skipped because the other one was.
    for task_id in ("batch_score", "evaluate_challenger"):
        task = dag.get_task(task_id)
        assert task.trigger_rule == "none_failed_min_one_success", task_id
    assert {"wait_training", "wait_tuning"} <= dag.get_task("batch_score").upstream_task_ids
    # batch_score skips itself with batch_scoring off; the gate then still runs (resolve_config succeeded).
    assert {"batch_score", "resolve_config"} <= dag.get_task("evaluate_challenger").upstream_task_ids


def test_the_gate_is_a_branch_between_promotion_and_keeping_the_champion(dag):
    from airflow.providers.standard.operators.hitl import ApprovalOperator
    from airflow.sdk.bases.branch import BranchMixIn

    gate = dag.get_task("evaluate_challenger")
    assert isinstance(gate, BranchMixIn)
    assert gate.downstream_task_ids == {"approve_promotion", KEEP}
    assert {gate.promote_task_id, gate.keep_task_id} == {"approve_promotion", KEEP}
    assert isinstance(dag.get_task("approve_promotion"), ApprovalOperator)
    assert dag.get_task("approve_promotion").defaults == ["Reject"]  # no answer keeps the champion
    # The branch skips every direct downstream task it does not choose: the promotion itself must not be one.
    for task_id in ("promote_endpoint", "smoke_test_endpoint", "record_champion", ROLLBACK):
        assert "evaluate_challenger" not in dag.get_task(task_id).upstream_task_ids, task_id


def test_rollback_runs_only_when_the_promotion_failed_and_retention_after_either_branch(dag):
    rollback = dag.get_task(ROLLBACK)
    assert "smoke_test_endpoint" in rollback.upstream_task_ids and rollback.downstream_task_ids == set()
    assert rollback.trigger_rule == "one_failed"
    retain = dag.get_task("retain_training_jobs")
    assert {"record_champion", KEEP} <= retain.upstream_task_ids
    assert retain.trigger_rule == "none_failed_min_one_success"


def test_assets(dag):
    def names(task_id):
        return sorted(a.name for a in dag.get_task(task_id).outlets)

    assert names("upload_dataset") == [f"{DAG_ID}.dataset"]
    assert names("record_champion") == [f"{DAG_ID}.endpoint", f"{DAG_ID}.model"]
    assert all(not t.outlets for t in dag.tasks if t.task_id not in ("upload_dataset", "record_champion"))


def test_cleanup_follows_the_wait_whatever_its_outcome(dag):
    cleanup = dag.get_task(CLEANUP)
    assert cleanup.upstream_task_ids == {"wait_training"}
    assert cleanup.downstream_task_ids == set()
    assert cleanup.trigger_rule == "all_done"
    assert (cleanup.submit_task_id, cleanup.wait_task_id) == ("submit_training", "wait_training")
    # a plain task, not a teardown: clearing the wait must not clear (and re-run) the submit
    assert not cleanup.is_teardown
    assert dag.get_task("submit_training").is_setup is False


def test_retries(dag):
    retries = {t.task_id: t.retries for t in dag.tasks}
    assert retries.pop("check_iam_oidc") == 0, "a misconfiguration does not fix itself"
    assert retries and all(r >= 1 for r in retries.values()), retries
    # Exponential: since Airflow 3 retry_exponential_backoff is the multiplier, so True (== 1) would
    # be a constant delay.
    backoff = {t.task_id: t.retry_exponential_backoff for t in dag.tasks}
    assert all(b == 2.0 and not isinstance(b, bool) for b in backoff.values()), backoff
    assert {t.retry_delay for t in dag.tasks} == {timedelta(seconds=30)}


def test_training_sensor_is_deferrable_by_default(dag):
    from sagemaker_k8s.sensors.training import SageMakerK8sTrainingSensor

    wait = dag.get_task("wait_training")
    assert isinstance(wait, SageMakerK8sTrainingSensor)
    assert wait.deferrable is True
    assert SageMakerK8sTrainingSensor(task_id="t", training={}).deferrable is True


def test_every_param_is_described_and_typed(dag):
    assert len(dag.params) >= 10
    for name in dag.params:
        param = dag.params.get_param(name)
        assert param.description and param.description.strip(), name
        assert param.schema.get("type"), name


def test_default_params_validate(dag):
    values = copy.deepcopy(dag.params).validate()
    assert values["instance_type"].startswith("ml.")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("instance_type", "m5.huge"),
        ("hosting_instance_type", "ml.p5.giant"),
        ("hyperparameters", {"num_round": 0}),
        ("hyperparameters", {"num_round": "ten"}),
        ("instance_count", 0),
        ("max_runtime_seconds", -1),
        ("smoke_test_rows", "200"),
        ("region", "us-west-2\nus-east-1"),
        ("region", "us west 2"),
        ("bucket", "Bad_Bucket"),
        ("namespace", "ml\nkind: Secret"),
        ("execution_role_arn", "arn:aws:iam::123:role/x"),
        ("endpoint_name", "{{ dag_run.conf }}"),
        ("region", "us-west-2\n"),
        ("bucket", "my-bucket\n"),
    ],
)
def test_bad_param_values_fail_validation(dag, name, value):
    params = copy.deepcopy(dag.params)
    if isinstance(value, dict):  # an override of one key inside an object param
        value = {**params[name], **value}
    with pytest.raises(ParamValidationError, match=rf"\bparam {name}\b"):
        params.update({name: value})
        params.validate()


# -- fresh interpreters ----------------------------------------------------------------------------


def test_default_schedule_in_a_fresh_interpreter(probes):
    assert probes["default"]["errors"] == {}
    assert probes["default"]["schedules"] == {"": ["@weekly"]}


@pytest.mark.parametrize(
    ("value", "expected"), [("@daily", "@daily"), ("none", None), ("None", None), ("0 3 * * 1", "0 3 * * 1")]
)
def test_schedule_env_override(probes, value, expected):
    assert probes["overrides"]["schedules"][value] == [expected]


def test_parsing_imports_nothing_expensive(probes):
    result = probes["default"]
    heavy = sorted(set(MUST_NOT_IMPORT) & set(result["parse_imported"]))
    assert heavy == [], f"parsing the DAG imported {heavy}"
    # Airflow itself already imports these before any DAG is parsed; they cost the DAG nothing.
    assert {"jsonschema", "yaml"} <= set(result["airflow_imported"])
    # asgiref: Airflow's own human-in-the-loop operator (approve_promotion subclasses it) imports it.
    assert set(result["parse_imported"]) <= {"sagemaker_k8s", "airflow", "asgiref"} | {
        m for m in result["parse_imported"] if m.startswith("unusual_prefix_")
    }, result["parse_imported"]
    # Of our package, only the operator classes and the Param specs are needed to build the DAG.
    deferred = ("hooks", "triggers", "manifests", "dataset", "aws", "run_config", "exceptions", "waiting")
    loaded = [m for m in result["package_modules"] if m.split(".")[1:2] and m.split(".")[1] in deferred]
    assert loaded == [], f"imported at parse time although only needed when tasks run: {loaded}"


def test_plugin_loader_does_not_shadow_client_packages(probes):
    result = probes["default"]
    assert result["plugin_errors"] == {}
    assert result["kubernetes_has_client"] is True
    assert "site-packages" in result["kubernetes_file"]
    assert (PLUGINS / ".airflowignore").is_file()
    outside_package = [m for m in result["from_plugins"] if m.split(".")[0] != "sagemaker_k8s"]
    assert outside_package == [], "plugin files imported as top-level modules"


# -- the retraining schedule's next run times --------------------------------------------------------------


def test_weekly_retraining_runs_every_sunday_at_midnight_utc(dag):
    from datetime import datetime

    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.timetables.base import TimeRestriction

    timetable = coerce_to_core_timetable(dag.timetable)  # what the scheduler evaluates
    restriction = TimeRestriction(earliest=dag.start_date, latest=None, catchup=dag.catchup)
    now = datetime.now(UTC)
    first = timetable.next_dagrun_info(last_automated_data_interval=None, restriction=restriction)
    # catchup off: on unpause only the most recent Sunday 00:00 UTC runs, none of the weeks before it
    assert first.run_after <= now < first.run_after + timedelta(days=7)
    times, info = [], first
    for _ in range(5):
        times.append(info.run_after)
        info = timetable.next_dagrun_info(
            last_automated_data_interval=info.data_interval, restriction=restriction
        )
    assert all(t.weekday() == 6 and (t.hour, t.minute, t.second) == (0, 0, 0) for t in times), times
    assert [b - a for a, b in itertools.pairwise(times)] == [timedelta(days=7)] * 4


@pytest.mark.parametrize(
    ("env", "poll", "reconciling"),
    [
        ({}, 30.0, 600.0),
        ({"SAGEMAKER_K8S_POLL_INTERVAL": "7", "SAGEMAKER_K8S_RECONCILING_TIMEOUT": "42"}, 7.0, 42.0),
    ],
)
def test_wait_timings_come_from_the_environment(monkeypatch, env, poll, reconciling):
    for key in ("SAGEMAKER_K8S_POLL_INTERVAL", "SAGEMAKER_K8S_RECONCILING_TIMEOUT"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    dag = DagBag(dag_folder=str(DAG_FILE)).dags[DAG_ID]
    assert (
        dag.get_task("wait_training").poke_interval,
        dag.get_task("wait_training").reconciling_timeout,
    ) == (
        poll,
        reconciling,
    )
    for task_id in ("promote_endpoint", "rollback_endpoint"):
        task = dag.get_task(task_id)
        assert (task.poll_interval, task.reconciling_timeout) == (poll, reconciling), task_id


def test_the_readme_asset_consumer_parses_and_is_scheduled_on_the_model(tmp_path):
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("A DAG that runs whenever a new") :]
    code = section[
        section.index("```python") + len("```python") : section.index("```", section.index("```python") + 9)
    ]
    (tmp_path / "on_new_model.py").write_text(code)
    bag = DagBag(dag_folder=str(tmp_path))
    assert bag.import_errors == {}
    consumer = bag.dags["on_new_model"]
    produced = {a.name for t in DagBag(dag_folder=str(DAG_FILE)).dags[DAG_ID].tasks for a in t.outlets}
    consumed = {asset.name for asset in consumer.timetable.asset_condition.objects}
    assert consumed == {f"{DAG_ID}.model"} and consumed <= produced
