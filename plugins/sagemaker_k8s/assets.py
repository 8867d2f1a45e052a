"""The pipeline's Assets, so that other DAGs can be scheduled on them.

* ``<dag_id>.dataset``: updated by ``upload_dataset``; extra: the S3 prefix and the split URIs.
* ``<dag_id>.model`` and ``<dag_id>.endpoint``: updated by ``record_champion`` when a promoted
  model has passed its smoke test on the live endpoint ("a new model is live"); extra: endpoint,
  endpoint config, model URI, training job, metric name and value, accuracy, previous model, run id.

Names depend only on the DAG id (Assets are declared when the DAG is parsed); the run's real
locations travel in each event's ``extra``. Name-only Assets (the URI defaults to the name): a URI
with a scheme makes Airflow load every provider's URI normalizers, boto3 included, at parse time.
"""

from __future__ import annotations

from airflow.sdk import Asset


def pipeline_asset(dag_id: str, what: str) -> Asset:
    """``what``: ``dataset``, ``model`` or ``endpoint``."""
    if what not in ("dataset", "model", "endpoint"):
        raise ValueError(f"unknown pipeline asset {what!r}")
    return Asset(name=f"{dag_id}.{what}")
