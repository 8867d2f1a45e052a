"""Submit the tuning job custom resource (or reattach to it on a retry/clear)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sagemaker_k8s.links.console import SageMakerTuningJobLink
from sagemaker_k8s.operators.submit import JobSubmitOperator, job_spec_fields
from sagemaker_k8s.resource_task import FlavourKind

if TYPE_CHECKING:
    from sagemaker_k8s.config.run_config import RunConfig


class SageMakerK8sTuningOperator(JobSubmitOperator):
    """Create the tuning job CR for this DAG run: the legacy ``HyperparameterTuningJob`` from
    ``include/manifests/<template>`` (default ``hyperparametertuningjob.yaml``), or on the ACK flavour
    ACK's ``HyperParameterTuningJob`` from ``<ack_template>`` (default
    ``ack/hyperparametertuningjob.yaml``; same name, ranges, strategy, objective and limits).

    Tunes the run's ``tuning`` param (``RunConfig.tuning``; a run without one fails at once): the
    tuned names override the static ``hyperparameters``. Names are deterministic, so a retry or a
    cleared task reattaches to the CR (and tuning job) its previous try created. On ACK, a CR that is
    gone while its SageMaker tuning job exists comes back with ACK's adoption annotations (as the
    training operator's), so the controller tracks that job instead of refusing the name.
    Parameters: ``JobSubmitOperator``'s; a killed task's CR deletion stops the tuning job and its
    training jobs.
    Returns ``{"name", "namespace", "job_name", "region", "max_runtime_seconds", "s3_output_path",
    "objective": {"name", "type"}, "reattached", "flavour"}``; ``max_runtime_seconds`` bounds the whole
    tuning job (per-job maximum x ``ceil(max_jobs / max_parallel)``).
    """

    operator_extra_links = (SageMakerTuningJobLink(),)
    kind = FlavourKind("tuning")
    default_template = "hyperparametertuningjob.yaml"
    default_ack_template = "ack/hyperparametertuningjob.yaml"
    kill_effect = "the controller stops the tuning job and its training jobs"

    def spec(self, cfg: RunConfig, dag_id: str, run_id: str):
        """The run's ``manifests.tuning.TuningJobSpec`` (``ConfigError`` if the run does not tune)."""
        from sagemaker_k8s.exceptions import ConfigError
        from sagemaker_k8s.manifests.naming import resource_name
        from sagemaker_k8s.manifests.tuning import TuningJobSpec

        tuning = cfg.tuning
        if tuning is None:
            raise ConfigError(
                f"{self.task_id}: this run has no tuning param (null trains one model); "
                "set tuning to an object to tune",
                param="tuning",
            )
        job_name = resource_name(dag_id, run_id, self.task_id, max_length=self.kind.name_max_length)
        return TuningJobSpec(
            **job_spec_fields(cfg, dag_id, run_id, self.task_id, job_name=job_name),
            max_jobs=tuning["max_jobs"],
            max_parallel=tuning["max_parallel"],
            strategy=tuning["strategy"],
            objective_metric=tuning["objective_metric"],
            objective_type=tuning["objective_type"],
            ranges=tuning["ranges"],
        )

    def build(self, cfg: RunConfig, dag_id: str, run_id: str) -> dict:
        from sagemaker_k8s.manifests.load import load_template
        from sagemaker_k8s.manifests.tuning import build_ack_tuning_job, build_tuning_job

        spec = self.spec(cfg, dag_id, run_id)
        if cfg.is_ack:
            return build_ack_tuning_job(load_template(self.ack_template), spec)
        return build_tuning_job(load_template(self.template), spec)

    def execute(self, context) -> dict:
        from sagemaker_k8s.config.run_config import RunConfig

        cfg = RunConfig.from_dict(self.config)
        dag_id, run_id = context["dag"].dag_id, context["run_id"]
        spec = self.spec(cfg, dag_id, run_id)
        body = self.build(cfg, dag_id, run_id)
        name, namespace, job_name, reattached = self.submit(context, cfg, body, self._tuning_job_exists)
        self.log.info(
            "%s %s/%s -> SageMaker tuning job %s (%s): %d jobs, %d at a time, %s %s",
            self.kind.kind, namespace, name, job_name, "reattached" if reattached else "created",
            spec.max_jobs, spec.max_parallel, spec.objective_type, spec.objective_metric,
        )  # fmt: skip
        return {
            "name": name,
            "namespace": namespace,
            "job_name": job_name,
            "region": cfg.region,
            "max_runtime_seconds": spec.max_runtime_total,
            "s3_output_path": body["spec"]["trainingJobDefinition"]["outputDataConfig"]["s3OutputPath"],
            "objective": {"name": spec.objective_metric, "type": spec.objective_type},
            "reattached": reattached,
            "flavour": cfg.flavour,
        }

    def _tuning_job_exists(self, job_name: str) -> bool:
        """Whether SageMaker has the tuning job (DescribeHyperParameterTuningJob; other errors raise)."""
        from sagemaker_k8s.exceptions import SageMakerJobNotFound

        try:
            self.aws.tuning_result(job_name)
        except SageMakerJobNotFound:
            return False
        return True
