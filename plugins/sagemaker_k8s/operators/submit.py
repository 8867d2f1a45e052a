"""Idempotent submission of a custom resource: create it, or reattach to the one already there.

A retry, a cleared task or a worker that died after the create all come back with the same
deterministic name; finding the CR then means "reattach" (no second billed job) — unless its spec
differs from what this run wants, which fails loudly with the differences.
"""

from __future__ import annotations

import logging

from sagemaker_k8s.exceptions import KubeConflict, SpecMismatchError
from sagemaker_k8s.manifests.diff import spec_differences
from sagemaker_k8s.manifests.flavours import ResourceKind
from sagemaker_k8s.manifests.validate import validate_resource

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
