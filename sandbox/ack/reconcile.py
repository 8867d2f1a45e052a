"""One reconcile of one ACK CR, as the ACK runtime's ``resourceReconciler`` (pkg/runtime/reconciler.go,
v0.62) runs it; the kind-specific steps are the resource managers in ``managers.py``.

Sync (the CR is not being deleted): conditions cleared; adoption (``services.k8s.aws/adoption-policy`` +
``adoption-fields``, JSON naming the identifier, e.g. ``{"trainingJobName": "x"}``) and read-only handled;
ReadOne (Describe). Not found: add the finalizer ``finalizers.sagemaker.services.k8s.aws/<Kind>``, Create
(an AWS error removes the finalizer again), ReadOne. Found: ``adopt`` marks the CR managed and adopted
(finalizer + ``services.k8s.aws/adopted: "true"``) and copies the resource into the spec;
``adopt-or-create`` marks it and requeues; a CR without the finalizer (a name someone else's resource
already has) is Terminal "Resource already exists"; otherwise a changed spec goes to the manager's Update.
Then ``ensureConditions`` and the status is written (``ackResourceMetadata`` {arn, ownerAccountID,
partition, region}, the conditions, the kind's fields from Describe).

Delete (``deletionTimestamp`` set): nothing unless the CR carries the finalizer; deletion policy
``retain`` (CR annotation ``services.k8s.aws/deletion-policy``, else the Namespace's
``sagemaker.services.k8s.aws/deletion-policy``, else the controller's ``--deletion-policy``) or a read-only
CR only drops the finalizer; else ReadOne (gone: drop the finalizer) and the manager's Delete, which may
ask to be called again (the job is Stopping, the endpoint is Creating).
"""

from __future__ import annotations

import copy
import json
import re

from botocore import xform_name
from botocore.exceptions import BotoCoreError, ClientError

from . import resources as R
from .conditions import NOT_MANAGED_MESSAGE, NOT_MANAGED_REASON, TERMINAL, Conditions
from .convert import differences, spec_from_api
from .errors import AckError, ApiError, Failed, RequeueError, TerminalError, credential_error

_CODE = re.compile(r"^([A-Z][A-Za-z0-9]*): (.*)$", re.S)
FAULT_CODES = {"recoverable": "ServiceUnavailable", "reconcile-error": "ServiceUnavailable",
               "terminal": "InvalidParameterValue"}  # fmt: skip


class Pass:
    """What one reconcile knows about its CR, and what it will write."""

    def __init__(self, ctl, kind: R.AckKind, cr: dict) -> None:
        self.ctl, self.kind, self.cr = ctl, kind, cr
        self.meta = cr["metadata"]
        self.annotations = dict(self.meta.get("annotations") or {})
        self.spec = cr.get("spec") or {}
        self.old_status = cr.get("status") or {}
        self.status = {k: v for k, v in self.old_status.items() if k != "conditions"}
        self.conds = Conditions()
        self.region = ctl.region_for(cr)
        self.fault = ctl.faults.for_object(kind.kind, self.meta)
        self.name_override: str | None = None

    @property
    def name(self) -> str | None:
        return self.name_override or self.spec.get(self.kind.name_field)

    @property
    def uid(self) -> str:
        return self.meta["uid"]

    @property
    def deleting(self) -> bool:
        return bool(self.meta.get("deletionTimestamp"))

    @property
    def managed(self) -> bool:
        return self.kind.finalizer in (self.meta.get("finalizers") or [])

    # -- SageMaker ------------------------------------------------------------------------------
    def call(self, operation: str, **params) -> dict:
        """A SageMaker call with the controller's IRSA credentials; faults first (``recoverable``/``terminal``
        fail every call for the CR), then the credential check, then the API."""
        if self.fault is not None and self.fault.action in FAULT_CODES:
            m = _CODE.match(self.fault.reason)
            code, message = (
                (m.group(1), m.group(2)) if m else (FAULT_CODES[self.fault.action], self.fault.reason)
            )
            raise ApiError(
                code,
                message or "injected by the sandbox",
                operation,
                status=503 if code == "ServiceUnavailable" else 400,
            )
        denial = self.ctl.denial(f"sagemaker:{operation}")
        if denial is not None:
            raise credential_error(denial, operation)
        method = getattr(self.ctl.sagemaker(self.region), xform_name(operation))
        try:
            return method(**params)
        except (ClientError, BotoCoreError) as e:
            raise ApiError.of(e, operation) from e

    def rm(self, method, *args):
        """A resource manager call: its errors set conditions (``onError``) and end the reconcile."""
        try:
            return method(self, *args)
        except AckError as e:
            failure = self.conds.on_error(e, self.kind.terminal_codes)
            self.ctl.manager(self.kind).after_error(self, e)
            raise failure from e

    # -- Kubernetes ------------------------------------------------------------------------------
    def patch_metadata(
        self, *, finalizer: bool | None = None, annotations: dict | None = None, spec: dict | None = None
    ) -> None:
        meta = {}
        if finalizer is not None:
            current = [f for f in self.meta.get("finalizers") or [] if f != self.kind.finalizer]
            meta["finalizers"] = [*current, self.kind.finalizer] if finalizer else current
        if annotations:
            meta["annotations"] = annotations
        body = {"metadata": meta} if meta else {}
        if spec is not None:
            body["spec"] = spec
        patched = self.ctl.kube.patch(self.kind.resource, self.meta["namespace"], self.meta["name"], body)
        self.meta = patched["metadata"]
        self.annotations = dict(self.meta.get("annotations") or {})
        self.spec = patched.get("spec") or {}
        self.cr = {**patched, "status": self.old_status}

    def write_status(self) -> None:
        status = dict(self.status)
        metadata = dict(status.get("ackResourceMetadata") or {})
        metadata.setdefault("region", self.region)
        metadata.setdefault("partition", "aws")
        metadata.setdefault("ownerAccountID", self.ctl.account)
        status["ackResourceMetadata"] = metadata
        status["conditions"] = self.conds.render(self.old_status.get("conditions"))
        if status != self.old_status:
            self.cr = self.ctl.kube.replace_status(self.kind.resource, {**self.cr, "status": status})
            self.old_status = status

    def remember_spec(self) -> None:
        """What the controller compares the spec with from now on (see ``Manager.delta``)."""
        self.ctl.baselines[self.uid] = _without_tags(self.spec)


def _without_tags(spec: dict) -> dict:
    return copy.deepcopy({k: v for k, v in spec.items() if k != "tags"})


def reconcile(ctl, kind: R.AckKind, cr: dict) -> str:
    """One reconcile; returns ``requeue`` (again next pass), ``synced`` (again after the resync period),
    ``settled`` (terminal: only when the CR changes) or ``gone``."""
    p = Pass(ctl, kind, cr)
    if p.deleting:
        return _finalize(p, ctl.manager(kind))
    failure = None
    try:
        _sync(p, ctl.manager(kind))
    except Failed as f:
        failure = f
    if failure is not None and failure.quiet:
        return "requeue"
    p.conds.ensure(failure)
    p.write_status()
    if failure is not None:
        return "settled" if failure.terminal else "requeue"
    return "synced" if p.conds.is_true("ACK.ResourceSynced") else "requeue"


def _terminal(p: Pass, message: str) -> Failed:
    p.conds.set(TERMINAL, True, message)
    return Failed(TerminalError(message), terminal=True)


def _sync(p: Pass, manager) -> None:
    policy = p.annotations.get(R.ADOPTION_POLICY, "")
    if policy and policy not in ("adopt", "adopt-or-create"):
        raise _terminal(
            p, f'unrecognized adoption policy {policy}. Supported policies are "adopt" and "adopt-or-create"'
        )
    adopted = p.annotations.get(R.ADOPTED, "").lower() == "true"
    if not (policy and not adopted and not p.managed and p.ctl.gate("ResourceAdoption")):
        policy = ""
    read_only = p.annotations.get(R.READ_ONLY, "").lower() == "true" and p.ctl.gate("ReadOnlyResources")
    if policy:
        _populate(p, policy)
    if p.managed and p.uid not in p.ctl.baselines:
        p.remember_spec()  # a restarted controller: it has only the CR to go by
    latest = p.rm(manager.read)
    if latest is None:
        if policy == "adopt" or adopted:
            raise Failed(Exception("adopted resource not found"), quiet=True)
        if read_only:
            raise Failed(Exception("read-only resource not found"), quiet=True)
        _create(p, manager)
        return
    manager.observe(p, latest)
    if policy == "adopt":
        adopted_spec = {
            **spec_from_api(p.kind, latest),
            **({"tags": p.spec["tags"]} if "tags" in p.spec else {}),
        }
        p.patch_metadata(finalizer=True, annotations={R.ADOPTED: "true"}, spec=adopted_spec)
        p.remember_spec()
        return
    if read_only:
        return
    if policy == "adopt-or-create":
        p.patch_metadata(finalizer=True, annotations={R.ADOPTED: "true"})
        p.remember_spec()
        raise Failed(RequeueError("adopted resource, requeuing to check for updates"))
    if not p.managed:  # failOnResourceUnmanaged
        p.conds.set(TERMINAL, True, NOT_MANAGED_MESSAGE, NOT_MANAGED_REASON)
        raise Failed(TerminalError(NOT_MANAGED_MESSAGE), terminal=True)
    paths = manager.delta(p, latest)
    if paths:
        p.rm(manager.update, latest, paths)


def _populate(p: Pass, policy: str) -> None:
    """``handlePopulation``: the identifier from ``services.k8s.aws/adoption-fields``."""
    text = p.annotations.get(R.ADOPTION_FIELDS, "")
    try:
        fields = json.loads(text)
        if not isinstance(fields, dict):
            raise ValueError("cannot unmarshal into Go value of type map[string]string")
    except ValueError as e:
        if policy == "adopt-or-create":
            return  # the identifier is in the spec
        detail = "unexpected end of JSON input" if not text.strip() else str(e)
        raise _terminal(p, f"unmarshalling adoption-fields annotation: {detail}") from None
    if p.kind.name_field not in fields:
        if policy != "adopt-or-create":
            raise _terminal(
                p, f"Error populating adoption fields: required field missing: {p.kind.name_field}"
            )
        return
    if policy == "adopt":
        p.name_override = str(fields[p.kind.name_field])


def _create(p: Pass, manager) -> None:
    if not p.managed:
        p.patch_metadata(finalizer=True)
    try:
        manager.create(p)
    except AckError as e:
        failure = p.conds.on_error(e, p.kind.terminal_codes)
        if isinstance(e, ApiError):  # only resources that exist in AWS are managed
            p.patch_metadata(finalizer=False)
        raise failure from e
    p.remember_spec()
    observed = p.rm(manager.read)
    if observed is None:
        raise Failed(Exception("ReadOne call failed after a Create operation: number of attempts: 1"))
    manager.observe(p, observed)


def _finalize(p: Pass, manager) -> str:
    if not p.managed:
        return "gone"
    retain = p.ctl.deletion_policy(p.cr) == "retain"
    read_only = p.annotations.get(R.READ_ONLY, "").lower() == "true" and p.ctl.gate("ReadOnlyResources")
    if not (retain or read_only):
        p.conds = Conditions(p.old_status.get("conditions"))
        try:
            latest = manager.read(p)
        except AckError:
            return "requeue"  # deleteResource returns the CR unchanged: nothing written
        if latest is not None:
            manager.observe(p, latest)
            try:
                p.rm(manager.delete, latest)
            except Failed:
                p.write_status()
                return "requeue"
    p.patch_metadata(finalizer=False)
    p.ctl.forget(p.uid)
    return "gone"


def spec_changes(p: Pass) -> list[str]:
    """The spec paths that differ from what the controller last synced (tags ignored)."""
    return differences(p.ctl.baselines.get(p.uid, _without_tags(p.spec)), _without_tags(p.spec))
