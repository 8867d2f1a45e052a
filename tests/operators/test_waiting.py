"""How tasks read trigger events (`check_event`) and submit custom resources (`submit_or_reattach`).

`check_event` is pure; `submit_or_reattach` runs against the sandbox's API server through the real
`SageMakerK8sHook`, so the request log shows exactly what reached the server.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from sagemaker_k8s.exceptions import (
    ManifestValidationError,
    OperatorNotReconcilingError,
    SpecMismatchError,
    TerminalStateError,
)
from sagemaker_k8s.hooks.kubernetes import SageMakerK8sHook
from sagemaker_k8s.hooks.retry import Backoff
from sagemaker_k8s.manifests.build import TrainingJobSpec, build_training_job
from sagemaker_k8s.manifests.flavours import LEGACY_HOSTING_DEPLOYMENT, LEGACY_TRAINING_JOB
from sagemaker_k8s.manifests.images import xgboost_image
from sagemaker_k8s.manifests.load import load_template
from sagemaker_k8s.manifests.waiting import (
    DELETED,
    ERROR,
    FAILED,
    NOT_ACKNOWLEDGED,
    OUTCOMES,
    RECONCILING_TIMEOUT,
    SUCCESS,
)
from sagemaker_k8s.operators.submit import submit_or_reattach
from sagemaker_k8s.resource_task.events import check_event
from sandbox.stack import Sandbox
from tests.helpers import wait_for

TJ = LEGACY_TRAINING_JOB
NAME, NAMESPACE = "xgboost-mnist-abc123", "ml"


def event(status: str, **extra) -> dict:
    base = {"status": status, "message": f"{status} happened", "name": NAME, "namespace": NAMESPACE}
    return {**base, "kind": TJ.kind, **extra}


# -- check_event ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(None, id="none"),
        pytest.param("success", id="a-string"),
        pytest.param([event(SUCCESS)], id="a-list"),
        pytest.param({}, id="empty"),
        pytest.param({k: v for k, v in event(SUCCESS).items() if k != "status"}, id="no-status"),
        pytest.param(event("finished"), id="unknown-status"),
        pytest.param(event("SUCCESS"), id="status-case"),
        pytest.param(event(SUCCESS, name="other-job"), id="wrong-name"),
        pytest.param(event(SUCCESS, namespace="default"), id="wrong-namespace"),
        pytest.param(event(SUCCESS, kind="HostingDeployment"), id="wrong-kind"),
        pytest.param({k: v for k, v in event(SUCCESS).items() if k != "kind"}, id="no-kind"),
    ],
)
def test_malformed_or_foreign_events_are_rejected(bad):
    with pytest.raises(AirflowException) as info:
        check_event(bad, TJ, NAME, NAMESPACE)
    assert type(info.value) is AirflowException, "not one of the typed outcomes"
    assert NAME in str(info.value)


@pytest.mark.parametrize(
    ("outcome", "error", "fails_for_good"),
    [
        (FAILED, TerminalStateError, True),
        (RECONCILING_TIMEOUT, TerminalStateError, True),
        (NOT_ACKNOWLEDGED, OperatorNotReconcilingError, True),
        (DELETED, AirflowFailException, True),
        (ERROR, AirflowException, False),
    ],
)
def test_unsuccessful_outcomes_raise(outcome, error, fails_for_good):
    payload = event(outcome, resource_status="Failed", reason="AlgorithmError: boom")
    with pytest.raises(error) as info:
        check_event(payload, TJ, NAME, NAMESPACE)
    assert isinstance(info.value, AirflowFailException) is fails_for_good
    assert str(info.value) == f"{outcome} happened"
    if error is TerminalStateError:
        assert (info.value.status, info.value.reason) == ("Failed", "AlgorithmError: boom")


def test_every_outcome_is_handled():
    handled = {SUCCESS, FAILED, RECONCILING_TIMEOUT, NOT_ACKNOWLEDGED, DELETED, ERROR}
    assert handled == OUTCOMES


@pytest.mark.parametrize(
    ("object_status", "expected"),
    [
        ({"trainingJobStatus": "Completed", "modelPath": "s3://b/m.tar.gz"}, None),
        ({}, {}),
        (None, {}),
    ],
)
def test_success_returns_the_status(object_status, expected):
    payload = event(SUCCESS, object_status=object_status)
    result = check_event(payload, TJ, NAME, NAMESPACE)
    assert result == (object_status if expected is None else expected)
    assert isinstance(result, dict)


def test_success_for_another_flavour_needs_its_kind():
    hosting = event(
        SUCCESS, kind=LEGACY_HOSTING_DEPLOYMENT.kind, object_status={"endpointStatus": "InService"}
    )
    assert check_event(hosting, LEGACY_HOSTING_DEPLOYMENT, NAME, NAMESPACE) == {"endpointStatus": "InService"}
    with pytest.raises(AirflowException):
        check_event(hosting, TJ, NAME, NAMESPACE)


# -- submit_or_reattach against the sandbox ------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Iterator[Sandbox]:
    """One sandbox for this module (overrides the per-test one): each test uses its own CR names."""
    with Sandbox(tmp_path_factory.mktemp("submit") / "sandbox", phase_delay=0.05, poll_interval=0.1) as sb:
        yield sb


@pytest.fixture
def hook(sandbox, sandbox_env) -> SageMakerK8sHook:
    sandbox.kube.clear_requests()
    return SageMakerK8sHook(backoff=Backoff(attempts=3, base=0.01, cap=0.05))


def training_job(sandbox, name: str, **overrides) -> dict:
    """A valid TrainingJob CR (the ``hang`` fault keeps the operator emulator from training)."""
    info = sandbox.info
    values = {
        "cr_name": name,
        "namespace": info.namespace,
        "job_name": name,
        "region": info.region,
        "role_arn": info.execution_role_arn,
        "image": xgboost_image(info.region),
        "bucket": info.bucket,
        "prefix": "xgboost",
        "instance_type": "ml.m4.xlarge",
        "instance_count": 1,
        "volume_size_gb": 5,
        "max_runtime_seconds": 3600,
        "hyperparameters": {"num_round": 10},
        "annotations": {"sandbox.sagemaker.local/fault": "hang"},
    } | overrides
    return build_training_job(load_template("trainingjob.yaml"), TrainingJobSpec(**values))


def writes(sandbox) -> list[tuple[str, str]]:
    """The hook's write requests (POST/PUT/PATCH/DELETE) to TrainingJobs, excluding the operator's
    status updates and finalizer bookkeeping (PUT)."""
    return [
        (r.method, r.path)
        for r in sandbox.kube.requests
        if r.method in ("POST", "PATCH", "DELETE") and f"/{TJ.plural}" in r.path
    ]


def test_first_call_creates_then_identical_call_reattaches(sandbox, hook):
    body = training_job(sandbox, "submit-once")
    created, reattached = submit_or_reattach(hook, TJ, body)
    assert reattached is False
    assert created["metadata"]["name"] == "submit-once" and created["metadata"]["uid"]
    assert writes(sandbox) == [("POST", f"/apis/{TJ.group}/{TJ.version}/namespaces/default/{TJ.plural}")]

    # A retry of the task: the same manifest again, once the operator has added status and finalizer.
    wait_for(
        lambda: (sandbox.kube.get(TJ.api_version, TJ.plural, "submit-once", namespace="default") or {}).get(
            "status"
        ),
        timeout=30,
        what="the operator to acknowledge the CR",
    )
    existing, reattached = submit_or_reattach(hook, TJ, training_job(sandbox, "submit-once"))
    assert reattached is True
    assert existing["metadata"]["uid"] == created["metadata"]["uid"]
    assert len(writes(sandbox)) == 1, "nothing new was created"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"instance_type": "ml.m5.large"}, "spec.resourceConfig.instanceType"),
        ({"instance_count": 2}, "spec.resourceConfig.instanceCount"),
        ({"hyperparameters": {"num_round": 20}}, "spec.hyperParameters"),
        ({"prefix": "other"}, "spec.inputDataConfig"),
    ],
)
def test_changed_spec_is_refused_with_the_differences(sandbox, hook, change, field):
    name = "submit-change-" + re.sub(r"[^a-z0-9]+", "-", next(iter(change)).lower())
    submit_or_reattach(hook, TJ, training_job(sandbox, name))
    with pytest.raises(SpecMismatchError) as info:
        submit_or_reattach(hook, TJ, training_job(sandbox, name, **change))
    error = info.value
    assert isinstance(error, AirflowFailException)
    assert error.differences and all(d.startswith("spec.") for d in error.differences)
    assert any(d.startswith(field) for d in error.differences), error.differences
    assert f"default/{name} already exists with a different spec" in str(error)
    assert f"kubectl delete {TJ.plural}.{TJ.group} {name} -n default" in str(error)
    assert len(writes(sandbox)) == 1, "only the first call created anything"


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("resourceConfig", "instanceCount"), 0, "spec.resourceConfig.instanceCount"),
        (("resourceConfig", "volumeSizeInGB"), "5", "spec.resourceConfig.volumeSizeInGB"),
        (("roleArn",), None, "spec.roleArn"),
        (("unknownField",), "x", "spec.unknownField"),
    ],
)
def test_invalid_body_is_refused_before_any_request(sandbox, hook, path, value, field):
    body = training_job(sandbox, "submit-invalid")
    parent = body["spec"]
    for key in path[:-1]:
        parent = parent[key]
    if value is None:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    with pytest.raises(ManifestValidationError) as info:
        submit_or_reattach(hook, TJ, body)
    assert any(e.path == field for e in info.value.errors), info.value.errors
    assert field in str(info.value)
    assert not [r for r in sandbox.kube.requests if r.method == "POST"], "no POST reached the API"
    assert not [r for r in sandbox.kube.requests if "submit-invalid" in r.path], "not even a GET"
