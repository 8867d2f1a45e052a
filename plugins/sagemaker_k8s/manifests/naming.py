"""Deterministic, valid names for custom resources, SageMaker jobs and label values.

A retried task must find the CR its previous attempt created, so names derive only from the
(dag_id, run_id, task_id) triple: a readable slug for humans plus an 8-hex hash of the exact
triple so distinct runs never collide even when their slugs do.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata

from sagemaker_k8s.constants import (
    LABEL_DAG_ID,
    LABEL_MANAGED_BY,
    LABEL_RUN_ID,
    LABEL_TASK_ID,
    MANAGED_BY_VALUE,
)
from sagemaker_k8s.exceptions import ConfigError

HASH_LENGTH = 8
MAX_NAME_LENGTH = 63
MAX_SUFFIX_LENGTH = 20
MAX_PART = 20  # longest run or task part kept in a generated name

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_SAGEMAKER_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_LABEL_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
# Airflow run ids: manual__2026-11-29T23:10:00.123456+00:00, scheduled__..., asset_triggered__...
_RUN_ID = re.compile(r"(?P<type>[a-z_]+?)__(?P<date>\d{4}-\d{2}-\d{2})T(?P<time>\d{2}:\d{2}:\d{2})")


def short_hash(*parts: str) -> str:
    """8 hex characters identifying the exact parts (JSON-encoded, so ("a-b","c") != ("a","b-c"))."""
    data = json.dumps(list(parts), ensure_ascii=True).encode("ascii")
    return hashlib.sha256(data).hexdigest()[:HASH_LENGTH]


def slugify(text: str) -> str:
    """Lowercase ASCII letters, digits and single dashes; accents folded, everything else dropped."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "-", folded).strip("-")


def _compact_run_id(run_id: str) -> str:
    """``manual__2026-11-29T23:10:00.1+00:00`` -> ``20261129t231000``: the readable part of a run id."""
    match = _RUN_ID.match(run_id)
    if match:
        return f"{match['date'].replace('-', '')}t{match['time'].replace(':', '')}"
    return slugify(run_id)


def resource_name(
    dag_id: str, run_id: str, task_id: str, *, suffix: str = "", max_length: int = MAX_NAME_LENGTH
) -> str:
    """A name valid for Kubernetes (DNS-1123 label) and SageMaker, unique per (dag, run, task).

    ``suffix`` (already a short slug, e.g. ``"ep"``) is kept whole so names for several
    resources of one task stay distinct; ``max_length`` is 32 for tuning jobs.
    """
    for param, value in (("dag_id", dag_id), ("run_id", run_id), ("task_id", task_id)):
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{param} must be a non-empty string to derive a resource name", param=param)
    if suffix and (len(suffix) > MAX_SUFFIX_LENGTH or not _DNS_LABEL.fullmatch(suffix)):
        raise ConfigError(
            f"suffix {suffix[:40]!r} must be <= {MAX_SUFFIX_LENGTH} chars of [a-z0-9-], "
            "not starting or ending with '-'",
            param="suffix",
        )
    tail = short_hash(dag_id, run_id, task_id) + (f"-{suffix}" if suffix else "")
    if not len(tail) + 2 <= max_length <= MAX_NAME_LENGTH:
        raise ConfigError(
            f"max_length must be between {len(tail) + 2} and {MAX_NAME_LENGTH}", param="max_length"
        )
    budget = max_length - len(tail) - 1
    # Keep the run's timestamp and the task whole when possible; the DAG id absorbs the squeeze.
    run = _compact_run_id(run_id)[:MAX_PART].strip("-")
    task = slugify(task_id)[:MAX_PART].strip("-")
    dag = _cut_at_word(slugify(dag_id), max(budget - len(run) - len(task) - 2, 0))
    slug = "-".join(p for p in (dag, task, run) if p)[:budget].strip("-") or "airflow"[:budget]
    return f"{slug}-{tail}"


def _cut_at_word(slug: str, limit: int) -> str:
    """``slug`` in at most ``limit`` characters, cut after a whole word where one fits
    (``sagemaker-xgboost-mnist`` in 22 -> ``sagemaker-xgboost``, not ``sagemaker-xgboost-mnis``)."""
    if len(slug) <= limit:
        return slug
    head = slug[: limit + 1]
    cut = head.rfind("-")
    return (head[:cut] if cut > 0 else slug[:limit]).strip("-")


def label_value(value: str) -> str:
    """``value`` as a valid label value (<= 63 chars of ``[-A-Za-z0-9_.]``, alphanumeric ends).

    Valid values pass unchanged. Anything changed (sanitized or truncated) gets ``-<hash>`` of the
    original appended, so two run ids that sanitize alike still select different objects; the exact
    value always travels in the annotation with the same key.
    """
    if len(value) <= MAX_NAME_LENGTH and _LABEL_VALUE.fullmatch(value):
        return value
    folded = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    cleaned = re.sub(r"[^-A-Za-z0-9_.]", "_", folded)
    digest = short_hash(value)
    head = re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", cleaned[: MAX_NAME_LENGTH - HASH_LENGTH - 1])
    return f"{head}-{digest}" if head else digest


def airflow_labels(dag_id: str, run_id: str, task_id: str) -> dict[str, str]:
    """Selectable labels tying a CR to the Airflow task that owns it (values sanitized)."""
    return {
        LABEL_MANAGED_BY: MANAGED_BY_VALUE,
        LABEL_DAG_ID: label_value(dag_id),
        LABEL_RUN_ID: label_value(run_id),
        LABEL_TASK_ID: label_value(task_id),
    }


def airflow_annotations(dag_id: str, run_id: str, task_id: str) -> dict[str, str]:
    """The exact dag/run/task ids, under the same keys as the labels (annotations take any string)."""
    return {LABEL_DAG_ID: dag_id, LABEL_RUN_ID: run_id, LABEL_TASK_ID: task_id}


def is_valid_dns_label(name: object) -> bool:
    """RFC 1123 label: namespaces, and the names this package generates."""
    return isinstance(name, str) and len(name) <= 63 and bool(_DNS_LABEL.fullmatch(name))


def is_valid_k8s_name(name: object) -> bool:
    """RFC 1123 subdomain (<= 253 chars): what the API server requires of a custom resource's name."""
    return isinstance(name, str) and len(name) <= 253 and bool(_DNS_SUBDOMAIN.fullmatch(name))


def is_valid_sagemaker_name(name: object, max_length: int = MAX_NAME_LENGTH) -> bool:
    """SageMaker's training-job / endpoint name rule ``^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$``."""
    return isinstance(name, str) and len(name) <= max_length and bool(_SAGEMAKER_NAME.fullmatch(name))


def is_valid_label_value(value: object) -> bool:
    return isinstance(value, str) and len(value) <= 63 and bool(_LABEL_VALUE.fullmatch(value))


def is_valid_label_key(key: object) -> bool:
    """``[prefix/]name``: prefix a DNS subdomain (<= 253), name <= 63 chars (also for annotations)."""
    if not isinstance(key, str) or not key:
        return False
    prefix, _, name = key.rpartition("/")
    if "/" in key and not (prefix and len(prefix) <= 253 and _DNS_SUBDOMAIN.fullmatch(prefix)):
        return False
    return len(name) <= 63 and bool(_LABEL_NAME.fullmatch(name))


def serving_endpoint_name(dag_id: str, endpoint_name: str | None = None) -> str:
    """The pipeline's one SageMaker endpoint: ``endpoint_name``, else derived from the DAG id alone,
    so every run of the pipeline (scheduled, manual, retried) updates the same endpoint."""
    if endpoint_name:
        return endpoint_name
    slug = slugify(dag_id)[:MAX_NAME_LENGTH].strip("-")
    return slug or "airflow-endpoint"


def serving_cr_name(endpoint_name: str) -> str:
    """The HostingDeployment serving ``endpoint_name``: named for the endpoint, never for a run."""
    name = endpoint_name.lower()
    if not is_valid_dns_label(name):
        raise ConfigError(
            f"endpoint name {endpoint_name[:80]!r} gives no valid CR name", param="endpoint_name"
        )
    return name


def serving_labels(dag_id: str) -> dict[str, str]:
    """Labels of the pipeline's serving CR: the pipeline, not a run (runs are in the champion record)."""
    return {LABEL_MANAGED_BY: MANAGED_BY_VALUE, LABEL_DAG_ID: label_value(dag_id)}
