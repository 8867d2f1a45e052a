"""Submit the TrainingJob custom resource (or reattach to it on a retry/clear)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from sagemaker_k8s.links.console import SageMakerTrainingJobLink, SageMakerTrainingLogsLink
from sagemaker_k8s.resource_task import AwsHookMixin, CustomResourceTaskMixin, FlavourKind

if TYPE_CHECKING:
    from sagemaker_k8s.config.run_config import RunConfig

# Imported at DAG parse time: manifests, params and hooks are imported where they are used.


class SageMakerK8sTrainingOperator(AwsHookMixin, CustomResourceTaskMixin, BaseOperator):
    """Create the ``TrainingJob`` CR for this DAG run from ``include/manifests/<template>``.

    On the ACK flavour the CR is ACK's ``TrainingJob`` from ``ack_template``. A retry or clear whose CR
    is gone while its SageMaker job exists (someone deleted the CR; ACK keeps finished jobs) gets the
    CR back with ACK's adoption annotations, so the controller tracks that job instead of going
    ``ACK.Terminal`` ("already exists") or training twice.

    :param config: the run's resolved configuration (``RunConfig.to_dict()``, usually an XComArg)
    :param template: legacy CR template file under ``include/manifests``
    :param ack_template: ACK CR template file under ``include/manifests``
    :param kubernetes_conn_id: Kubernetes connection (kubeconfig / in-cluster)
    :param delete_on_kill: delete the CR (which stops the SageMaker job) if the task is killed
    Returns ``{"name", "namespace", "job_name", "region", "max_runtime_seconds", "reattached"}``.
    """

    template_fields: Sequence[str] = ("config", "template", "ack_template")
    operator_extra_links = (SageMakerTrainingJobLink(), SageMakerTrainingLogsLink())
    ui_color = "#ffd8b1"
    kind = FlavourKind("training")

    def __init__(
        self,
        *,
        config: dict | Any,
        template: str = "trainingjob.yaml",
        ack_template: str = "ack/trainingjob.yaml",
        kubernetes_conn_id: str = "kubernetes_default",
        aws_conn_id: str | None = "aws_default",
        delete_on_kill: bool = True,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.config = config
        self.template = template
        self.ack_template = ack_template
        self.kubernetes_conn_id = kubernetes_conn_id
        self.aws_conn_id = aws_conn_id
        self.delete_on_kill = delete_on_kill
        self._submitted: tuple[str, str] | None = None

    def build(self, cfg: RunConfig, dag_id: str, run_id: str) -> dict:
        from sagemaker_k8s.manifests.build import TrainingJobSpec, build_training_job
        from sagemaker_k8s.manifests.load import load_template
        from sagemaker_k8s.manifests.naming import resource_name
        from sagemaker_k8s.operators.submit import job_spec_fields

        name = resource_name(dag_id, run_id, self.task_id)
        spec = TrainingJobSpec(**job_spec_fields(cfg, dag_id, run_id, self.task_id, job_name=name))
        if cfg.is_ack:
            from sagemaker_k8s.manifests.ack import build_ack_training_job

            return build_ack_training_job(load_template(self.ack_template), spec)
        return build_training_job(load_template(self.template), spec)

    def execute(self, context) -> dict:
        from sagemaker_k8s.config.run_config import RunConfig
        from sagemaker_k8s.manifests.images import partition
        from sagemaker_k8s.operators.submit import adopt_if_orphaned, submit_or_reattach

        cfg = RunConfig.from_dict(self.config)
        body = self.build(cfg, context["dag"].dag_id, context["run_id"])
        name, namespace = body["metadata"]["name"], body["metadata"]["namespace"]
        self._submitted = (name, namespace)
        if cfg.is_ack:
            body = adopt_if_orphaned(self.hook, self.kind, body, self.aws.training_job_exists)
        _, reattached = submit_or_reattach(self.hook, self.kind, body)
        job_name = body["spec"]["trainingJobName"]
        for link in (SageMakerTrainingJobLink, SageMakerTrainingLogsLink):
            link.persist(
                context=context,
                operator=self,
                region_name=cfg.region,
                aws_partition=partition(cfg.region),
                job_name=job_name,
            )
        self.log.info(
            "TrainingJob %s/%s -> SageMaker job %s (%s)",
            namespace,
            name,
            job_name,
            "reattached" if reattached else "created",
        )
        return {
            "name": name,
            "namespace": namespace,
            "job_name": job_name,
            "region": cfg.region,
            "max_runtime_seconds": cfg.max_runtime_seconds,
            "reattached": reattached,
            "flavour": cfg.flavour,
        }

    def on_kill(self) -> None:
        if self.delete_on_kill and self._submitted:
            name, namespace = self._submitted
            self.log.info(
                "task killed: deleting TrainingJob %s/%s (the controller stops the job)", namespace, name
            )
            self.hook.delete(self.kind, name, namespace)
