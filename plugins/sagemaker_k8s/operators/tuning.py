"""Submit the tuning job custom resource (or reattach to it on a retry/clear)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from sagemaker_k8s.links.console import SageMakerTuningJobLink
from sagemaker_k8s.resource_task import AwsHookMixin, CustomResourceTaskMixin, FlavourKind

if TYPE_CHECKING:
    from sagemaker_k8s.config.run_config import RunConfig

# Imported at DAG parse time: manifests, params and hooks are imported where they are used.


class SageMakerK8sTuningOperator(AwsHookMixin, CustomResourceTaskMixin, BaseOperator):
    """Create the tuning job CR for this DAG run: the legacy ``HyperparameterTuningJob`` from
    ``include/manifests/<template>``, or on the ACK flavour ACK's ``HyperParameterTuningJob`` from
    ``<ack_template>`` (same name, ranges, strategy, objective and limits).

    Tunes the run's ``tuning`` param (``RunConfig.tuning``; a run without one fails at once): the
    tuned names override the static ``hyperparameters``. Names are deterministic, so a retry or a
    cleared task reattaches to the CR (and tuning job) its previous try created. On ACK, a CR that is
    gone while its SageMaker tuning job exists comes back with ACK's adoption annotations (as the
    training operator's), so the controller tracks that job instead of refusing the name.

    :param config: the run's resolved configuration (``RunConfig.to_dict()``, usually an XComArg)
    :param template: legacy CR template file under ``include/manifests``
    :param ack_template: ACK CR template file under ``include/manifests``
    :param kubernetes_conn_id: Kubernetes connection (kubeconfig / in-cluster)
    :param aws_conn_id: AWS connection (ACK only: whether the tuning job exists, for adoption)
    :param delete_on_kill: delete the CR if the task is killed (the controller stops the tuning job
        and its training jobs)
    Returns ``{"name", "namespace", "job_name", "region", "max_runtime_seconds", "s3_output_path",
    "objective": {"name", "type"}, "reattached", "flavour"}``; ``max_runtime_seconds`` bounds the whole
    tuning job (per-job maximum x ``ceil(max_jobs / max_parallel)``).
    """

    template_fields: Sequence[str] = ("config", "template", "ack_template")
    operator_extra_links = (SageMakerTuningJobLink(),)
    ui_color = "#ffd8b1"
    kind = FlavourKind("tuning")

    def __init__(
        self,
        *,
        config: dict | Any,
        template: str = "hyperparametertuningjob.yaml",
        ack_template: str = "ack/hyperparametertuningjob.yaml",
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

    def spec(self, cfg: RunConfig, dag_id: str, run_id: str):
        """The run's ``manifests.tuning.TuningJobSpec`` (``ConfigError`` if the run does not tune)."""
        from sagemaker_k8s.exceptions import ConfigError
        from sagemaker_k8s.manifests.naming import resource_name
        from sagemaker_k8s.manifests.tuning import TuningJobSpec
        from sagemaker_k8s.operators.submit import job_spec_fields

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
        from sagemaker_k8s.manifests.images import partition
        from sagemaker_k8s.operators.submit import adopt_if_orphaned, submit_or_reattach

        cfg = RunConfig.from_dict(self.config)
        dag_id, run_id = context["dag"].dag_id, context["run_id"]
        spec = self.spec(cfg, dag_id, run_id)
        body = self.build(cfg, dag_id, run_id)
        name, namespace = body["metadata"]["name"], body["metadata"]["namespace"]
        self._submitted = (name, namespace)
        if cfg.is_ack:
            body = adopt_if_orphaned(self.hook, self.kind, body, self._tuning_job_exists)
        _, reattached = submit_or_reattach(self.hook, self.kind, body)
        job_name = body["spec"]["hyperParameterTuningJobName"]
        SageMakerTuningJobLink.persist(
            context=context,
            operator=self,
            region_name=cfg.region,
            aws_partition=partition(cfg.region),
            job_name=job_name,
        )
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

    def on_kill(self) -> None:
        if self.delete_on_kill and self._submitted:
            name, namespace = self._submitted
            self.log.info(
                "task killed: deleting %s %s/%s (the controller stops the tuning job and its training jobs)",
                self.kind.kind,
                namespace,
                name,
            )
            self.hook.delete(self.kind, name, namespace)
