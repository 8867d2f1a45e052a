"""The published ACK e2e samples (``samples/``, their ``$VARIABLES`` substituted, nothing else changed)
applied with kubectl reach their terminal states with real results: a model artifact in S3, an endpoint
that serves it, a tuning job's best training job, a transform's predictions. ``kubectl delete`` cleans up."""

from __future__ import annotations

import pytest
import yaml
from botocore.exceptions import ClientError

from tests.sandbox.ack.ack_helpers import (
    CONFIGS,
    ENDPOINTS,
    HPO,
    MODELS,
    TJ,
    TRANSFORM,
    aws,
    condition,
    held_out_rows,
    invoke,
    kubectl,
    local_predictions,
    s3_objects,
    sample,
    upload_data,
    wait_condition,
    wait_field,
    wait_gone,
)

SYNCED = "ACK.ResourceSynced"
NAMES = {
    "TRAINING_JOB_NAME": "e2e-training",
    "MODEL_NAME": "e2e-model",
    "ENDPOINT_CONFIG_NAME": "e2e-config",
    "ENDPOINT_NAME": "e2e-endpoint",
    "HPO_JOB_NAME": "e2e-hpo",
    "TRANSFORM_JOB_NAME": "e2e-transform",
}


def apply(sandbox, *documents: dict) -> str:
    return kubectl(sandbox, "apply", "-f", "-", stdin=yaml.safe_dump_all(documents))


def test_published_samples_applied_with_kubectl(shared_sandbox):
    sandbox = shared_sandbox
    bucket = sandbox.info.bucket
    upload_data(sandbox, "sagemaker/training", train_rows=800, validation_rows=250)  # the samples' channels
    body, digits = held_out_rows(30)
    aws(sandbox, "s3").put_object(Bucket=bucket, Key="sagemaker/batch/input-data/rows.csv", Body=body)
    docs = {
        name: sample(name, sandbox, **NAMES)
        for name in (
            "xgboost_trainingjob",
            "xgboost_model",
            "endpoint_config_single_variant",
            "endpoint_base",
            "xgboost_hpojob",
            "xgboost_transformjob",
        )
    }

    assert "trainingjob.sagemaker.services.k8s.aws/e2e-training created" in apply(
        sandbox, docs["xgboost_trainingjob"]
    )
    status = wait_field(sandbox, TJ, "e2e-training", "trainingJobStatus", ("Completed", "Failed"), timeout=90)
    assert status["trainingJobStatus"] == "Completed", status
    row = kubectl(sandbox, "get", "trainingjob", "e2e-training", "--no-headers").split()
    assert row[-2:] == ["Completed", "Completed"]  # SECONDARY-STATUS, STATUS
    artifact = status["modelArtifacts"]["s3ModelArtifacts"]
    assert artifact == f"s3://{bucket}/sagemaker/training/output/e2e-training/output/model.tar.gz"
    s3 = aws(sandbox, "s3")
    source = artifact.removeprefix(f"s3://{bucket}/")
    s3.copy_object(
        Bucket=bucket, Key="sagemaker/model/xgboost-mnist-model.tar.gz", CopySource=f"{bucket}/{source}"
    )

    apply(
        sandbox,
        *(
            docs[n]
            for n in (
                "xgboost_model",
                "endpoint_config_single_variant",
                "endpoint_base",
                "xgboost_hpojob",
                "xgboost_transformjob",
            )
        ),
    )
    kubectl(sandbox, "wait", "--for=condition=Ready", "endpoint/e2e-endpoint", "--timeout=60s")
    status = wait_condition(sandbox, ENDPOINTS, "e2e-endpoint", SYNCED)
    assert status["endpointStatus"] == "InService"
    assert status["productionVariants"][0]["currentInstanceCount"] == 2  # the sample's instanceCount
    predictions = invoke(sandbox, "e2e-endpoint", body)
    assert len(predictions) == len(digits)
    assert predictions == local_predictions(sandbox, artifact, body)
    assert sum(int(p) == d for p, d in zip(predictions, digits, strict=True)) > len(digits) // 2

    status = wait_field(
        sandbox, HPO, "e2e-hpo", "hyperParameterTuningJobStatus", ("Completed", "Failed"), timeout=90
    )
    assert status["hyperParameterTuningJobStatus"] == "Completed", status
    jobs = aws(sandbox, "sagemaker").list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="e2e-hpo"
    )["TrainingJobSummaries"]
    scores = {j["TrainingJobName"]: j["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for j in jobs}
    assert len(scores) == 2
    best = status["bestTrainingJob"]
    assert best["trainingJobName"] == min(scores, key=scores.get)  # Minimize validation:error
    assert best["finalHyperParameterTuningJobObjectiveMetric"]["metricName"] == "validation:error"
    assert 10 <= int(best["tunedHyperParameters"]["num_round"]) <= 20

    status = wait_field(sandbox, TRANSFORM, "e2e-transform", "transformJobStatus", ("Completed", "Failed"))
    assert status["transformJobStatus"] == "Completed", status
    [out] = s3_objects(sandbox, f"s3://{bucket}/sagemaker/batch/output").values()
    assert [float(v) for v in out.decode().split()] == predictions  # the same model, row by row

    for plural, name in ((MODELS, "e2e-model"), (CONFIGS, "e2e-config")):
        assert condition(wait_condition(sandbox, plural, name, SYNCED), "Ready")[0] == "True"
    kubectl(sandbox, "delete", "-f", "-", stdin=yaml.safe_dump_all(list(docs.values())))
    for plural, name in (
        (TJ, "e2e-training"),
        (MODELS, "e2e-model"),
        (CONFIGS, "e2e-config"),
        (ENDPOINTS, "e2e-endpoint"),
        (HPO, "e2e-hpo"),
        (TRANSFORM, "e2e-transform"),
    ):
        wait_gone(sandbox, plural, name)
    sm = aws(sandbox, "sagemaker")
    for describe, params in (
        (sm.describe_endpoint, {"EndpointName": "e2e-endpoint"}),
        (sm.describe_endpoint_config, {"EndpointConfigName": "e2e-config"}),
        (sm.describe_model, {"ModelName": "e2e-model"}),
    ):
        with pytest.raises(ClientError):  # deleted with their CRs
            describe(**params)
    assert sm.describe_training_job(TrainingJobName="e2e-training")["TrainingJobStatus"] == "Completed"
