"""Spec updates of a live HostingDeployment (notes A.5), as the legacy controller does them, against one
sandbox for the module and two really trained models: a spec change raises metadata.generation, which
makes a new generation of child Model/EndpointConfig CRs and an UpdateEndpoint; the old generation is
deleted once SageMaker serves the new config. A failed update (SageMaker rolls back to the old config)
is retried on every pass until the fault is gone; edits made while the endpoint is not InService wait."""

from __future__ import annotations

import pytest

from tests.helpers import wait_for
from tests.sandbox.operator.operator_helpers import (
    FAULT_ANNOTATION,
    QUICK_HYPERPARAMETERS,
    StatusHistory,
    aws,
    hosting_cr,
    status_of,
)
from tests.sandbox.operator.operator_hosting_helpers import (
    HD,
    STATUS,
    children,
    delete_hd,
    invoke,
    live,
    local_predictions,
    patch_spec,
    train_all,
    uid_hex,
    wait_children,
    wait_sagemaker_gone,
    with_model,
)

REASON = (
    "The primary container for production variant AllTraffic did not pass the ping health check (injected)"
)


@pytest.fixture(scope="module")
def models(shared_sandbox, shared_data) -> dict[str, str]:
    """Two different models: "a" (4 trees of depth 4) and "b" (1 stump)."""
    jobs = {"model-a": QUICK_HYPERPARAMETERS, "model-b": {"max_depth": "1", "num_round": "1"}}
    paths = train_all(shared_sandbox, shared_data, jobs)
    return {"a": paths["model-a"], "b": paths["model-b"]}


@pytest.fixture(scope="module")
def rows(shared_sandbox, shared_data) -> bytes:
    bucket, prefix = shared_data.removeprefix("s3://").split("/", 1)
    body = aws(shared_sandbox, "s3").get_object(Bucket=bucket, Key=f"{prefix}test/examples")["Body"].read()
    return ("\n".join(body.decode().splitlines()[:40]) + "\n").encode()


@pytest.fixture(scope="module")
def expected(shared_sandbox, models, rows) -> dict[str, list[float]]:
    """What each model predicts for ``rows``, computed here: they must differ for the checks to mean much."""
    out = {k: local_predictions(shared_sandbox, path, rows) for k, path in models.items()}
    assert out["a"] != out["b"]
    return out


def deploy(sandbox, name: str, model_path: str, fault: str | None = None) -> tuple[dict, str]:
    """A HostingDeployment InService on ``model_path``: (created CR, endpoint name)."""
    created = sandbox.kube.apply(hosting_cr(sandbox, model_path, name, fault=fault))
    wait_for(
        lambda: status_of(sandbox, HD, name).get(STATUS) == "InService", timeout=30, what=f"{name} InService"
    )
    return created, status_of(sandbox, HD, name)["endpointName"]


def generation_names(cr: dict, generation: int) -> tuple[str, str]:
    """The child Model and EndpointConfig CR names of one generation."""
    hex_ = uid_hex(cr)
    return f"xgboost-model-{generation}-{hex_}", f"{cr['metadata']['name']}-{generation}-{hex_}"


def sagemaker_names(sandbox, cr: dict, generation: int) -> tuple[str, str]:
    """The SageMaker model and endpoint config names one generation's children created."""
    model, config = generation_names(cr, generation)
    name = cr["metadata"]["name"]
    model_status = children(sandbox, "models", name)[model]["status"]
    config_status = children(sandbox, "endpointconfigs", name)[config]["status"]
    return model_status["sageMakerModelName"], config_status["sageMakerEndpointConfigName"]


def wait_serving(sandbox, name: str, endpoint: str, model_path: str, timeout: float = 30.0) -> dict:
    """Wait until SageMaker serves ``model_path`` InService on the config the CR wants, and the CR says so."""

    def done():
        served, status = live(sandbox, endpoint), status_of(sandbox, HD, name)
        ok = (
            served["status"] == "InService"
            and served["model_url"] == model_path
            and status.get(STATUS) == "InService"
            and status.get("endpointConfigName") == served["config"]
            and status.get("failureReason") == served["failure"]  # the CR mirrors this description
        )
        return ok and (served, status)

    return wait_for(done, timeout=timeout, what=f"{endpoint} to serve {model_path}")


def test_spec_update_rolls_out_a_new_generation_then_cleans_up_the_old(
    shared_sandbox, models, rows, expected
):
    sandbox = shared_sandbox
    created, endpoint = deploy(sandbox, "rollout", models["a"])
    old_model, old_config = sagemaker_names(sandbox, created, 1)
    assert invoke(sandbox, endpoint, rows) == expected["a"]
    sandbox.moto.simulator.faults.slow(endpoint, 2.0, phase="Updating")  # long enough to be seen under load

    patched = patch_spec(sandbox, "rollout", with_model(created, models["b"]))
    assert patched["metadata"]["generation"] == 2
    history = StatusHistory(sandbox, HD, patched, STATUS)
    served, status = wait_serving(sandbox, "rollout", endpoint, models["b"])
    assert "Updating" in history.primary

    new_model_cr, new_config_cr = generation_names(created, 2)
    wait_children(sandbox, "models", "rollout", {new_model_cr})
    wait_children(sandbox, "endpointconfigs", "rollout", {new_config_cr})
    new_model, new_config = sagemaker_names(sandbox, created, 2)
    assert (served["config"], served["model"]) == (new_config, new_model)
    assert status["endpointConfigName"] == new_config
    assert status["modelNames"] == [{"name": "xgboost-model", "value": new_model}]
    assert "failureReason" not in status and "additional" not in status
    assert invoke(sandbox, endpoint, rows) == expected["b"]
    wait_sagemaker_gone(sandbox, models=[old_model], configs=[old_config])

    # Reverting the spec is one more change: generation 3, its own children, one more update.
    sandbox.moto.simulator.faults.clear(endpoint)
    patched = patch_spec(sandbox, "rollout", with_model(created, models["a"]))
    assert patched["metadata"]["generation"] == 3
    served, _ = wait_serving(sandbox, "rollout", endpoint, models["a"])
    assert served["config"] == sagemaker_names(sandbox, created, 3)[1]
    wait_children(sandbox, "models", "rollout", {generation_names(created, 3)[0]})
    assert invoke(sandbox, endpoint, rows) == expected["a"]

    delete_hd(sandbox, "rollout")
    wait_for(lambda: not children(sandbox, "models", "rollout"), timeout=30, what="children deleted")
    wait_sagemaker_gone(sandbox, endpoints=[endpoint], models=[served["model"]], configs=[served["config"]])


def retries_seen(sandbox, endpoint: str, old_config: str, count: int) -> list:
    """Wait for ``count`` distinct rolled-back updates (LastModifiedTime moves, the old config stays)."""
    seen: list = []

    def enough():
        served = live(sandbox, endpoint)
        assert served["config"] == old_config, served
        if served["status"] == "InService" and served["failure"] and served["modified"] not in seen:
            seen.append(served["modified"])
        return len(seen) >= count

    wait_for(enough, timeout=30, interval=0.01, what=f"{count} rolled-back updates of {endpoint}")
    return seen


def assert_rolled_back(sandbox, name: str, endpoint: str, created: dict, reason: str, rows, expected) -> None:
    """SageMaker serves the old model on the old config; the CR wants the new config and shows the reason."""
    old_model, old_config = sagemaker_names(sandbox, created, 1)
    wait_for(
        lambda: status_of(sandbox, HD, name).get("failureReason") == reason, timeout=30, what="failureReason"
    )
    retries_seen(sandbox, endpoint, old_config, 3)  # the controller keeps calling UpdateEndpoint
    status = status_of(sandbox, HD, name)
    assert status[STATUS] in ("InService", "Updating")
    assert status["endpointConfigName"] == sagemaker_names(sandbox, created, 2)[1]  # desired, not described
    assert "additional" not in status
    served = live(sandbox, endpoint)
    assert (served["config"], served["model"], served["failure"]) == (old_config, old_model, reason)
    assert invoke(sandbox, endpoint, rows) == expected["a"]
    assert set(children(sandbox, "endpointconfigs", name)) == {
        generation_names(created, g)[1] for g in (1, 2)
    }
    armed = [
        f for f in sandbox.moto.simulator.faults.list() if f.kind == "update_fail" and f.matches(endpoint)
    ]
    assert len(armed) == 1  # one fault however many retries


def test_update_fail_rule_rolls_back_retries_then_updates_once_cleared(armed, models, rows, expected):
    sandbox = armed
    created, endpoint = deploy(sandbox, "flaky", models["a"])
    sandbox.arm_fault(f"update-fail:{REASON}", kind="HostingDeployment", name="flaky")
    patch_spec(sandbox, "flaky", with_model(created, models["b"]))
    assert_rolled_back(sandbox, "flaky", endpoint, created, REASON, rows, expected)

    sandbox.clear_faults()
    _, status = wait_serving(sandbox, "flaky", endpoint, models["b"])
    assert "failureReason" not in status
    assert invoke(sandbox, endpoint, rows) == expected["b"]
    wait_children(sandbox, "endpointconfigs", "flaky", {generation_names(created, 2)[1]})
    delete_hd(sandbox, "flaky")


def test_update_fail_annotation_stops_failing_once_removed(shared_sandbox, models, rows, expected):
    sandbox = shared_sandbox
    created, endpoint = deploy(sandbox, "annotated", models["a"], fault="update-fail:no capacity")
    patch_spec(sandbox, "annotated", with_model(created, models["b"]))
    assert_rolled_back(sandbox, "annotated", endpoint, created, "no capacity", rows, expected)

    patched = patch_spec(sandbox, "annotated", {"metadata": {"annotations": {FAULT_ANNOTATION: None}}})
    assert patched["metadata"]["generation"] == 2  # metadata only: no new generation
    wait_serving(sandbox, "annotated", endpoint, models["b"])
    assert invoke(sandbox, endpoint, rows) == expected["b"]
    delete_hd(sandbox, "annotated")


def test_update_fail_armed_in_sagemaker_by_endpoint_pattern(shared_sandbox, models, rows, expected):
    sandbox = shared_sandbox
    created, endpoint = deploy(sandbox, "pattern", models["a"])
    fault = sandbox.moto.simulator.faults.update_fail("pattern-*", "capacity error")
    try:
        patch_spec(sandbox, "pattern", with_model(created, models["b"]))
        assert_rolled_back(sandbox, "pattern", endpoint, created, "capacity error", rows, expected)
    finally:
        sandbox.moto.simulator.faults.remove(fault)
    wait_serving(sandbox, "pattern", endpoint, models["b"])
    delete_hd(sandbox, "pattern")


def test_spec_edits_wait_while_the_endpoint_is_not_in_service(shared_sandbox, models):
    sandbox = shared_sandbox
    created, endpoint = deploy(sandbox, "busy", models["a"])
    old_config = live(sandbox, endpoint)["config"]
    sandbox.moto.simulator.faults.slow(endpoint, 2.0, phase="Updating")
    try:
        patch_spec(sandbox, "busy", with_model(created, models["b"]))
        wait_for(lambda: live(sandbox, endpoint)["status"] == "Updating", timeout=30, what="Updating")
        patched = patch_spec(sandbox, "busy", with_model(created, models["a"]))  # again, while Updating
        assert patched["metadata"]["generation"] == 3
        # The controller only mirrors the status: generation 3 has no children yet, so no config or models.
        wait_for(
            lambda: (
                (s := status_of(sandbox, HD, "busy")).get(STATUS) == "Updating"
                and "endpointConfigName" not in s
                and "modelNames" not in s
            ),
            timeout=10,
            what="the CR to show Updating without a desired config",
        )
        before = live(sandbox, endpoint)
        models_now = children(sandbox, "models", "busy")
        after = live(sandbox, endpoint)
        assert (
            (before["status"], before["config"])
            == (after["status"], after["config"])
            == ("Updating", old_config)
        )
        assert generation_names(created, 3)[0] not in models_now  # nothing happens until InService
    finally:
        sandbox.moto.simulator.faults.clear(endpoint)
    served, _ = wait_serving(sandbox, "busy", endpoint, models["a"])  # generation 2 lands, then 3 follows
    assert served["config"] == sagemaker_names(sandbox, created, 3)[1]
    wait_children(sandbox, "models", "busy", {generation_names(created, 3)[0]})
    delete_hd(sandbox, "busy")
