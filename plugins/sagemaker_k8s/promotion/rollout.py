"""When is a promotion (or a rollback) done? Only when the model is live, not when a CR says so.

The legacy HostingDeployment controller writes ``status.endpointConfigName`` as the config it
*wants* (the current generation's child) and copies ``failureReason`` from SageMaker; on a failed
``UpdateEndpoint`` SageMaker rolls back and the endpoint is ``InService`` again on the old config.
On ACK the config wanted is the Endpoint's own ``spec.endpointConfigName``; a failed update leaves
``ACK.ResourceSynced=False`` (``EndpointUpdateError``) while the controller retries it, so there a
rollback seen live fails the wait at once instead of after the reconciling timeout.
So the rollout is judged from both sides:

* success: SageMaker says ``InService``, its endpoint config is the one the CR wants (and is not
  the baseline, the config live before the change), and that config's model serves ``target``;
* failure: the update rolled back (``InService`` on the baseline config with a new failure reason),
  the endpoint ``Failed``, or the CR failed / is being deleted; a controller stuck reconciling an
  error fails after the reconciling timeout, like every other wait.
Pure: the caller supplies the CR, the live description and the clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from sagemaker_k8s.manifests.flavours import LEGACY_HOSTING_DEPLOYMENT, ResourceKind
from sagemaker_k8s.manifests.status import Phase, interpret
from sagemaker_k8s.manifests.waiting import (
    FAILED,
    RECONCILING_TIMEOUT,
    SUCCESS,
    Outcome,
    WaitPolicy,
    WaitState,
    assess,
)


@dataclass(frozen=True)
class LiveEndpoint:
    """What SageMaker says the endpoint serves (DescribeEndpoint → EndpointConfig → Model)."""

    status: str
    config_name: str
    model_url: str | None
    failure_reason: str | None = None
    last_modified: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LiveEndpoint:
        return cls(
            **{
                k: data.get(k)
                for k in ("status", "config_name", "model_url", "failure_reason", "last_modified")
            }
        )


@dataclass(frozen=True)
class Baseline:
    """The live endpoint before the spec change; None fields when the endpoint did not exist."""

    config_name: str | None = None
    last_modified: str | None = None
    failure_reason: str | None = None
    model_url: str | None = None

    @classmethod
    def of(cls, live: LiveEndpoint | None) -> Baseline:
        if live is None:
            return cls()
        return cls(live.config_name, live.last_modified, live.failure_reason, live.model_url)


def wanted_config(kind: ResourceKind, cr: Mapping[str, Any]) -> str | None:
    """The endpoint config the serving CR asks for: legacy's ``status.endpointConfigName`` (its
    generated child), ACK's ``spec.endpointConfigName``."""
    part = (cr.get("spec") if kind.is_ack else cr.get("status")) or {}
    value = part.get("endpointConfigName")
    return value if isinstance(value, str) and value else None


def _rolled_back(live: LiveEndpoint, baseline: Baseline, target_model: str) -> Outcome | None:
    """The failure if SageMaker rolled an update back (InService on the baseline config, new reason)."""
    rolled_back = (
        live.status == "InService"
        and baseline.config_name is not None
        and live.config_name == baseline.config_name
        and live.failure_reason
        and (live.failure_reason != baseline.failure_reason or live.last_modified != baseline.last_modified)
    )
    if not rolled_back or live.model_url == target_model:
        return None
    reason = live.failure_reason
    return Outcome(
        FAILED,
        "UpdateEndpoint failed and SageMaker rolled back: the endpoint is InService on "
        f"{live.config_name} (model {live.model_url}), not on the new model: {reason}",
        "failed", "UpdateRollback", reason,
    )  # fmt: skip


def assess_rollout(
    cr: Mapping[str, Any],
    live: LiveEndpoint | None,
    *,
    target_model: str,
    baseline: Baseline,
    now: float,
    state: WaitState,
    policy: WaitPolicy,
    kind: ResourceKind = LEGACY_HOSTING_DEPLOYMENT,
) -> Outcome | None:
    """None while the rollout is on its way; otherwise the final `Outcome`."""
    meta = cr.get("metadata") or {}
    what = f"{kind.kind} {meta.get('namespace', '?')}/{meta.get('name', '?')}"
    if meta.get("deletionTimestamp"):
        return Outcome(FAILED, f"{what} is being deleted: the endpoint goes with it", "failed", "Deleting")
    if kind.is_ack and live is not None:
        # SageMaker's side first: ACK marks a failed update Terminal (its side says less), and its
        # conditions describe the last reconcile, which may predate the spec change being waited for
        # (ACK writes no observedGeneration), e.g. a rollback to the config SageMaker already rolled back to.
        if failed := _rolled_back(live, baseline, target_model):
            return failed
        if done := _live_success(live, wanted_config(kind, cr), baseline, target_model):
            return done
    verdict = interpret(kind, cr)
    if verdict.phase is Phase.FAILED:
        return Outcome(FAILED, f"{what} is {verdict.status}: {verdict.reason or 'no reason given'}",
                       verdict.phase.value, verdict.status, verdict.reason)  # fmt: skip
    if verdict.phase in (Phase.PENDING, Phase.RECONCILING):
        outcome = assess(kind, cr, now=now, state=state, policy=policy)
        if outcome is not None and outcome.status != SUCCESS:
            return outcome
        return None
    state.reconciling_since = None
    if live is None:
        return None
    wanted = wanted_config(kind, cr)
    if live.status == "Failed":
        reason = live.failure_reason or "no reason given"
        return Outcome(FAILED, f"endpoint {live.config_name and 'on ' + live.config_name} Failed: {reason}",
                       "failed", "Failed", reason)  # fmt: skip
    if live.status != "InService":
        return None
    if failed := _rolled_back(live, baseline, target_model):
        return failed
    return _live_success(live, wanted, baseline, target_model)


def _live_success(
    live: LiveEndpoint, wanted: str | None, baseline: Baseline, target_model: str
) -> Outcome | None:
    """Success: SageMaker serves ``target_model``, InService, on the config the CR wants (and not merely
    the baseline's, unless the baseline already served the target)."""
    if (
        live.status == "InService"
        and live.model_url == target_model
        and live.config_name == wanted
        and (live.config_name != baseline.config_name or baseline.model_url == target_model)
    ):
        return Outcome(
            SUCCESS,
            f"endpoint InService on {live.config_name}, serving {target_model}",
            "succeeded",
            "InService",
        )
    return None


__all__ = ["RECONCILING_TIMEOUT", "Baseline", "LiveEndpoint", "assess_rollout", "wanted_config"]
