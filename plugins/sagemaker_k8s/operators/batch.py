"""Batch scoring: the challenger's accuracy on the whole test split, by a SageMaker batch transform.

Three steps in one task, deferring twice: create a stand-alone ``Model`` CR for the challenger's
``model.tar.gz`` and wait until it is ready (legacy: ``Created``; ACK: ``ACK.ResourceSynced=True``);
create a transform job CR (legacy ``BatchTransformJob``, ACK ``TransformJob``) over the uploaded
``test/`` folder with that model's SageMaker name (legacy: ``status.sageMakerModelName``; ACK: the
Model's ``spec.modelName``, its CR name) and wait until it ends; read every ``<input>.out`` object in
input order and score it against the labels. Only the manifests and the model's name differ per
flavour: the steps, reattaching, clearing and deleting are one code path. Names derive from
(dag_id, run_id, task_id), so a retry reattaches to the same CRs; a task cleared after success
(its CRs deleted) finds the transform ``Completed`` in SageMaker and scores its output again.

The Model exists only for the transform: its CR (and so the SageMaker model) is deleted once the
transform has ended, successfully or not. The transform job CR is deleted after a successful
score (SageMaker keeps the job's record, S3 its output) and kept after a failure, for inspection.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from sagemaker_k8s.operators.submit import submit_or_reattach
from sagemaker_k8s.resource_task import AwsHookMixin, CustomResourceTaskMixin, FlavourKind

if TYPE_CHECKING:
    from sagemaker_k8s.config.run_config import RunConfig

# Imported at DAG parse time: manifests, hooks and the trigger are imported where they are used.


class SageMakerK8sBatchScoreOperator(AwsHookMixin, CustomResourceTaskMixin, BaseOperator):
    """Score the run's challenger on the test split with a batch transform.

    :param config: the run's resolved configuration (``RunConfig.to_dict()``, usually an XComArg)
    :param dataset: ``upload_dataset``'s XCom (``{"test": s3 folder, "test_labels": s3 object, ...}``)
    :param training_task_ids: the tasks that may have pushed the challenger; the first that did is used
    :param model_template, transform_template: legacy CR templates under ``include/manifests``
    :param ack_model_template, ack_transform_template: the ACK flavour's
    Returns ``{"accuracy", "rows", "correct", "output", "transform_job", "model", "training_job"}``;
    skipped when the run's ``batch_scoring`` is false.
    """

    template_fields: Sequence[str] = ("config", "dataset")  # not the templates: file names, not Jinja
    ui_color = "#d8ecf0"
    model_kind = FlavourKind("model")
    transform_kind = FlavourKind("transform")

    def __init__(
        self,
        *,
        config: dict | Any,
        dataset: dict | Any,
        training_task_ids: Sequence[str] = ("wait_training", "wait_tuning"),
        kubernetes_conn_id: str = "kubernetes_default",
        aws_conn_id: str | None = "aws_default",
        poll_interval: float = 30.0,
        ack_timeout: float = 120.0,
        reconciling_timeout: float = 600.0,
        model_timeout: float = 1800.0,
        transform_timeout: float = 6 * 3600.0,
        model_template: str = "model.yaml",
        transform_template: str = "batchtransformjob.yaml",
        ack_model_template: str = "ack/model.yaml",
        ack_transform_template: str = "ack/transformjob.yaml",
        **kwargs,
    ) -> None:
        kwargs.setdefault("trigger_rule", "none_failed_min_one_success")  # one training wait is skipped
        super().__init__(**kwargs)
        self.config = config
        self.dataset = dataset
        self.training_task_ids = tuple(training_task_ids)
        self.kubernetes_conn_id = kubernetes_conn_id
        self.aws_conn_id = aws_conn_id
        self.poll_interval = poll_interval
        self.ack_timeout = ack_timeout
        self.reconciling_timeout = reconciling_timeout
        self.model_timeout = model_timeout
        self.transform_timeout = transform_timeout
        self.model_template = model_template
        self.transform_template = transform_template
        self.ack_model_template = ack_model_template
        self.ack_transform_template = ack_transform_template
        self._names: tuple[str, str, str] | None = None  # (model CR, transform CR = job, namespace)

    @cached_property
    def cfg(self) -> RunConfig:
        from sagemaker_k8s.config.run_config import RunConfig

        return RunConfig.from_dict(self.config)

    @property
    def aws_region(self) -> str:
        return self.cfg.region

    def names(self, context) -> tuple[str, str, str]:
        """(Model CR, transform CR and SageMaker job, namespace) of this run's task; on ACK the Model CR's
        name is also the SageMaker model's."""
        from sagemaker_k8s.manifests.naming import resource_name

        dag_id, run_id = context["dag"].dag_id, context["run_id"]
        model = resource_name(dag_id, run_id, self.task_id, suffix="model")
        self._names = (model, resource_name(dag_id, run_id, self.task_id), self.cfg.namespace)
        return self._names

    # -- step 1: the Model ----------------------------------------------------------------------------
    def execute(self, context) -> dict | None:
        from sagemaker_k8s.operators.batch_steps import build_model_cr, finished_elsewhere
        from sagemaker_k8s.operators.challenger import pull_challenger

        if not self.cfg.batch_scoring:
            raise AirflowSkipException("batch_scoring is false: the challenger is not batch-scored")
        challenger = pull_challenger(context, self.training_task_ids)
        model_cr, job, namespace = self.names(context)
        transform = self.hook.find(self.transform_kind, job, namespace)
        if transform is not None:  # a retry after the Model step: wait for the transform again
            self.log.info("reattaching to %s %s/%s", self.transform_kind.kind, namespace, job)
            return self._defer(self.transform_kind, job, "transform_done")
        earlier = finished_elsewhere(self.aws.transform_job(job), job, self.transform_kind)
        if earlier is not None:  # cleared after success: the CRs are gone, SageMaker's record is not
            self.log.info("transform job %s already completed in SageMaker: scoring its output", job)
            return self._score(context, challenger, earlier)
        body = build_model_cr(self, context, challenger["model_path"])
        _, reattached = submit_or_reattach(self.hook, self.model_kind, body)
        self.log.info("Model %s/%s for %s (%s)", namespace, model_cr, challenger["model_path"],
                      "reattached" if reattached else "created")  # fmt: skip
        return self._defer(self.model_kind, model_cr, "model_ready")

    # -- step 2: the transform job -------------------------------------------------------------------
    # Each step reads what it needs again (XCom, SageMaker) instead of carrying it in the defer's
    # kwargs: `airflow dags test` resumes a deferred task with the event alone.
    def model_ready(self, context, event: Any) -> None:
        from sagemaker_k8s.operators.batch_steps import build_transform_cr, sagemaker_model_name
        from sagemaker_k8s.resource_task.events import check_event

        model_cr, job, namespace = self.names(context)
        try:
            status = check_event(event, self.model_kind, model_cr, namespace)
        except AirflowFailException:
            self._delete(self.model_kind, model_cr)  # nothing to keep; a clear starts over
            raise
        model_name = sagemaker_model_name(self, status, model_cr)
        if not model_name:
            self._delete(self.model_kind, model_cr)
            raise AirflowFailException(f"Model {namespace}/{model_cr} is Created without sageMakerModelName")
        self.log.info("SageMaker model %s is created; starting transform job %s", model_name, job)
        submit_or_reattach(self.hook, self.transform_kind, build_transform_cr(self, context, model_name))
        self._defer(self.transform_kind, job, "transform_done")

    # -- step 3: score --------------------------------------------------------------------------------
    def transform_done(self, context, event: Any) -> dict:
        from sagemaker_k8s.operators.batch_steps import transform_failure
        from sagemaker_k8s.operators.challenger import pull_challenger
        from sagemaker_k8s.resource_task.events import check_event

        model_cr, job, namespace = self.names(context)
        try:
            check_event(event, self.transform_kind, job, namespace)
        except AirflowFailException as e:
            self._delete(self.model_kind, model_cr)
            raise transform_failure(self, e, job, namespace) from e
        # a retryable error (the Kubernetes API) leaves both CRs: the retry reattaches
        self._delete(self.model_kind, model_cr)
        described = self.aws.transform_job(job) or {}
        result = self._score(
            context, pull_challenger(context, self.training_task_ids), described.get("model_name")
        )
        self._delete(self.transform_kind, job)
        return result

    def _score(self, context, challenger: dict, model_name: str) -> dict:
        from sagemaker_k8s.operators.batch_steps import read_outputs, score_outputs

        _, job, _ = self.names(context)
        output_uri, outputs = read_outputs(self, self.dataset, job)
        score = score_outputs(self, self.dataset, outputs)
        self.log.info(
            "batch transform %s: accuracy %.4f (%d of %d test rows) for training job %s; output %s",
            job, score.accuracy, score.correct, score.rows, challenger["job_name"], output_uri,
        )  # fmt: skip
        return {
            "accuracy": score.accuracy,
            "rows": score.rows,
            "correct": score.correct,
            "output": output_uri,
            "transform_job": job,
            "model": model_name,
            "training_job": challenger["job_name"],
        }

    # -- helpers --------------------------------------------------------------------------------------
    def _defer(self, kind, name: str, method_name: str) -> None:
        from sagemaker_k8s.resource_task.events import make_trigger

        timeout = self.model_timeout if kind is self.model_kind else self.transform_timeout
        trigger = make_trigger(kind, name, self.cfg.namespace, self.kubernetes_conn_id,
                               self.poll_interval, self.policy, delete_on_kill=True)  # fmt: skip
        self.defer(
            trigger=trigger,
            method_name=method_name,
            timeout=timedelta(seconds=timeout),
        )

    def _delete(self, kind, name: str) -> None:
        if self.hook.delete(kind, name, self.cfg.namespace):
            self.log.info("deleted %s %s/%s", kind.kind, self.cfg.namespace, name)

    def on_kill(self) -> None:
        if self._names is None:
            return
        model_cr, job, namespace = self._names
        self.log.info("task killed: deleting %s %s/%s (stops the job) and Model %s/%s",
                      self.transform_kind.kind, namespace, job, namespace, model_cr)  # fmt: skip
        self.hook.delete(self.transform_kind, job, namespace)
        self.hook.delete(self.model_kind, model_cr, namespace)
