"""After a successful run: delete this pipeline's finished TrainingJob CRs beyond the newest N, and
(with ``tuning_submit_task_id``) its finished HyperparameterTuningJob CRs beyond the newest N.

The champion's and the previous champion's are always kept (for a tuned one: its tuning CR, whose
deletion would take the child TrainingJob CR with it); S3 artifacts and the SageMaker jobs themselves
are never touched (deleting a finished CR only removes its Kubernetes record).
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
        tuning_submit_task_id: str | None = None,
        kubernetes_conn_id: str = "kubernetes_default",
        aws_conn_id: str | None = "aws_default",
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.config = config
        self.submit_task_id = submit_task_id
        self.tuning_submit_task_id = tuning_submit_task_id
        self.kubernetes_conn_id = kubernetes_conn_id
        self.aws_conn_id = aws_conn_id
        self.ack_timeout = self.reconciling_timeout = 0.0

    def execute(self, context) -> dict:
        from sagemaker_k8s.manifests.flavours import kind_of
        from sagemaker_k8s.operators.serving import champion_records
        from sagemaker_k8s.promotion.retention import select_for_deletion

        dag_id, namespace = context["dag"].dag_id, self.cfg.namespace
        _, cr_name = self.names(dag_id)
        champion, previous, _ = champion_records(self.hook.find(self.serving_kind, cr_name, namespace))
        protected = {r.training_cr for r in (champion, previous) if r is not None}
        training_kind = kind_of("training", self.flavour)
        jobs = self.hook.list(training_kind, namespace, self._selector(dag_id, self.submit_task_id))
        doomed = select_for_deletion(
            jobs, keep=self.cfg.keep_training_jobs, protected=protected, kind=training_kind
        )
        for name in doomed:
            self.log.info("retention: deleting finished TrainingJob %s/%s (SageMaker job and S3 model kept)",
                          namespace, name)  # fmt: skip
            self.hook.delete(training_kind, name, namespace)
        self.log.info("retention: %d training jobs of this pipeline, %d deleted, keep %d (+ champions %s)",
                      len(jobs), len(doomed), self.cfg.keep_training_jobs, sorted(protected))  # fmt: skip
        result = {"deleted": doomed, "kept": len(jobs) - len(doomed), "protected": sorted(protected)}
        if self.tuning_submit_task_id:
            records = [r for r in (champion, previous) if r is not None]
            result.update(self._retain_tuning(dag_id, namespace, records))
        return result

    @staticmethod
    def _selector(dag_id: str, task_id: str) -> str:
        from sagemaker_k8s.constants import LABEL_DAG_ID, LABEL_TASK_ID
        from sagemaker_k8s.manifests.naming import label_value

        return f"{LABEL_DAG_ID}={label_value(dag_id)},{LABEL_TASK_ID}={label_value(task_id)}"

    def _retain_tuning(self, dag_id: str, namespace: str, records: list) -> dict:
        from sagemaker_k8s.exceptions import KubeNotFound
        from sagemaker_k8s.manifests.flavours import kind_of
        from sagemaker_k8s.promotion.retention import select_tuning_for_deletion

        tuning_kind = kind_of("tuning", self.flavour)
        assert self.tuning_submit_task_id
        protected = {n for r in records for n in (r.training_job, r.training_cr, r.tuning_job) if n}
        try:
            tunings = self.hook.list(
                tuning_kind, namespace, self._selector(dag_id, self.tuning_submit_task_id)
            )
        except KubeNotFound:  # no tuning CRD: this cluster never tuned
            self.log.info("retention: no %s CRD installed: no tuning CRs to retain", tuning_kind.kind)
            return {"deleted_tuning": [], "kept_tuning": 0}
        doomed = select_tuning_for_deletion(
            tunings, keep=self.cfg.keep_training_jobs, protected=protected, kind=tuning_kind
        )
        for name in doomed:
            self.log.info(
                "retention: deleting finished %s %s/%s (the legacy controller deletes its child "
                "TrainingJob CRs; ACK has none; SageMaker jobs and S3 models kept)",
                tuning_kind.kind,
                namespace,
                name,
            )
            self.hook.delete(tuning_kind, name, namespace)
        self.log.info(
            "retention: %d tuning jobs of this pipeline, %d deleted, keep %d (+ the champions')",
            len(tunings),
            len(doomed),
            self.cfg.keep_training_jobs,
        )
        return {"deleted_tuning": doomed, "kept_tuning": len(tunings) - len(doomed)}
