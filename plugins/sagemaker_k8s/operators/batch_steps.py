"""The pieces of batch scoring (``operators.batch``) that need no Airflow task machinery: the two
manifests (per flavour), the SageMaker model's name, reading the transform's output objects, scoring
them, and the failure message."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowFailException

if TYPE_CHECKING:
    from sagemaker_k8s.dataset.scoring import BatchScore


def _metadata(op, context) -> dict[str, dict[str, str]]:
    from sagemaker_k8s.manifests.naming import airflow_annotations, airflow_labels

    dag_id, run_id = context["dag"].dag_id, context["run_id"]
    return {
        "labels": airflow_labels(dag_id, run_id, op.task_id),
        "annotations": airflow_annotations(dag_id, run_id, op.task_id),
    }


def build_model_cr(op, context, model_path: str) -> dict:
    """The run's stand-alone Model serving ``model_path`` with the run's image and role."""
    from sagemaker_k8s.manifests.images import xgboost_image
    from sagemaker_k8s.manifests.load import load_template
    from sagemaker_k8s.manifests.transform import ModelSpec, build_ack_model, build_model

    cfg = op.cfg
    model_cr, _, namespace = op.names(context)
    spec = ModelSpec(
        cr_name=model_cr,
        namespace=namespace,
        region=cfg.region,
        role_arn=cfg.execution_role_arn,
        image=cfg.training_image or xgboost_image(cfg.region),
        model_data_url=model_path,
        **_metadata(op, context),
    )
    if cfg.is_ack:
        return build_ack_model(load_template(op.ack_model_template), spec)
    return build_model(load_template(op.model_template), spec)


def sagemaker_model_name(op, status: dict, model_cr: str) -> str | None:
    """The SageMaker name of the ready Model: legacy's generated ``status.sageMakerModelName``; on ACK
    the Model's ``spec.modelName``, which ``build_ack_model`` set to the CR's name."""
    return model_cr if op.cfg.is_ack else status.get("sageMakerModelName")


def build_transform_cr(op, context, model_name: str) -> dict:
    """The run's transform job CR: the uploaded test folder through SageMaker model ``model_name``."""
    from sagemaker_k8s.dataset.scoring import batch_output_uri
    from sagemaker_k8s.manifests.load import load_template
    from sagemaker_k8s.manifests.transform import (
        BatchTransformSpec,
        build_ack_transform_job,
        build_batch_transform_job,
    )

    cfg = op.cfg
    _, job, namespace = op.names(context)
    spec = BatchTransformSpec(
        cr_name=job,
        namespace=namespace,
        region=cfg.region,
        job_name=job,
        model_name=model_name,
        input_uri=op.dataset["test"],
        output_uri=batch_output_uri(cfg.bucket, cfg.s3_prefix, job),
        **_metadata(op, context),
    )
    if cfg.is_ack:
        return build_ack_transform_job(load_template(op.ack_transform_template), spec)
    return build_batch_transform_job(load_template(op.transform_template), spec)


def finished_elsewhere(described: dict | None, job: str, kind) -> str | None:
    """For a transform job with no CR: its SageMaker model's name if it completed, None if there is no
    such job; any other state cannot be reattached to (SageMaker will not reuse the name)."""
    if described is None:
        return None
    if described["status"] == "Completed":
        return described["model_name"]
    reason = described.get("failure_reason") or "no reason given"
    raise AirflowFailException(
        f"transform job {job} of this run exists in SageMaker without its {kind.kind} CR and is "
        f"{described['status']} ({reason}); SageMaker does not reuse a job name, so this run cannot "
        "score again: trigger a new run"
    )


def transform_failure(op, error: Exception, job: str, namespace: str) -> AirflowFailException:
    """The failure to raise for an unsuccessful transform: SageMaker's FailureReason when it has one
    (the legacy operator does not copy it into the CR), else what the wait reported."""
    from botocore.exceptions import BotoCoreError, ClientError

    kind = op.transform_kind
    try:
        described = op.aws.transform_job(job)
    except (ClientError, BotoCoreError) as e:
        op.log.warning("could not describe transform job %s: %s", job, e)
        described = None
    kept = (
        f"{kind.kind} {namespace}/{job} is kept for inspection "
        f"(kubectl describe {kind.plural}.{kind.group} {job} -n {namespace})"
    )
    if described is not None and described.get("failure_reason"):
        return AirflowFailException(
            f"batch transform {job} ended {described['status']}: {described['failure_reason']}. {kept}"
        )
    return AirflowFailException(f"{error}. {kept}")


def read_outputs(op, dataset: dict[str, Any], job: str) -> tuple[str, list[tuple[str, str]]]:
    """(output folder URI, ``(output key, text)`` per input object of the test folder, in input order)."""
    from botocore.exceptions import ClientError

    from sagemaker_k8s.dataset.scoring import batch_output_uri, output_keys, split_s3_uri

    cfg = op.cfg
    output_uri = batch_output_uri(cfg.bucket, cfg.s3_prefix, job)
    bucket, input_prefix = split_s3_uri(dataset["test"])
    _, output_prefix = split_s3_uri(output_uri)
    pairs = output_keys(input_prefix, op.aws.list_keys(bucket, input_prefix), output_prefix)
    if not pairs:
        raise AirflowFailException(f"no input objects under {dataset['test']}: nothing was scored")
    outputs = []
    for input_key, output_key in pairs:
        try:
            body = op.aws.read_object(cfg.bucket, output_key)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") not in ("NoSuchKey", "404"):
                raise
            raise AirflowFailException(
                f"transform job {job} wrote no s3://{cfg.bucket}/{output_key} for its input "
                f"s3://{bucket}/{input_key}"
            ) from e
        outputs.append((output_key, body.decode("utf-8")))
    return output_uri, outputs


def score_outputs(op, dataset: dict[str, Any], outputs: list[tuple[str, str]]) -> BatchScore:
    """Accuracy of the outputs against the test labels; unusable output fails the task."""
    from sagemaker_k8s.dataset.scoring import ScoringError, score, split_s3_uri

    bucket, labels_key = split_s3_uri(dataset["test_labels"])
    labels = op.aws.read_object(bucket, labels_key).decode("utf-8")
    try:
        return score(outputs, labels, dataset["test_labels"])
    except ScoringError as e:
        raise AirflowFailException(f"batch transform output cannot be scored: {e}") from e
