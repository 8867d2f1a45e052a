"""The HPO controller's child TrainingJob CRs (hyperparametertuningjob/hpo_trainingjob_spawner.go).

* Spawn: every SageMaker training job of the tuning job (ListTrainingJobsForHyperParameterTuningJob, all
  pages) that has no TrainingJob CR of that name in the tuning CR's namespace gets one: ``metadata.name`` =
  the SageMaker job name, the extra finalizer ``sagemaker-operator-hpo-trainingjob``, no labels or owner
  references, and a spec rebuilt from DescribeTrainingJob the way the operator's JSON round trip does it
  (keys matched case-insensitively against the TrainingJob type, unknown or mistyped fields dropped,
  ``HyperParameters`` as a name/value list, here sorted by name where Go's map order is random) plus the
  tuning CR's ``region`` and ``sageMakerEndpoint``. Because ``spec.trainingJobName`` is set, the TrainingJob
  controller only tracks the job. Errors are logged and skipped, as the real spawner does.
* Delete: for each of those jobs with a CR, remove the extra finalizer, then delete the CR (unless it is
  already being deleted); the TrainingJob controller then releases its own finalizer. Errors are returned
  so the caller retries.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import yaml
from botocore.exceptions import BotoCoreError, ClientError
from kubernetes.client.exceptions import ApiException

from .kube import LEGACY_GROUP, LEGACY_VERSION, TRAINING_JOBS, Gone

log = logging.getLogger(__name__)

HPO_FINALIZER = "sagemaker-operator-hpo-trainingjob"
CRD = Path(__file__).resolve().parents[2] / "include" / "manifests" / "crds" / "legacy" / "trainingjobs.yaml"
_DROP = object()
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: the CRD is large


@functools.cache
def _spec_schema() -> dict:
    crd = next(yaml.load_all(CRD.read_text(), Loader=_LOADER))
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]


def decode(value, schema: dict):
    """Go's encoding/json into a typed struct, with the CRD schema as the type: case-insensitive keys,
    unknown fields and values of the wrong type dropped (_DROP)."""
    kind = schema.get("type")
    if isinstance(value, dict):
        props = schema.get("properties")
        if kind not in (None, "object") or props is None:
            return _DROP
        by_lower = {k.lower(): k for k in props}
        out = {}
        for key, item in value.items():
            field = key if key in props else by_lower.get(key.lower())
            decoded = _DROP if field is None else decode(item, props[field])
            if decoded is not _DROP:
                out[field] = decoded
        return out
    if isinstance(value, list):
        if kind != "array":
            return _DROP
        items = [decode(item, schema.get("items") or {}) for item in value]
        return [item for item in items if item is not _DROP]
    if isinstance(value, bool):
        return value if kind == "boolean" else _DROP
    if isinstance(value, int | float):
        if kind == "integer" and float(value).is_integer():
            return int(value)
        return value if kind == "number" else _DROP
    return value if isinstance(value, str) and kind == "string" else _DROP


def spec_from_description(described: dict, region: str, endpoint: str | None) -> dict:
    """CreateTrainingJobSpecFromDescription, plus the region and endpoint the description lacks."""
    described = dict(described)
    hyperparameters = described.pop("HyperParameters", None) or {}
    spec = decode(described, _spec_schema())
    spec["hyperParameters"] = [{"name": k, "value": str(v)} for k, v in sorted(hyperparameters.items())]
    spec["region"] = region
    if endpoint:
        spec["sageMakerEndpoint"] = endpoint
    return spec


def sagemaker_children(sm, tuning_name: str) -> list[str]:
    """Every training job the tuning job launched (all pages)."""
    names, token = [], None
    while True:
        page = sm.list_training_jobs_for_hyper_parameter_tuning_job(
            HyperParameterTuningJobName=tuning_name, **({"NextToken": token} if token else {})
        )
        names += [s["TrainingJobName"] for s in page.get("TrainingJobSummaries", [])]
        token = page.get("NextToken")
        if not token:
            return names


def spawn_missing(ctx, cr: dict, sm, tuning_name: str) -> None:
    meta, spec = cr["metadata"], cr.get("spec") or {}
    namespace = meta["namespace"]
    try:
        names = sagemaker_children(sm, tuning_name)
    except (ClientError, BotoCoreError) as e:
        log.info("%s: error while getting training jobs: %s", tuning_name, e)
        return
    existing = {o["metadata"]["name"] for o in ctx.kube.list(TRAINING_JOBS, namespace)}
    for name in names:
        if name in existing:
            continue
        try:
            described = sm.describe_training_job(TrainingJobName=name)
            child_spec = spec_from_description(
                described, spec.get("region", ""), spec.get("sageMakerEndpoint")
            )
            ctx.kube.create(
                TRAINING_JOBS,
                namespace,
                {
                    "apiVersion": f"{LEGACY_GROUP}/{LEGACY_VERSION}",
                    "kind": "TrainingJob",
                    "metadata": {"name": name, "namespace": namespace, "finalizers": [HPO_FINALIZER]},
                    "spec": child_spec,
                },
            )
            log.info("spawned TrainingJob %s/%s for tuning job %s", namespace, name, tuning_name)
        except (ClientError, BotoCoreError, ApiException, Gone) as e:
            log.info("unable to spawn missing training job %s: %s", name, e)


def delete_spawned(ctx, cr: dict, sm, tuning_name: str) -> list[str]:
    """Delete the children; returns the errors (empty when every child is gone or going)."""
    namespace = cr["metadata"]["namespace"]
    try:
        names = sagemaker_children(sm, tuning_name)
    except (ClientError, BotoCoreError) as e:
        return [str(e)]
    errors = []
    for name in names:
        child = ctx.kube.get(TRAINING_JOBS, namespace, name)
        if child is None:
            continue
        try:
            finalizers = child["metadata"].get("finalizers") or []
            if HPO_FINALIZER in finalizers:
                child["metadata"]["finalizers"] = [f for f in finalizers if f != HPO_FINALIZER]
                child = ctx.kube.replace(TRAINING_JOBS, child)
            if not child["metadata"].get("deletionTimestamp"):
                ctx.kube.delete(TRAINING_JOBS, namespace, name)
        except (Gone, ApiException) as e:
            errors.append(f"{name}: {e}")
    return errors
