"""The ACK emulator's Model, EndpointConfig and Endpoint: an endpoint that really serves the trained model,
updates through a new EndpointConfig (and a failed one: EndpointUpdateError, the old config keeps serving),
an endpoint SageMaker fails (ACK.Terminal), unsupported spec changes, and deletion (Delete APIs, retain)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.helpers import wait_for
from tests.sandbox.ack.ack_helpers import (
    CONFIGS,
    ENDPOINTS,
    MODELS,
    TJ,
    aws,
    condition,
    conditions,
    config_cr,
    delete_cr,
    endpoint_cr,
    get_cr,
    held_out_rows,
    invoke,
    local_predictions,
    model_cr,
    patch_cr,
    status_of,
    training_cr,
    wait_condition,
    wait_field,
    wait_gone,
    wait_status,
)

SYNCED, TERMINAL, RECOVERABLE, READY = "ACK.ResourceSynced", "ACK.Terminal", "ACK.Recoverable", "Ready"
LAST_CONFIG = "sagemaker.services.k8s.aws/last-endpoint-config-for-update"


def exists(describe, **kwargs) -> bool:
    try:
        describe(**kwargs)
    except ClientError:
        return False
    return True


@pytest.fixture(scope="module")
def models(shared_sandbox, data) -> dict[str, str]:
    """Two trained models' artifacts (different trees, so different predictions): name -> s3 URL."""
    sandbox = shared_sandbox
    jobs = {
        "ack-host-a": {"max_depth": "2", "num_round": "2"},
        "ack-host-b": {"max_depth": "4", "num_round": "5"},
    }
    for name, hyperparameters in jobs.items():
        sandbox.kube.apply(training_cr(sandbox, data, name, **hyperparameters))
    out = {}
    for name in jobs:
        status = wait_field(sandbox, TJ, name, "trainingJobStatus", ("Completed", "Failed"), timeout=90)
        out[name] = status["modelArtifacts"]["s3ModelArtifacts"]
    return out


@pytest.fixture(scope="module")
def serving(shared_sandbox, models):
    """Model, EndpointConfig and Endpoint CRs for model a, InService: the Endpoint's status."""
    sandbox = shared_sandbox
    for cr in (
        model_cr(sandbox, "ack-model-a", models["ack-host-a"]),
        model_cr(sandbox, "ack-model-b", models["ack-host-b"]),
        config_cr(sandbox, "ack-config-a", "ack-model-a"),
        config_cr(sandbox, "ack-config-b", "ack-model-b"),
        config_cr(sandbox, "ack-config-c", "ack-model-b", instance_count=2),
        endpoint_cr(sandbox, "ack-endpoint", "ack-config-a"),
    ):
        sandbox.kube.apply(cr)
    return wait_field(sandbox, ENDPOINTS, "ack-endpoint", "endpointStatus", ("InService", "Failed"))


def test_model_and_config_are_created_once_with_conditions_only(shared_sandbox, serving):
    sandbox, sm = shared_sandbox, aws(shared_sandbox, "sagemaker")
    for plural, name, kind, arn in (
        (MODELS, "ack-model-a", "Model", sm.describe_model(ModelName="ack-model-a")["ModelArn"]),
        (
            CONFIGS,
            "ack-config-a",
            "EndpointConfig",
            sm.describe_endpoint_config(EndpointConfigName="ack-config-a")["EndpointConfigArn"],
        ),
    ):
        cr = get_cr(sandbox, plural, name)
        assert set(cr["status"]) == {"ackResourceMetadata", "conditions"}
        assert cr["status"]["ackResourceMetadata"]["arn"] == arn
        assert condition(cr["status"], SYNCED) == ("True", None)
        assert condition(cr["status"], READY)[0] == "True"
        assert cr["metadata"]["finalizers"] == [f"finalizers.sagemaker.services.k8s.aws/{kind}"]
    container = sm.describe_model(ModelName="ack-model-a")["PrimaryContainer"]
    assert container["Environment"] == {"my_var": "my_value", "my_var2": "my_value2"}  # the sample's map


def test_endpoint_serves_the_model(shared_sandbox, models, serving):
    sandbox, status = shared_sandbox, serving
    assert status["endpointStatus"] == "InService", status
    assert condition(status, SYNCED) == ("True", "Endpoint is in InService status.")
    assert condition(status, READY) == ("True", "Endpoint is in InService status.")
    assert {"creationTime", "lastModifiedTime"} <= set(status)
    [variant] = status["productionVariants"]
    assert variant["variantName"] == "variant-1" and variant["currentInstanceCount"] == 1
    arn = aws(sandbox, "sagemaker").describe_endpoint(EndpointName="ack-endpoint")["EndpointArn"]
    assert status["ackResourceMetadata"]["arn"] == arn
    body, digits = held_out_rows(20)
    predictions = invoke(sandbox, "ack-endpoint", body)
    assert predictions == local_predictions(sandbox, models["ack-host-a"], body)
    assert len(predictions) == len(digits)


def test_endpoint_update_and_a_failed_update(shared_sandbox, models, serving):
    sandbox, body = shared_sandbox, held_out_rows(20)[0]
    patch_cr(sandbox, ENDPOINTS, "ack-endpoint", {"spec": {"endpointConfigName": "ack-config-b"}})
    status = wait_status(
        sandbox, ENDPOINTS, "ack-endpoint", lambda s: s.get("endpointStatus") == "Updating", what="Updating"
    )
    assert condition(status, SYNCED) == ("False", "Endpoint is in Updating status.")
    assert (
        get_cr(sandbox, ENDPOINTS, "ack-endpoint")["metadata"]["annotations"][LAST_CONFIG] == "ack-config-b"
    )
    status = wait_condition(sandbox, ENDPOINTS, "ack-endpoint", SYNCED)
    assert status["endpointStatus"] == "InService"
    described = aws(sandbox, "sagemaker").describe_endpoint(EndpointName="ack-endpoint")
    assert described["EndpointConfigName"] == "ack-config-b"
    assert invoke(sandbox, "ack-endpoint", body) == local_predictions(sandbox, models["ack-host-b"], body)

    patch_cr(
        sandbox,
        ENDPOINTS,
        "ack-endpoint",
        {
            "metadata": {
                "annotations": {"sandbox.sagemaker.local/fault": "update-fail:no capacity for ml.c5.large"}
            },
            "spec": {"endpointConfigName": "ack-config-c"},
        },
    )
    status = wait_condition(sandbox, ENDPOINTS, "ack-endpoint", TERMINAL)
    message = (
        "api error EndpointUpdateError: unable to update endpoint. check FailureReason. "
        "latest EndpointConfigName is ack-config-b"
    )
    assert condition(status, TERMINAL) == ("True", message)
    assert condition(status, SYNCED) == ("False", message)
    assert status["endpointStatus"] == "InService"  # SageMaker rolled back
    assert status["failureReason"] == "no capacity for ml.c5.large"
    assert (
        get_cr(sandbox, ENDPOINTS, "ack-endpoint")["metadata"]["annotations"][LAST_CONFIG] == "ack-config-c"
    )
    described = aws(sandbox, "sagemaker").describe_endpoint(EndpointName="ack-endpoint")
    assert described["EndpointConfigName"] == "ack-config-b"
    assert invoke(sandbox, "ack-endpoint", body) == local_predictions(sandbox, models["ack-host-b"], body)

    patch_cr(sandbox, ENDPOINTS, "ack-endpoint", {"spec": {"endpointConfigName": "ack-config-b"}})  # revert
    status = wait_status(
        sandbox, ENDPOINTS, "ack-endpoint", lambda s: TERMINAL not in conditions(s), what="no Terminal"
    )
    assert condition(status, SYNCED) == ("True", "Endpoint is in InService status.")


def test_failed_endpoint_is_terminal_and_still_deletes(shared_sandbox, serving):
    sandbox = shared_sandbox
    sandbox.kube.apply(endpoint_cr(sandbox, "ack-broken", "ack-config-a", fault="endpoint-fail:ping failed"))
    status = wait_field(sandbox, ENDPOINTS, "ack-broken", "endpointStatus", "Failed")
    status = wait_condition(sandbox, ENDPOINTS, "ack-broken", TERMINAL)
    assert status["failureReason"] == "ping failed"
    assert condition(status, TERMINAL) == (
        "True",
        "Endpoint status reached terminal state: Failed. Check the FailureReason.",
    )
    assert condition(status, SYNCED) == ("True", "Endpoint is in Failed status.")
    assert conditions(status)[READY]["reason"] == TERMINAL
    delete_cr(sandbox, ENDPOINTS, "ack-broken")
    wait_gone(sandbox, ENDPOINTS, "ack-broken")
    assert not exists(aws(sandbox, "sagemaker").describe_endpoint, EndpointName="ack-broken")


def test_model_and_config_spec_changes_are_terminal_not_implemented(shared_sandbox, serving):
    sandbox = shared_sandbox
    patch_cr(
        sandbox, MODELS, "ack-model-b", {"spec": {"primaryContainer": {"environment": {"my_var": "changed"}}}}
    )
    patch_cr(
        sandbox,
        CONFIGS,
        "ack-config-c",
        {
            "spec": {
                "productionVariants": [
                    {
                        "variantName": "variant-1",
                        "modelName": "ack-model-b",
                        "initialInstanceCount": 3,
                        "instanceType": "ml.c5.large",
                        "initialVariantWeight": 1,
                    }
                ]
            }
        },
    )
    for plural, name in ((MODELS, "ack-model-b"), (CONFIGS, "ack-config-c")):
        status = wait_condition(sandbox, plural, name, TERMINAL)
        assert condition(status, TERMINAL) == ("True", "not implemented")
        assert conditions(status)[READY]["reason"] == TERMINAL
    model = aws(sandbox, "sagemaker").describe_model(ModelName="ack-model-b")
    assert model["PrimaryContainer"]["Environment"]["my_var"] == "my_value"  # SageMaker unchanged


def test_deleting_a_creating_endpoint_waits_until_it_can_be_deleted(shared_sandbox, serving):
    sandbox = shared_sandbox
    sandbox.moto.simulator.faults.slow("ack-slow", 1.5, phase="Creating")
    sandbox.kube.apply(endpoint_cr(sandbox, "ack-slow", "ack-config-a"))
    wait_field(sandbox, ENDPOINTS, "ack-slow", "endpointStatus", "Creating")
    delete_cr(sandbox, ENDPOINTS, "ack-slow")
    status = wait_condition(sandbox, ENDPOINTS, "ack-slow", RECOVERABLE)
    assert condition(status, RECOVERABLE)[1] == "Endpoint in Creating state cannot be modified or deleted."
    wait_gone(sandbox, ENDPOINTS, "ack-slow")
    assert not exists(aws(sandbox, "sagemaker").describe_endpoint, EndpointName="ack-slow")


def test_deletion_calls_the_delete_apis_unless_retained(shared_sandbox, models, serving):
    sandbox, sm = shared_sandbox, aws(shared_sandbox, "sagemaker")
    sandbox.kube.apply(model_cr(sandbox, "ack-model-kept", models["ack-host-a"]))
    sandbox.kube.apply(config_cr(sandbox, "ack-config-gone", "ack-model-kept"))
    for plural, name in ((MODELS, "ack-model-kept"), (CONFIGS, "ack-config-gone")):
        wait_condition(sandbox, plural, name, SYNCED)
    patch_cr(
        sandbox,
        MODELS,
        "ack-model-kept",
        {"metadata": {"annotations": {"services.k8s.aws/deletion-policy": "retain"}}},
    )
    for plural, name in ((MODELS, "ack-model-kept"), (CONFIGS, "ack-config-gone")):
        delete_cr(sandbox, plural, name)
        wait_gone(sandbox, plural, name)
    assert exists(sm.describe_model, ModelName="ack-model-kept")
    assert not exists(sm.describe_endpoint_config, EndpointConfigName="ack-config-gone")

    delete_cr(sandbox, ENDPOINTS, "ack-endpoint")
    wait_gone(sandbox, ENDPOINTS, "ack-endpoint")
    wait_for(
        lambda: not exists(sm.describe_endpoint, EndpointName="ack-endpoint"), timeout=10, what="deleted"
    )
    assert status_of(sandbox, ENDPOINTS, "ack-endpoint") == {}
