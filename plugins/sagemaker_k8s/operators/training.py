"""Submit the TrainingJob custom resource (or reattach to it on a retry/clear)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sagemaker_k8s.links.console import SageMakerTrainingJobLink, SageMakerTrainingLogsLink
from sagemaker_k8s.operators.submit import JobSubmitOperator, job_spec_fields
from sagemaker_k8s.resource_task import FlavourKind

if TYPE_CHECKING:
    from sagemaker_k8s.config.run_config import RunConfig


class SageMakerK8sTrainingOperator(JobSubmitOperator):
    """Create the ``TrainingJob`` CR for this DAG run from ``include/manifests/<template>``
    (default ``trainingjob.yaml``).

    On the ACK flavour the CR is ACK's ``TrainingJob`` from ``ack_template`` (default
    ``ack/trainingjob.yaml``). A retry or clear whose CR is gone while its SageMaker job exists
    (someone deleted the CR; ACK keeps finished jobs) gets the CR back with ACK's adoption
    annotations, so the controller tracks that job instead of going ``ACK.Terminal`` ("already
    exists") or training twice. Parameters: ``JobSubmitOperator``'s.
    Returns ``{"name", "namespace", "job_name", "region", "max_runtime_seconds", "reattached",
    "flavour"}``.
    """

    operator_extra_links = (SageMakerTrainingJobLink(), SageMakerTrainingLogsLink())
    kind = FlavourKind("training")
    default_template = "trainingjob.yaml"
    default_ack_template = "ack/trainingjob.yaml"

    def build(self, cfg: RunConfig, dag_id: str, run_id: str) -> dict:
        from sagemaker_k8s.manifests.build import TrainingJobSpec, build_training_job
        from sagemaker_k8s.manifests.load import load_template
        from sagemaker_k8s.manifests.naming import resource_name

        name = resource_name(dag_id, run_id, self.task_id)
        spec = TrainingJobSpec(**job_spec_fields(cfg, dag_id, run_id, self.task_id, job_name=name))
        if cfg.is_ack:
            from sagemaker_k8s.manifests.ack import build_ack_training_job

            return build_ack_training_job(load_template(self.ack_template), spec)
        return build_training_job(load_template(self.template), spec)

    def execute(self, context) -> dict:
        from sagemaker_k8s.config.run_config import RunConfig

        cfg = RunConfig.from_dict(self.config)
        body = self.build(cfg, context["dag"].dag_id, context["run_id"])
        name, namespace, job_name, reattached = self.submit(context, cfg, body, self.aws.training_job_exists)
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
