"""`SageMakerK8sHook` / `AsyncSageMakerK8sHook` against the sandbox's Kubernetes API emulator over HTTP.

Everything goes through the ``kubernetes_default`` connection the sandbox's env defines; faults are
injected on the server (``sandbox.kube.faults``), never by patching the client.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator

import pytest
from airflow.sdk.exceptions import AirflowFailException

from sagemaker_k8s.constants import (
    OPERATOR_DEPLOYMENT,
    OPERATOR_NAMESPACE,
    OPERATOR_SERVICE_ACCOUNT,
    ROLE_ARN_ANNOTATION,
)
from sagemaker_k8s.exceptions import (
    KubeConflict,
    KubeInvalid,
    KubeNotFound,
    KubeTransientError,
)
from sagemaker_k8s.hooks.kubernetes import AsyncSageMakerK8sHook, SageMakerK8sHook
from sagemaker_k8s.hooks.retry import Backoff
from sagemaker_k8s.manifests.build import TrainingJobSpec, build_training_job
from sagemaker_k8s.manifests.flavours import LEGACY_TRAINING_JOB as TJ
from sagemaker_k8s.manifests.images import xgboost_image
from sagemaker_k8s.manifests.load import load_template
from sandbox.stack import Sandbox
from tests.helpers import wait_for

FAST = Backoff(attempts=4, base=0.01, cap=0.05)
FAULT_ANNOTATION = "sandbox.sagemaker.local/fault"


def training_job(sandbox, name: str, *, fault: str = "hang") -> dict:
    """A valid TrainingJob CR; the ``hang`` fault keeps the operator emulator from training for real."""
    info = sandbox.info
    spec = TrainingJobSpec(
        cr_name=name,
        namespace=info.namespace,
        job_name=name,
        region=info.region,
        role_arn=info.execution_role_arn,
        image=xgboost_image(info.region),
        bucket=info.bucket,
        prefix="xgboost",
        instance_type="ml.m4.xlarge",
        instance_count=1,
        volume_size_gb=5,
        max_runtime_seconds=3600,
        annotations={FAULT_ANNOTATION: fault},
    )
    return build_training_job(load_template("trainingjob.yaml"), spec)


def item_path(name: str) -> str:
    return rf"/{TJ.plural}/{name}$"


def requests_to(sandbox, method: str | None, path_regex: str) -> list[int | None]:
    """Statuses of the HTTP requests to matching paths (the operator emulator only LISTs and PUTs)."""
    return [
        r.status
        for r in sandbox.kube.requests
        if (method is None or r.method == method) and re.search(path_regex, r.path)
    ]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Iterator[Sandbox]:
    """One sandbox for this module (overrides the per-test one): nothing here misconfigures it, each
    test uses its own object names, and `clean_slate` drops faults and the request log in between."""
    with Sandbox(tmp_path_factory.mktemp("kube-hook") / "sandbox", phase_delay=0.05, poll_interval=0.1) as sb:
        yield sb


@pytest.fixture(autouse=True)
def clean_slate(sandbox) -> Iterator[None]:
    sandbox.kube.clear_requests()
    yield
    sandbox.kube.faults.clear()


@pytest.fixture
def hook(sandbox_env) -> SageMakerK8sHook:
    return SageMakerK8sHook(backoff=FAST)


@pytest.fixture
def existing(sandbox, hook) -> dict:
    """A TrainingJob created in-process (no HTTP request, so it is invisible to the request log)."""
    return sandbox.kube.apply(training_job(sandbox, "existing"))


# -- custom objects ------------------------------------------------------------------------------


def test_create_get_find_delete_round_trip(sandbox, hook):
    namespace = sandbox.info.namespace

    created = hook.create(TJ, training_job(sandbox, "roundtrip"), namespace)
    assert created["metadata"]["name"] == "roundtrip" and created["metadata"]["uid"]
    fetched = hook.get(TJ, "roundtrip", namespace)
    assert fetched["metadata"]["uid"] == created["metadata"]["uid"]
    assert fetched["spec"]["resourceConfig"]["instanceCount"] == 1
    assert hook.find(TJ, "roundtrip", namespace)["metadata"]["uid"] == created["metadata"]["uid"]

    assert hook.delete(TJ, "roundtrip", namespace) is True
    # The operator's finalizer stops the job first; the object is gone once it lets go.
    wait_for(lambda: hook.find(TJ, "roundtrip", namespace) is None, timeout=30, what="CR deletion")
    assert hook.delete(TJ, "roundtrip", namespace) is False


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        pytest.param(lambda h, ns: h.get(TJ, "missing", ns), KubeNotFound, id="get-raises"),
        pytest.param(lambda h, ns: h.find(TJ, "missing", ns), None, id="find-none"),
        pytest.param(lambda h, ns: h.delete(TJ, "missing", ns), False, id="delete-false"),
        pytest.param(lambda h, ns: h.get(TJ, "missing", "no-such-namespace"), KubeNotFound, id="get-no-ns"),
    ],
)
def test_not_found(sandbox, hook, call, expected):
    namespace = sandbox.info.namespace
    if isinstance(expected, type):
        with pytest.raises(expected) as info:
            call(hook, namespace)
        assert info.value.status == 404
        assert not isinstance(info.value, AirflowFailException)
    else:
        assert call(hook, namespace) is expected
    assert requests_to(sandbox, None, "/missing$") == [404], "a 404 is not retried"


def test_create_twice_is_a_conflict(sandbox, hook):
    body = training_job(sandbox, "twice")
    hook.create(TJ, body, sandbox.info.namespace)
    with pytest.raises(KubeConflict) as info:
        hook.create(TJ, body, sandbox.info.namespace)
    assert info.value.status == 409
    assert info.value.already_exists
    assert "twice" in str(info.value)
    assert requests_to(sandbox, "POST", rf"/{TJ.plural}$") == [201, 409], "a 409 is not retried"


@pytest.mark.parametrize(
    ("section", "field", "value"),
    [
        ("resourceConfig", "instanceCount", 0),
        ("resourceConfig", "instanceType", ""),
        ("stoppingCondition", "maxRuntimeInSeconds", "a day"),
    ],
)
def test_invalid_custom_resource(sandbox, hook, section, field, value):
    body = training_job(sandbox, "invalid")
    body["spec"][section][field] = value
    with pytest.raises(KubeInvalid) as info:
        hook.create(TJ, body, sandbox.info.namespace)
    error = info.value
    assert error.status == 422
    assert isinstance(error, AirflowFailException), "a rejected manifest is not retried"
    assert any(f"spec.{section}.{field}" in str(c.get("field")) for c in error.causes), error.causes
    assert f"{section}.{field}" in str(error)
    assert hook.find(TJ, "invalid", sandbox.info.namespace) is None


# -- cluster facts -------------------------------------------------------------------------------


def test_crd_names(hook):
    names = hook.crd_names()
    assert {"trainingjobs.sagemaker.aws.amazon.com", "hostingdeployments.sagemaker.aws.amazon.com"} <= names


def test_service_account(sandbox, hook):
    sa = hook.service_account(OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT)
    assert sa["metadata"]["name"] == OPERATOR_SERVICE_ACCOUNT
    assert sa["metadata"]["annotations"][ROLE_ARN_ANNOTATION] == sandbox.info.operator_role_arn
    assert hook.service_account(OPERATOR_NAMESPACE, "nobody") is None


def test_pods(hook):
    pods = wait_for(
        lambda: hook.pods(OPERATOR_NAMESPACE, "control-plane=controller-manager"),
        timeout=15,
        what="the operator's pod",
    )
    assert len(pods) == 1
    assert pods[0]["metadata"]["labels"]["control-plane"] == "controller-manager"
    assert pods[0]["status"]["phase"] == "Running"
    assert hook.pods(OPERATOR_NAMESPACE, "control-plane=nothing-here") == []
    assert hook.pods("no-such-namespace", "control-plane=controller-manager") == []


def test_deployment(hook):
    deployment = hook.deployment(OPERATOR_NAMESPACE, OPERATOR_DEPLOYMENT)
    assert deployment["metadata"]["name"] == OPERATOR_DEPLOYMENT
    assert deployment["spec"]["replicas"] == 1
    assert hook.deployment(OPERATOR_NAMESPACE, "no-such-deployment") is None


# -- transient errors ----------------------------------------------------------------------------

CALLS = {
    "get": (lambda h, sb: h.get(TJ, "existing", sb.info.namespace), item_path("existing")),
    "find": (lambda h, sb: h.find(TJ, "existing", sb.info.namespace), item_path("existing")),
    "crd_names": (lambda h, sb: h.crd_names(), r"/customresourcedefinitions$"),
    "service_account": (
        lambda h, sb: h.service_account(OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT),
        rf"/serviceaccounts/{OPERATOR_SERVICE_ACCOUNT}$",
    ),
    "deployment": (
        lambda h, sb: h.deployment(OPERATOR_NAMESPACE, OPERATOR_DEPLOYMENT),
        rf"/deployments/{OPERATOR_DEPLOYMENT}$",
    ),
}


@pytest.mark.parametrize(
    ("call", "status"),
    [
        ("get", 503),
        ("get", 500),
        ("get", 504),
        ("find", 502),
        ("crd_names", 503),
        ("service_account", 503),
        ("deployment", 429),
    ],
)
def test_transient_errors_are_retried(sandbox, hook, existing, call, status):
    fn, path = CALLS[call]
    rule = sandbox.kube.faults.add(method="GET", path_regex=path, status=status, count=2)
    assert fn(hook, sandbox)
    assert sandbox.kube.faults.hits(rule) == 2


def test_create_is_retried_on_503_without_creating_twice(sandbox, hook):
    rule = sandbox.kube.faults.add(method="POST", path_regex=rf"/{TJ.plural}$", status=503, count=2)
    created = hook.create(TJ, training_job(sandbox, "retried"), sandbox.info.namespace)
    assert created["metadata"]["name"] == "retried"
    assert sandbox.kube.faults.hits(rule) == 2
    assert requests_to(sandbox, "POST", rf"/{TJ.plural}$") == [503, 503, 201]


def test_retry_after_is_honoured(sandbox, hook, existing):
    # The emulator sends whole seconds (Retry-After: 1); the backoff alone would wait <= 0.05 s.
    rule = sandbox.kube.faults.add(
        method="GET", path_regex=item_path("existing"), status=429, count=1, retry_after=1
    )
    started = time.monotonic()
    assert hook.get(TJ, "existing", sandbox.info.namespace)["metadata"]["name"] == "existing"
    assert sandbox.kube.faults.hits(rule) == 1
    assert time.monotonic() - started >= 1.0


@pytest.mark.parametrize(("status", "attempts"), [(503, 2), (429, 3), (500, 4)])
def test_more_failures_than_attempts_give_up(sandbox, sandbox_env, existing, status, attempts):
    hook = SageMakerK8sHook(backoff=Backoff(attempts=attempts, base=0.01, cap=0.05))
    rule = sandbox.kube.faults.add(method="GET", path_regex=item_path("existing"), status=status)
    with pytest.raises(KubeTransientError) as info:
        hook.get(TJ, "existing", sandbox.info.namespace)
    assert info.value.status == status
    assert not isinstance(info.value, AirflowFailException), "transient: Airflow may retry the task"
    assert sandbox.kube.faults.hits(rule) == attempts


def test_latency_fault_still_succeeds(sandbox, hook, existing):
    rule = sandbox.kube.faults.add(
        method="GET", path_regex=item_path("existing"), status=None, delay_seconds=0.3, count=1
    )
    started = time.monotonic()
    assert hook.get(TJ, "existing", sandbox.info.namespace)["metadata"]["name"] == "existing"
    assert time.monotonic() - started >= 0.3
    assert sandbox.kube.faults.hits(rule) == 1
    assert requests_to(sandbox, "GET", item_path("existing")) == [200]


# -- async hook ----------------------------------------------------------------------------------


def run_async_get(name: str, namespace: str, backoff: Backoff = FAST) -> dict:
    return asyncio.run(AsyncSageMakerK8sHook(backoff=backoff).get(TJ, name, namespace))


def test_async_get(sandbox, sandbox_env, existing):
    obj = run_async_get("existing", sandbox.info.namespace)
    assert obj["metadata"]["uid"] == existing["metadata"]["uid"]
    assert obj["spec"]["trainingJobName"] == "existing"


@pytest.mark.parametrize("namespace", ["default", "no-such-namespace"])
def test_async_not_found(sandbox, sandbox_env, namespace):
    with pytest.raises(KubeNotFound) as info:
        run_async_get("missing", namespace)
    assert info.value.status == 404
    assert requests_to(sandbox, "GET", "/missing$") == [404]


@pytest.mark.parametrize("status", [503, 429])
def test_async_transient_errors_are_retried(sandbox, sandbox_env, existing, status):
    rule = sandbox.kube.faults.add(method="GET", path_regex=item_path("existing"), status=status, count=2)
    assert run_async_get("existing", sandbox.info.namespace)["metadata"]["name"] == "existing"
    assert sandbox.kube.faults.hits(rule) == 2


def test_async_more_failures_than_attempts_give_up(sandbox, sandbox_env, existing):
    rule = sandbox.kube.faults.add(method="GET", path_regex=item_path("existing"), status=503)
    with pytest.raises(KubeTransientError) as info:
        run_async_get("existing", sandbox.info.namespace, Backoff(attempts=3, base=0.01, cap=0.05))
    assert info.value.status == 503
    assert sandbox.kube.faults.hits(rule) == 3


def test_async_latency_fault_still_succeeds(sandbox, sandbox_env, existing):
    rule = sandbox.kube.faults.add(
        method="GET", path_regex=item_path("existing"), status=None, delay_seconds=0.3, count=1
    )
    started = time.monotonic()
    assert run_async_get("existing", sandbox.info.namespace)["metadata"]["name"] == "existing"
    assert time.monotonic() - started >= 0.3
    assert sandbox.kube.faults.hits(rule) == 1
