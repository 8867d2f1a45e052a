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
