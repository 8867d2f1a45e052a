"""The resource managers: what is kind-specific in a reconcile (the generated ``sdk.go`` plus the hooks of
``pkg/resource/<kind>/`` in aws-controllers-k8s/sagemaker-controller).

* ``read`` -- ``sdkFind``: Describe by the spec's name; the kind's 404 is "not found".
* ``observe`` -- the Describe answer into the status (every status field the CRD has) and
  ``ackResourceMetadata.arn``; ResourceSynced from the SageMaker status where the kind has a hook
  (``customSetOutput``), else the bare True of ``onSuccess``.
* ``create`` -- Create from the spec (faults meant for SageMaker are armed first).
* ``delta``/``update`` -- jobs, Model and EndpointConfig cannot be updated: any spec change (tags aside) is
  ``ACK.Terminal`` "not implemented" (``sdkUpdate`` returns ``NewTerminalError(NotImplemented)``). The real
  controller diffs the spec with the Describe answer; the emulator diffs it with the spec it created or
  adopted the resource from (the simulator does not echo every field back, e.g. RetryStrategy).
* ``delete`` -- jobs (``sdk_delete_pre_build_request`` templates): Stopping -> requeue "<Kind> is
  Stopping."; InProgress -> Stop, describe, requeue; any other status -> done (a job cannot be deleted).
  Model and EndpointConfig: Delete.
"""

from __future__ import annotations

from .convert import request, status_from_api
from .errors import AckError, ApiError, RequeueError, TerminalError
from .reconcile import Pass, spec_changes
from .resources import AckKind


class Manager:
    def __init__(self, kind: AckKind) -> None:
        self.kind = kind

    def read(self, p: Pass) -> dict | None:
        if not p.name:  # requiredFieldsMissingFromReadOneInput
            return None
        try:
            return p.call(self.kind.operation("Describe"), **{self.kind.name_key: p.name})
        except ApiError as e:
            if e.code == self.kind.not_found_code and any(
                e.message.startswith(x) for x in self.kind.not_found_prefixes
            ):
                return None
            raise

    def observe(self, p: Pass, described: dict) -> None:
        metadata = dict(p.status.get("ackResourceMetadata") or {})
        if described.get(self.kind.arn_key):
            metadata["arn"] = described[self.kind.arn_key]
        p.status = {**status_from_api(self.kind, described), "ackResourceMetadata": metadata}
        self.set_synced(p, described)
        p.conds.on_success()

    def set_synced(self, p: Pass, described: dict) -> None:
        if self.kind.modifying:
            p.conds.synced_by_status(self.kind.kind, described.get(self.kind.status_key), self.kind.modifying)

    def create(self, p: Pass) -> None:
        self.before_create(p)
        operation = self.kind.operation("Create")
        p.call(operation, **request(operation, p.spec))

    def before_create(self, p: Pass) -> None:
        """Arm the SageMaker fault the CR asks for (``fail``/``hang``/``stop`` on jobs)."""

    def delta(self, p: Pass, latest: dict) -> list[str]:
        return spec_changes(p)

    def update(self, p: Pass, latest: dict, paths: list[str]) -> None:
        raise TerminalError("not implemented")

    def delete(self, p: Pass, latest: dict) -> None:
        p.call(self.kind.operation("Delete"), **{self.kind.name_key: p.name})

    def after_error(self, p: Pass, error: AckError) -> None:
        """``update_conditions_custom_method_name`` hooks (only Endpoint has one)."""


class JobManager(Manager):
    """TrainingJob, HyperParameterTuningJob, TransformJob."""

    def fault_target(self, p: Pass) -> str:
        return p.name

    def before_create(self, p: Pass) -> None:
        if p.fault is not None and p.fault.action in ("fail", "hang", "stop"):
            p.ctl.inject_sagemaker_fault(self.fault_target(p), p.fault)

    def delete(self, p: Pass, latest: dict) -> None:
        status = latest.get(self.kind.status_key)
        stopping = RequeueError(f"{self.kind.kind} is Stopping.")
        if status == "Stopping":
            raise stopping
        if status != "InProgress":
            return
        p.call(self.kind.operation("Stop"), **{self.kind.name_key: p.name})
        observed = self.read(p)
        if observed is not None:
            self.observe(p, observed)
            raise stopping


class TuningJobManager(JobManager):
    def fault_target(self, p: Pass) -> str:
        return f"{p.name}-*"  # every training job the tuning job launches
