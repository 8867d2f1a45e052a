"""Idempotent submission of a custom resource: create it, or reattach to the one already there.

A retry, a cleared task or a worker that died after the create all come back with the same
deterministic name; finding the CR then means "reattach" (no second billed job) — unless its spec
differs from what this run wants, which fails loudly with the differences.

``JobSubmitOperator`` is that submission as the submit task of a SageMaker job CR (training, tuning).
Imported at DAG parse time: manifests, exceptions and hooks are imported where they are used.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator

from sagemaker_k8s.resource_task import AwsHookMixin, CustomResourceTaskMixin

if TYPE_CHECKING:
    from sagemaker_k8s.config.run_config import RunConfig
    from sagemaker_k8s.manifests.flavours import ResourceKind

log = logging.getLogger(__name__)


def job_spec_fields(cfg, dag_id: str, run_id: str, task_id: str, job_name: str) -> dict:
    """The ``manifests.specs.TrainingJobSpec`` fields of a run's job, shared by the training CR and
    the tuning CR's training-job definition: names, data, resources, image, role, labels."""
    from sagemaker_k8s.manifests.images import xgboost_image
    from sagemaker_k8s.manifests.naming import airflow_annotations, airflow_labels, resource_name

    return {
        "cr_name": resource_name(dag_id, run_id, task_id),
        "namespace": cfg.namespace,
        "job_name": job_name,
        "region": cfg.region,
        "role_arn": cfg.execution_role_arn,
        "image": cfg.training_image or xgboost_image(cfg.region),
        "bucket": cfg.bucket,
        "prefix": cfg.s3_prefix,
        "instance_type": cfg.instance_type,
        "instance_count": cfg.instance_count,
        "volume_size_gb": cfg.volume_size_gb,
        "max_runtime_seconds": cfg.max_runtime_seconds,
        "hyperparameters": cfg.hyperparameters,
        "labels": airflow_labels(dag_id, run_id, task_id),
        "annotations": airflow_annotations(dag_id, run_id, task_id),
    }


def adopt_if_orphaned(hook, kind: ResourceKind, body: dict, job_exists) -> dict:
    """ACK: ``body`` with the adoption annotations when its CR is gone but its SageMaker job is not.

    ACK refuses to create a job whose name exists (``ACK.Terminal``); a retry or clear after someone
    deleted the CR (ACK keeps finished jobs, and a running one is stopped, not removed) must track
    that job instead. ``job_exists(name) -> bool`` asks SageMaker. A CR that exists is left to
    ``submit_or_reattach``.
    """
    from sagemaker_k8s.manifests.ack import adoption_annotations

    name, namespace = body["metadata"]["name"], body["metadata"]["namespace"]
    job_name = body["spec"][kind.name_field]
    if hook.find(kind, name, namespace) is not None or not job_exists(job_name):
        return body
    log.info(
        "%s %s/%s is gone but SageMaker job %s exists: adopting it", kind.kind, namespace, name, job_name
    )
    body = {**body, "metadata": {**body["metadata"]}}
    body["metadata"]["annotations"] = {
        **body["metadata"].get("annotations", {}),
        **adoption_annotations(kind, job_name),
    }
    return body


def submit_or_reattach(hook, kind: ResourceKind, body: dict) -> tuple[dict, bool]:
    """Validate ``body``, then create it or reattach. Returns ``(object, reattached)``."""
    from sagemaker_k8s.exceptions import KubeConflict, SpecMismatchError
    from sagemaker_k8s.manifests.diff import spec_differences
    from sagemaker_k8s.manifests.validate import validate_resource

    validate_resource(kind, body)
    name, namespace = body["metadata"]["name"], body["metadata"]["namespace"]
    existing = hook.find(kind, name, namespace)
    if existing is None:
        try:
            created = hook.create(kind, body, namespace)
        except KubeConflict as e:
            if not e.already_exists:
                raise
            existing = hook.get(kind, name, namespace)  # lost a race with ourselves (a retry)
        else:
            log.info("created %s %s/%s", kind.kind, namespace, name)
            return created, False
    differences = spec_differences(existing, body)
    if differences:
        raise SpecMismatchError(
            f"{kind.kind} {namespace}/{name} already exists with a different spec; refusing to reattach "
            f"(to start over: kubectl delete {kind.plural}.{kind.group} {name} -n {namespace})",
            differences,
        )
    log.info(
        "reattached to existing %s %s/%s (status: %s)", kind.kind, namespace, name, existing.get("status")
    )
    return existing, True


class JobSubmitOperator(AwsHookMixin, CustomResourceTaskMixin, BaseOperator):
    """The submit task of a SageMaker job CR: the run's CR from the flavour's template (``build``),
    created or reattached (``submit``; on ACK a job whose CR is gone is adopted), its console links
    persisted, and the CR deleted if the task is killed (``on_kill``: the controller stops the job).

    A subclass names its ``kind``, its templates, its console links (``operator_extra_links``: each
    persists the job name) and what deleting the CR stops (``kill_effect``), and builds the CR and the
    task's result.

    :param config: the run's resolved configuration (``RunConfig.to_dict()``, usually an XComArg)
    :param template: legacy CR template file under ``include/manifests`` (default: the kind's)
    :param ack_template: ACK CR template file under ``include/manifests`` (default: the kind's)
    :param kubernetes_conn_id: Kubernetes connection (kubeconfig / in-cluster)
    :param aws_conn_id: AWS connection (ACK: whether the SageMaker job exists, for adoption)
    :param delete_on_kill: delete the CR if the task is killed
    """

    template_fields: Sequence[str] = ("config", "template", "ack_template")
    ui_color = "#ffd8b1"
    default_template: ClassVar[str]
    default_ack_template: ClassVar[str]
    kill_effect: ClassVar[str] = "the controller stops the job"

    def __init__(
        self,
        *,
        config: dict | Any,
        template: str | None = None,
        ack_template: str | None = None,
        kubernetes_conn_id: str = "kubernetes_default",
        aws_conn_id: str | None = "aws_default",
        delete_on_kill: bool = True,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.config = config
        self.template = template or self.default_template
        self.ack_template = ack_template or self.default_ack_template
        self.kubernetes_conn_id = kubernetes_conn_id
        self.aws_conn_id = aws_conn_id
        self.delete_on_kill = delete_on_kill
        self._submitted: tuple[str, str] | None = None

    def submit(
        self, context, cfg: RunConfig, body: dict, job_exists: Callable[[str], bool]
    ) -> tuple[str, str, str, bool]:
        """Create ``body`` or reattach to it (``job_exists(name)`` asks SageMaker, for ACK adoption);
        persists the links. Returns ``(name, namespace, job_name, reattached)``."""
        from sagemaker_k8s.manifests.images import partition

        name, namespace = body["metadata"]["name"], body["metadata"]["namespace"]
        self._submitted = (name, namespace)
        if cfg.is_ack:
            body = adopt_if_orphaned(self.hook, self.kind, body, job_exists)
        _, reattached = submit_or_reattach(self.hook, self.kind, body)
        job_name = body["spec"][self.kind.name_field]
        for link in self.operator_extra_links:
            link.persist(
                context=context,
                operator=self,
                region_name=cfg.region,
                aws_partition=partition(cfg.region),
                job_name=job_name,
            )
        return name, namespace, job_name, reattached

    def on_kill(self) -> None:
        if self.delete_on_kill and self._submitted:
            name, namespace = self._submitted
            self.log.info(
                "task killed: deleting %s %s/%s (%s)", self.kind.kind, namespace, name, self.kill_effect
            )
            self.hook.delete(self.kind, name, namespace)
