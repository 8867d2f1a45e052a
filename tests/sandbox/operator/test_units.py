"""The operator emulator's pure parts, without any server: naming, spec -> API conversion, the IRSA
evaluation (trust and permission policies) and fault rules."""

from __future__ import annotations

import pytest

from sandbox.aws.seed import operator_trust_policy
from sandbox.common.credentials import policy_allows, trust_allows
from sandbox.common.faults import ANNOTATION, Fault, FaultRules
from sandbox.operator import naming
from sandbox.operator.convert import (
    comparable_endpoint_config,
    comparable_model,
    endpoint_config_request,
    model_request,
    training_request,
)

UID = "cf1e16fb-10a5-11ea-aa45-0a350733ba06"
HEX = "cf1e16fb10a511eaaa450a350733ba06"

HOST = "oidc.eks.us-west-2.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
PROVIDER = f"arn:aws:iam::123456789012:oidc-provider/{HOST}"
SUBJECT = "system:serviceaccount:sagemaker-k8s-operator-system:sagemaker-k8s-operator-default"
AUDIENCE = "sts.amazonaws.com"


# -- naming -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "limit", "expected"),
    [
        ("xgboost-mnist", 63, f"xgboost-mnist-{HEX}"),  # the operator README's example
        ("a" * 30, 63, f"{'a' * 30}-{HEX}"),  # 30 characters: kept whole, exactly 63
        ("a" * 31, 63, f"{'a' * 30}-{HEX}"),  # one more: the name part is shortened
        ("b" * 200, 63, f"{'b' * 30}-{HEX}"),
        ("tuning", 32, HEX),  # HPO limit: name + "-" + uid never fits, so just the uid
        ("tuning", 33, HEX),  # room for the uid but not for "-" + a name character
        ("x", 20, HEX[:20]),  # not even the uid fits: its first `limit` characters
    ],
)
def test_generated_name(name, limit, expected):
    assert naming.generated_name(name, UID, limit) == expected


@pytest.mark.parametrize("name", ["n", "xgboost-mnist", "m" * 63, "z" * 500])
def test_generated_name_is_capped_and_ends_with_the_dashless_uid(name):
    out = naming.generated_name(name, UID)
    assert len(out) <= 63
    assert out.endswith(HEX)
    assert "-" not in out[-32:]
    assert out.startswith(name[:30])


def test_child_name_embeds_generation_and_uid_within_kubernetes_253_characters():
    assert naming.child_name("xgboost-model", 1, UID) == f"xgboost-model-1-{HEX}"
    assert naming.child_name("xgboost-model", 7, UID) == f"xgboost-model-7-{HEX}"
    assert naming.child_name("h" * 80, 2, UID) == f"{'h' * 80}-2-{HEX}"  # longer than 63: kept whole
    long = naming.child_name("h" * 300, 12, UID)
    assert len(long) == 253
    assert long.endswith(f"h-12-{HEX}")


def test_sagemaker_name_of_a_child_shortens_the_child_name_first():
    child = naming.child_name("xgboost-model", 1, UID)
    other_uid = "0123abcd-0000-1111-2222-333344445555"
    assert naming.generated_name(child, other_uid) == f"{child[:30]}-0123abcd000011112222333344445555"


# -- convert ----------------------------------------------------------------------------------------------
TRAINING_SPEC = {
    "trainingJobName": "ignored-here",
    "region": "us-west-2",
    "sageMakerEndpoint": "https://sagemaker.example",
    "roleArn": "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole",
    "algorithmSpecification": {"trainingImage": "img:1", "trainingInputMode": "File"},
    "hyperParameters": [{"name": "max_depth", "value": "5"}, {"name": "num_round", "value": 10}],
    "outputDataConfig": {"s3OutputPath": "s3://b/out/"},
    "resourceConfig": {"instanceCount": 1, "instanceType": "ml.m4.xlarge", "volumeSizeInGB": 5},
    "stoppingCondition": {"maxRuntimeInSeconds": 86400},
    "inputDataConfig": [
        {
            "channelName": "train",
            "dataSource": {
                "s3DataSource": {
                    "s3DataType": "S3Prefix",
                    "s3Uri": "s3://b/train/",
                    "s3DataDistributionType": "FullyReplicated",
                }
            },
            "contentType": "text/csv",
            "compressionType": "None",
        }
    ],
    "vpcConfig": {"securityGroupIds": ["sg-1"], "subnets": ["subnet-1", "subnet-2"]},
    "tags": [{"key": "team", "value": "ml"}],
}


def test_training_request_maps_the_spec_to_the_api():
    request = training_request(TRAINING_SPEC, "job-1")
    assert request == {
        "TrainingJobName": "job-1",
        "RoleArn": TRAINING_SPEC["roleArn"],
        "AlgorithmSpecification": {"TrainingImage": "img:1", "TrainingInputMode": "File"},
        "HyperParameters": {"max_depth": "5", "num_round": "10"},  # name/value list -> map, values str
        "OutputDataConfig": {"S3OutputPath": "s3://b/out/"},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m4.xlarge", "VolumeSizeInGB": 5},
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": "s3://b/train/",
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
                "ContentType": "text/csv",
                "CompressionType": "None",
            }
        ],
        "VpcConfig": {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1", "subnet-2"]},
        "Tags": [{"Key": "team", "Value": "ml"}],
    }
    assert "Region" not in request and "SageMakerEndpoint" not in request


def test_training_request_turns_debugger_parameter_lists_into_maps():
    spec = {
        "debugHookConfig": {
            "s3OutputPath": "s3://b/debug/",
            "collectionConfigurations": [
                {
                    "collectionName": "weights",
                    "collectionParameters": [{"name": "save_interval", "value": "5"}],
                }
            ],
        },
        "debugRuleConfigurations": [
            {
                "ruleConfigurationName": "LossNotDecreasing",
                "ruleEvaluatorImage": "rules:1",
                "ruleParameters": [{"name": "rule_to_invoke", "value": "LossNotDecreasing"}],
            }
        ],
    }
    request = training_request(spec, "job-2")
    hook = request["DebugHookConfig"]["CollectionConfigurations"][0]
    assert hook == {"CollectionName": "weights", "CollectionParameters": {"save_interval": "5"}}
    rule = request["DebugRuleConfigurations"][0]
    assert rule["RuleParameters"] == {"rule_to_invoke": "LossNotDecreasing"}


MODEL_SPEC = {  # a Model CR's spec, as a HostingDeployment writes it for a one-container model
    "executionRoleArn": "arn:aws:iam::123456789012:role/r",
    "primaryContainer": {
        "containerHostname": "xgboost",
        "modelDataUrl": "s3://b/model.tar.gz",
        "image": "img:latest",
        "environment": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
    },
    "region": "us-west-2",
    "tags": [{"key": "team", "value": "ml"}],
}


def test_model_request_from_a_model_cr():
    assert model_request(MODEL_SPEC, "sm-model") == {
        "ModelName": "sm-model",
        "ExecutionRoleArn": MODEL_SPEC["executionRoleArn"],
        "PrimaryContainer": {
            "ContainerHostname": "xgboost",
            "ModelDataUrl": "s3://b/model.tar.gz",
            "Image": "img:latest",
            "Environment": {"A": "1", "B": "2"},
        },
        "Tags": [{"Key": "team", "Value": "ml"}],
    }


def test_model_request_several_containers_and_options():
    spec = {
        "executionRoleArn": "arn:aws:iam::123456789012:role/r",
        "containers": [
            {"containerHostname": "a", "image": "img:1"},
            {"containerHostname": "b", "image": "img:2"},
        ],
        "enableNetworkIsolation": False,
        "vpcConfig": {"securityGroupIds": ["sg-1"], "subnets": ["s-1"]},
        "region": "us-west-2",
        "sageMakerEndpoint": "https://sagemaker.example",
    }
    request = model_request(spec, "sm-model")
    assert "PrimaryContainer" not in request and "Region" not in request
    assert [c["ContainerHostname"] for c in request["Containers"]] == ["a", "b"]
    assert request["EnableNetworkIsolation"] is False
    assert request["VpcConfig"] == {"SecurityGroupIds": ["sg-1"], "Subnets": ["s-1"]}


def test_model_comparison_ignores_tags_empty_values_mode_default_and_environment_order():
    request = model_request(MODEL_SPEC, "sm-model")
    described = {
        "ModelName": "sm-model",
        "ModelArn": "arn:aws:sagemaker:us-west-2:123456789012:model/sm-model",
        "ExecutionRoleArn": MODEL_SPEC["executionRoleArn"],
        "PrimaryContainer": {
            "ContainerHostname": "xgboost",
            "ModelDataUrl": "s3://b/model.tar.gz",
            "Image": "img:latest",
            "Mode": "SingleModel",
            "Environment": {"B": "2", "A": "1"},
        },
        "Containers": [],
        "VpcConfig": {},
        "EnableNetworkIsolation": False,
    }
    assert comparable_model(request) == comparable_model(described)
    described["PrimaryContainer"]["ModelDataUrl"] = "s3://b/other.tar.gz"
    assert comparable_model(request) != comparable_model(described)


def test_endpoint_config_request_and_comparison():
    spec = {
        "productionVariants": [
            {
                "variantName": "AllTraffic",
                "modelName": "sm-model-1",  # a SageMaker model name: the HD resolved it from its child Model
                "initialInstanceCount": 1,
                "instanceType": "ml.r5.large",
                "initialVariantWeight": 1,
            }
        ],
        "region": "us-west-2",
    }
    request = endpoint_config_request(spec, "sm-config")
    assert request == {
        "EndpointConfigName": "sm-config",
        "ProductionVariants": [
            {
                "VariantName": "AllTraffic",
                "ModelName": "sm-model-1",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.r5.large",
                "InitialVariantWeight": 1,
            }
        ],
    }
    described = {
        "EndpointConfigName": "sm-config",
        "ProductionVariants": [{**request["ProductionVariants"][0], "InitialVariantWeight": 1.0}],
        "DataCaptureConfig": {},
    }
    assert comparable_endpoint_config(request) == comparable_endpoint_config(described)
    described["ProductionVariants"][0]["ModelName"] = "sm-model-2"
    assert comparable_endpoint_config(request) != comparable_endpoint_config(described)


# -- credentials --------------------------------------------------------------------------------------------
def trust(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def web_identity(effect="Allow", *, provider=PROVIDER, condition=None) -> dict:
    if condition is None:
        condition = {"StringEquals": {f"{HOST}:sub": SUBJECT, f"{HOST}:aud": AUDIENCE}}
    return {
        "Effect": effect,
        "Principal": {"Federated": provider},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": condition,
    }


@pytest.mark.parametrize(
    ("policy", "subject", "audience", "allowed"),
    [
        pytest.param(trust(web_identity()), SUBJECT, AUDIENCE, True, id="right-sub-and-aud"),
        pytest.param(operator_trust_policy(PROVIDER, HOST), SUBJECT, AUDIENCE, True, id="seeded-policy"),
        pytest.param(
            trust(web_identity()),
            "system:serviceaccount:sagemaker-k8s-operator-system:default",
            AUDIENCE,
            False,
            id="wrong-sub",
        ),
        pytest.param(trust(web_identity()), SUBJECT, "kubernetes.default.svc", False, id="wrong-aud"),
        pytest.param(
            trust(web_identity(condition={"StringLike": {f"{HOST}:sub": "system:serviceaccount:*:*"}})),
            SUBJECT,
            AUDIENCE,
            True,
            id="stringlike-wildcard",
        ),
        pytest.param(
            trust(
                web_identity(condition={"StringLike": {f"{HOST}:sub": "system:serviceaccount:other-ns:*"}})
            ),
            SUBJECT,
            AUDIENCE,
            False,
            id="stringlike-no-match",
        ),
        pytest.param(
            trust(web_identity(), web_identity("Deny", condition={})),
            SUBJECT,
            AUDIENCE,
            False,
            id="deny-wins",
        ),
        pytest.param(
            trust(web_identity(provider="arn:aws:iam::123456789012:oidc-provider/other")),
            SUBJECT,
            AUDIENCE,
            False,
            id="wrong-provider",
        ),
        pytest.param(
            trust({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}),
            SUBJECT,
            AUDIENCE,
            False,
            id="other-action-only",
        ),
        pytest.param(
            trust(web_identity(condition={"StringEquals": {"other.issuer/id/X:sub": SUBJECT}})),
            SUBJECT,
            AUDIENCE,
            False,
            id="condition-on-another-issuer",
        ),
        pytest.param(trust(), SUBJECT, AUDIENCE, False, id="empty"),
    ],
)
def test_trust_allows(policy, subject, audience, allowed):
    assert trust_allows(policy, PROVIDER, HOST, subject, audience) is allowed


def allow(*actions) -> dict:
    return {"Effect": "Allow", "Action": list(actions), "Resource": "*"}


@pytest.mark.parametrize(
    ("documents", "action", "allowed"),
    [
        ([{"Statement": [allow("sagemaker:*")]}], "sagemaker:CreateTrainingJob", True),
        ([{"Statement": allow("SageMaker:createtrainingjob")}], "sagemaker:CreateTrainingJob", True),
        ([{"Statement": [allow("sagemaker:Describe*")]}], "sagemaker:CreateTrainingJob", False),
        (
            [{"Statement": [allow("s3:*")]}, {"Statement": [allow("sagemaker:Create*")]}],
            "sagemaker:CreateEndpoint",
            True,
        ),
        (
            [
                {"Statement": [allow("sagemaker:*")]},
                {"Statement": [{"Effect": "Deny", "Action": "sagemaker:Create*"}]},
            ],
            "sagemaker:CreateTrainingJob",
            False,
        ),
        ([], "sagemaker:DescribeTrainingJob", False),
    ],
)
def test_policy_allows(documents, action, allowed):
    assert policy_allows(documents, action) is allowed


# -- faults --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fail:AlgorithmError: boom", Fault("fail", "AlgorithmError: boom")),
        ("fail", Fault("fail", "")),
        ("hang", Fault("hang")),
        (" stop ", Fault("stop")),
        ("reconcile-error:SageMaker is unreachable", Fault("reconcile-error", "SageMaker is unreachable")),
        ("endpoint-fail:ping failed", Fault("endpoint-fail", "ping failed")),
        ("update-fail:no capacity", Fault("update-fail", "no capacity")),
    ],
)
def test_fault_from_text(text, expected):
    assert Fault.from_text(text) == expected


@pytest.mark.parametrize(
    "text", ["", "explode", "crashloop", "fail-later:x", "endpoint_fail:x", "update_fail:x"]
)
def test_fault_from_text_rejects_unknown_actions(text):
    with pytest.raises(ValueError, match="unknown fault"):
        Fault.from_text(text)


def meta(name="job-a", namespace="default", annotation=None) -> dict:
    out = {"name": name, "namespace": namespace}
    if annotation is not None:
        out["annotations"] = {ANNOTATION: annotation}
    return out


def test_fault_rules_annotation_beats_rules():
    rules = FaultRules()
    rules.add(Fault("hang"))
    assert rules.for_object("TrainingJob", meta(annotation="fail:from annotation")) == Fault(
        "fail", "from annotation"
    )
    assert rules.for_object("TrainingJob", meta()) == Fault("hang")
    # an unparseable annotation is ignored: the rules still apply
    assert rules.for_object("TrainingJob", meta(annotation="nonsense")) == Fault("hang")


def test_fault_rules_globs_kind_filter_newest_wins_and_clear():
    rules = FaultRules()
    assert rules.for_object("TrainingJob", meta()) is None
    rules.add(Fault("stop"), namespace="team-*", name="xgb-*")
    rules.add(Fault("endpoint-fail", "x"), kind="HostingDeployment")
    assert rules.for_object("TrainingJob", meta("xgb-1", "team-a")) == Fault("stop")
    assert rules.for_object("TrainingJob", meta("xgb-1", "default")) is None
    assert rules.for_object("TrainingJob", meta("other", "team-a")) is None
    assert rules.for_object("HostingDeployment", meta("anything")) == Fault("endpoint-fail", "x")
    rules.add(Fault("fail", "newest"), name="xgb-*")
    assert rules.for_object("TrainingJob", meta("xgb-1", "team-a")) == Fault("fail", "newest")
    assert rules.for_object("HostingDeployment", meta("xgb-1")) == Fault("fail", "newest")
    rules.clear()
    assert rules.for_object("HostingDeployment", meta("xgb-1")) is None


# -- control loop -----------------------------------------------------------------------------------------
def test_settle_returns_only_after_a_pass_that_started_after_the_call():
    """``Sandbox.misconfigure`` relies on this: a pass that read the operator's pod state before a change
    must not be the one a caller's next CR meets (it used to reconcile a CR applied just after scaling the
    operator to zero)."""
    import threading
    import time

    from sandbox.operator.controller import OperatorEmulator, PodState

    reads: list[float] = []
    in_pass = threading.Event()

    def pod_state() -> PodState:
        reads.append(time.monotonic())
        in_pass.set()
        time.sleep(0.05)  # a pass that is slow to read the state: the window of the old race
        return PodState(running=False)

    emulator = OperatorEmulator(
        "http://127.0.0.1:9", "http://127.0.0.1:9", region="us-west-2", cluster_name="c", pod_state=pod_state
    )
    emulator.poll_interval = 0.01
    emulator.start()
    try:
        assert in_pass.wait(5)
        called = time.monotonic()
        emulator.settle(timeout=5)
        assert any(t > called for t in reads), "no pass read the pod state after settle() was called"
    finally:
        emulator.stop()


def test_settle_without_a_running_loop_returns_at_once():
    from sandbox.operator.controller import OperatorEmulator, PodState

    emulator = OperatorEmulator(
        "http://127.0.0.1:9",
        "http://127.0.0.1:9",
        region="us-west-2",
        cluster_name="c",
        pod_state=lambda: PodState(running=False),
    )
    emulator.settle(timeout=0.01)
