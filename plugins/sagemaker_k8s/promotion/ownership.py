"""Is the pipeline's endpoint its own? Checked before any side effect, never taken over silently.

The endpoint is served by exactly one serving CR (a legacy HostingDeployment, an ACK Endpoint) whose
name derives from the endpoint. The
pipeline refuses to proceed when that CR belongs to someone else, when another CR also claims the
endpoint (two CRs would fight over it, and deleting either deletes it), or when the endpoint exists
in SageMaker with no CR at all (created outside the pipeline). Each refusal names the fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sagemaker_k8s.constants import LABEL_DAG_ID
from sagemaker_k8s.manifests.flavours import LEGACY_HOSTING_DEPLOYMENT, ResourceKind


@dataclass(frozen=True)
class Ownership:
    ok: bool
    detail: str
    fix: str | None = None


def owner_of(obj: Mapping[str, Any]) -> str | None:
    """The DAG id recorded on a CR (the exact id is in the annotation; the label is sanitized)."""
    meta = obj.get("metadata") or {}
    return (meta.get("annotations") or {}).get(LABEL_DAG_ID) or (meta.get("labels") or {}).get(LABEL_DAG_ID)


def _ref(obj: Mapping[str, Any], kind: ResourceKind) -> str:
    meta = obj.get("metadata") or {}
    return f"{kind.kubectl_name} {meta.get('name')} -n {meta.get('namespace')}"


def check_ownership(
    *,
    dag_id: str,
    endpoint_name: str,
    serving: Mapping[str, Any] | None,
    claimants: Iterable[Mapping[str, Any]],
    endpoint_exists: bool,
    kind: ResourceKind = LEGACY_HOSTING_DEPLOYMENT,
) -> Ownership:
    """``serving``: the CR named for the endpoint, if any; ``claimants``: every serving CR (of ``kind``)
    of the namespace whose ``spec.endpointName`` is the endpoint; ``endpoint_exists``: in SageMaker."""
    serving_name = (serving or {}).get("metadata", {}).get("name")
    if serving is not None:
        owner = owner_of(serving)
        if owner != dag_id:
            return Ownership(
                False,
                f"{_ref(serving, kind)} serves endpoint {endpoint_name} but belongs to "
                f"{'DAG ' + owner if owner else 'no Airflow DAG'}, not {dag_id}",
                "choose another endpoint_name, or hand it over on purpose: "
                f"kubectl annotate {_ref(serving, kind)} --overwrite {LABEL_DAG_ID}={dag_id}",
            )
    others = [c for c in claimants if (c.get("metadata") or {}).get("name") != serving_name]
    if others:
        names = ", ".join(sorted(str((c.get("metadata") or {}).get("name")) for c in others))
        first = others[0]
        return Ownership(
            False,
            f"endpoint {endpoint_name} is also claimed by {kind.kind} {names} "
            "(a per-run CR left by an earlier version of this DAG, or another deployment)",
            f"delete it (this deletes the endpoint; the next run recreates it from the best model): "
            f"kubectl delete {_ref(first, kind)}",
        )
    if serving is None and endpoint_exists:
        return Ownership(
            False,
            f"SageMaker endpoint {endpoint_name} exists but no {kind.kind} manages it "
            "(created outside this pipeline)",
            f"choose another endpoint_name, or delete the endpoint: "
            f"aws sagemaker delete-endpoint --endpoint-name {endpoint_name}",
        )
    if serving is None:
        return Ownership(True, f"endpoint {endpoint_name} is free: the first promotion creates it")
    return Ownership(True, f"endpoint {endpoint_name} is served by this pipeline's {_ref(serving, kind)}")
