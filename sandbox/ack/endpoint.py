"""The Endpoint resource manager (``pkg/resource/endpoint/hooks.go``, ``custom_update_conditions.go`` and
the generated ``sdk.go``).

Status from DescribeEndpoint: ``endpointStatus``, ``failureReason``, ``creationTime``, ``lastModifiedTime``,
``productionVariants``, ``pendingDeploymentSummary``. ResourceSynced is False while Creating, Updating,
SystemUpdating, RollingBack or Deleting; ``Failed`` sets ``ACK.Terminal`` "Endpoint status reached terminal
state: Failed. Check the FailureReason." (``SetTerminalState``).

Update: a changed ``spec.endpointConfigName`` (the spec read back from DescribeEndpoint differs) calls
UpdateEndpoint with RetainAllVariantProperties forced true, records the config in the annotation
``sagemaker.services.k8s.aws/last-endpoint-config-for-update`` and shows ``Updating``. Not while a modifying
status (requeue "Endpoint in <Status> state cannot be modified or deleted."); not when the endpoint is
Failed, nor again for the config an update already failed with (FailureReason set, annotation equal to the
spec): that is the ``EndpointUpdateError`` "unable to update endpoint. check FailureReason. latest
EndpointConfigName is <old>", a terminal code of the kind, which also sets ResourceSynced False with that
message. Delete: requeue while modifying, then DeleteEndpoint.
"""

from __future__ import annotations

from .conditions import SYNCED, TERMINAL
from .errors import AckError, ApiError, RequeueError
from .managers import Manager
from .reconcile import Pass
from .resources import LAST_ENDPOINT_CONFIG

SERVICE_ERROR_PREFIX = "Request to service failed"  # an update failed by an internal error may be retried


class EndpointManager(Manager):
    def before_create(self, p: Pass) -> None:
        if p.fault is not None and p.fault.action == "endpoint-fail":
            p.ctl.inject_sagemaker_fault(p.name, p.fault)

    def observe(self, p: Pass, described: dict) -> None:
        super().observe(p, described)
        if described.get("EndpointStatus") == "Failed" and not p.conds.is_true(TERMINAL):
            p.conds.set(
                TERMINAL, True, "Endpoint status reached terminal state: Failed. Check the FailureReason."
            )

    def delta(self, p: Pass, latest: dict) -> list[str]:
        return (
            ["endpointConfigName"]
            if p.spec.get("endpointConfigName") != latest.get("EndpointConfigName")
            else []
        )

    def _requeue_until_can_modify(self, latest: dict) -> None:
        status = latest.get("EndpointStatus")
        if status in self.kind.modifying:
            raise RequeueError(f"Endpoint in {status} state cannot be modified or deleted.")

    def update(self, p: Pass, latest: dict, paths: list[str]) -> None:
        self._requeue_until_can_modify(latest)
        desired = p.spec.get("endpointConfigName")
        last = p.annotations.get(LAST_ENDPOINT_CONFIG)
        failure = latest.get("FailureReason")
        if latest.get("EndpointStatus") == "Failed" or (
            failure and last and not failure.startswith(SERVICE_ERROR_PREFIX) and desired == last
        ):
            message = (
                "unable to update endpoint. check FailureReason. latest EndpointConfigName is "
                f"{latest.get('EndpointConfigName')}"
            )
            raise ApiError(
                "EndpointUpdateError",
                message,
                "UpdateEndpoint",
                full=f"api error EndpointUpdateError: {message}",
            )
        if p.fault is not None and p.fault.action == "update-fail":
            p.ctl.inject_sagemaker_fault(p.name, p.fault)
        else:  # an update-fail annotation or rule removed since: SageMaker behaves again
            p.ctl.withdraw_sagemaker_fault(p.name, "update-fail")
        p.call(
            "UpdateEndpoint", EndpointName=p.name, EndpointConfigName=desired, RetainAllVariantProperties=True
        )
        p.patch_metadata(annotations={LAST_ENDPOINT_CONFIG: desired})
        p.status["endpointStatus"] = "Updating"  # customUpdateEndpointSetOutput
        p.conds.synced_by_status("Endpoint", "Updating", self.kind.modifying)

    def after_error(self, p: Pass, error: AckError) -> None:
        if isinstance(error, ApiError) and error.code == "EndpointUpdateError":
            p.conds.set(SYNCED, False, error.text)

    def delete(self, p: Pass, latest: dict) -> None:
        self._requeue_until_can_modify(latest)
        p.call("DeleteEndpoint", EndpointName=p.name)
        observed = self.read(p)
        if observed is not None:
            self.observe(p, observed)
            raise RequeueError("Endpoint is Deleting.")
