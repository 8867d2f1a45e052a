"""After a successful run: delete this pipeline's finished TrainingJob CRs beyond the newest N.

The champion's and the previous champion's are always kept; S3 artifacts and the SageMaker jobs
themselves are never touched (deleting a finished TrainingJob CR only removes its Kubernetes record).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator

from sagemaker_k8s.operators.serving import ServingEndpointMixin


class SageMakerK8sRetentionOperator(ServingEndpointMixin, BaseOperator):
    template_fields: Sequence[str] = ("config",)
    ui_color = "#eeeeee"

    def __init__(
        self,
        *,
        config: dict | Any,
        submit_task_id: str,
        kubernetes_conn_id: str = "kubernetes_default",
        aws_conn_id: str | None = "aws_default",
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.config = config
        self.submit_task_id = submit_task_id
        self.kubernetes_conn_id = kubernetes_conn_id
        self.aws_conn_id = aws_conn_id
        self.ack_timeout = self.reconciling_timeout = 0.0

    def execute(self, context) -> dict:
        from sagemaker_k8s.constants import LABEL_DAG_ID, LABEL_TASK_ID
        from sagemaker_k8s.manifests.flavours import LEGACY_TRAINING_JOB
        from sagemaker_k8s.manifests.naming import label_value
        from sagemaker_k8s.operators.serving import champion_records
        from sagemaker_k8s.promotion.retention import select_for_deletion

        dag_id, namespace = context["dag"].dag_id, self.cfg.namespace
        _, cr_name = self.names(dag_id)
        champion, previous, _ = champion_records(self.hook.find(self.hd, cr_name, namespace))
        protected = {r.training_cr for r in (champion, previous) if r is not None}
        selector = f"{LABEL_DAG_ID}={label_value(dag_id)},{LABEL_TASK_ID}={label_value(self.submit_task_id)}"
        jobs = self.hook.list(LEGACY_TRAINING_JOB, namespace, selector)
        doomed = select_for_deletion(jobs, keep=self.cfg.keep_training_jobs, protected=protected)
        for name in doomed:
            self.log.info("retention: deleting finished TrainingJob %s/%s (SageMaker job and S3 model kept)",
                          namespace, name)  # fmt: skip
            self.hook.delete(LEGACY_TRAINING_JOB, name, namespace)
        self.log.info("retention: %d training jobs of this pipeline, %d deleted, keep %d (+ champions %s)",
                      len(jobs), len(doomed), self.cfg.keep_training_jobs, sorted(protected))  # fmt: skip
        return {"deleted": doomed, "kept": len(jobs) - len(doomed), "protected": sorted(protected)}
