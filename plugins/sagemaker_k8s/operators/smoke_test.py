"""Invoke the endpoint with rows of the uploaded test split and measure accuracy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

ROWS_PER_REQUEST = 100  # ~235 KB of CSV per request, far below the 6 MB payload limit


class SageMakerK8sEndpointSmokeTestOperator(BaseOperator):
    """Returns ``{"endpoint_name", "rows", "accuracy"}``; fails if accuracy < ``min_accuracy``."""

    template_fields: Sequence[str] = ("config", "endpoint", "dataset")
    ui_color = "#d8f0d8"

    def __init__(
        self,
        *,
        config: dict | Any,
        endpoint: dict | Any,
        dataset: dict | Any,
        aws_conn_id: str | None = "aws_default",
        min_accuracy: float = 0.5,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.config = config
        self.endpoint = endpoint
        self.dataset = dataset
        self.aws_conn_id = aws_conn_id
        self.min_accuracy = min_accuracy

    def execute(self, context) -> dict:
        from sagemaker_k8s.hooks.aws import SageMakerK8sAwsHook
        from sagemaker_k8s.params import RunConfig
        from sagemaker_k8s.smoke import accuracy, batches, first_rows, parse_predictions

        cfg = RunConfig.from_dict(self.config)
        aws = SageMakerK8sAwsHook(self.aws_conn_id, cfg.region)
        name = self.endpoint["endpoint_name"]
        test_key = self.dataset["test"].removeprefix(f"s3://{cfg.bucket}/") + "examples"
        labels_key = self.dataset["test_labels"].removeprefix(f"s3://{cfg.bucket}/")
        rows = first_rows(aws.read_object(cfg.bucket, test_key).decode(), cfg.smoke_test_rows)
        labels = [int(v) for v in first_rows(aws.read_object(cfg.bucket, labels_key).decode(), len(rows))]
        predictions: list[int] = []
        for body in batches(rows, ROWS_PER_REQUEST):
            predictions.extend(parse_predictions(aws.invoke_csv(name, body.encode())))
        score = accuracy(predictions, labels)
        self.log.info("endpoint %s: accuracy %.4f on %d test rows", name, score, len(rows))
        if score < self.min_accuracy:
            raise AirflowFailException(
                f"endpoint {name} answered with accuracy {score:.3f} < {self.min_accuracy} "
                f"on {len(rows)} rows"
            )
        return {"endpoint_name": name, "rows": len(rows), "accuracy": score}
