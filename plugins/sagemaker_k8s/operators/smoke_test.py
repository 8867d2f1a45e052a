"""Invoke the live endpoint with rows of the uploaded test split and measure accuracy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from sagemaker_k8s.resource_task import AwsHookMixin

ROWS_PER_REQUEST = 100  # ~235 KB of CSV per request, far below the 6 MB payload limit
ACCURACY_KEY = "accuracy"


def measure_accuracy(aws, cfg, dataset: dict, endpoint_name: str) -> tuple[float, int]:
    """(accuracy, rows) of ``endpoint_name`` on the first ``cfg.smoke_test_rows`` test rows."""
    from sagemaker_k8s.dataset.scoring import accuracy, batches, first_rows, parse_predictions

    test_key = dataset["test"].removeprefix(f"s3://{cfg.bucket}/") + "examples"
    labels_key = dataset["test_labels"].removeprefix(f"s3://{cfg.bucket}/")
    rows = first_rows(aws.read_object(cfg.bucket, test_key).decode(), cfg.smoke_test_rows)
    labels = [int(v) for v in first_rows(aws.read_object(cfg.bucket, labels_key).decode(), len(rows))]
    predictions: list[int] = []
    for body in batches(rows, ROWS_PER_REQUEST):
        predictions.extend(parse_predictions(aws.invoke_csv(endpoint_name, body.encode())))
    return accuracy(predictions, labels), len(rows)


class SageMakerK8sEndpointSmokeTestOperator(AwsHookMixin, BaseOperator):
    """Returns ``{"endpoint_name", "rows", "accuracy", "min_accuracy"}``; fails (pushing the accuracy
    under the XCom key ``accuracy`` first) if accuracy < the run's ``min_accuracy``."""

    template_fields: Sequence[str] = ("config", "endpoint", "dataset")
    ui_color = "#d8f0d8"

    def __init__(
        self,
        *,
        config: dict | Any,
        endpoint: dict | Any,
        dataset: dict | Any,
        aws_conn_id: str | None = "aws_default",
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.config = config
        self.endpoint = endpoint
        self.dataset = dataset
        self.aws_conn_id = aws_conn_id

    def execute(self, context) -> dict:
        from sagemaker_k8s.config.run_config import RunConfig

        cfg = RunConfig.from_dict(self.config)
        name = self.endpoint["endpoint_name"]
        score, rows = measure_accuracy(self.aws, cfg, self.dataset, name)
        self.log.info("endpoint %s: accuracy %.4f on %d test rows (min_accuracy %s)", name, score, rows,
                      cfg.min_accuracy)  # fmt: skip
        context["ti"].xcom_push(key=ACCURACY_KEY, value=score)
        if score < cfg.min_accuracy:
            raise AirflowFailException(
                f"endpoint {name} answered with accuracy {score:.3f} < min_accuracy {cfg.min_accuracy} "
                f"on {rows} rows"
            )
        return {"endpoint_name": name, "rows": rows, "accuracy": score, "min_accuracy": cfg.min_accuracy}
