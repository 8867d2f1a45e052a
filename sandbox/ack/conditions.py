"""``status.conditions`` as the ACK runtime (v0.62) computes them on each reconcile.

``Sync`` clears them, then: the resource manager's hooks set ``ACK.ResourceSynced`` from the SageMaker
status (``pkg/common/custom_conditions.go``: False with "<Kind> is in <Status> status." while a modifying
status, else True), an error of a resource manager call sets ``ACK.Terminal`` (a terminal code or a
TerminalError) or ``ACK.Recoverable`` (anything else) with smithy's error text (``updateConditions``), a
successful call with no hook sets a bare ResourceSynced=True (``onSuccess``), and ``ensureConditions`` adds
ResourceSynced if still missing (False "Resource not synced" after a terminal error, Unknown after another
error) and ``Ready`` (False with reason ``ACK.Terminal``/``ACK.Recoverable`` and that condition's message,
else ResourceSynced's status and message). The delete path keeps the old conditions and updates them.

The real runtime stamps ``lastTransitionTime`` anew whenever it sets a condition; the emulator keeps the
old time while a condition's status, message and reason are unchanged (so an unchanged CR is not
rewritten every pass).
"""

from __future__ import annotations

from .convert import now
from .errors import AckError, ApiError, Failed, TerminalError

SYNCED = "ACK.ResourceSynced"
TERMINAL = "ACK.Terminal"
RECOVERABLE = "ACK.Recoverable"
READY = "Ready"
# runtime pkg/condition/condition.go
NOT_MANAGED_MESSAGE = "Resource already exists"
NOT_MANAGED_REASON = (
    "This resource already exists but is not managed by ACK. To bring the resource under ACK management, you "
    "should explicitly adopt the resource by enabling the ResourceAdoption feature gate and populating the "
    "`services.k8s.aws/adoption-policy` and `services.k8s.aws/adoption-fields` annotations."
)
NOT_SYNCED_MESSAGE = "Resource not synced"
UNKNOWN_SYNCED_MESSAGE = "Unable to determine if desired resource state matches latest observed state"


class Conditions:
    def __init__(self, existing: list[dict] | None = None) -> None:
        self._items: dict[str, dict] = {}
        for c in existing or []:
            self._items[c["type"]] = {k: v for k, v in c.items() if k != "lastTransitionTime"}

    def get(self, kind: str) -> dict | None:
        return self._items.get(kind)

    def is_true(self, kind: str) -> bool:
        return (self._items.get(kind) or {}).get("status") == "True"

    def set(
        self, kind: str, status: str | bool, message: str | None = None, reason: str | None = None
    ) -> None:
        if isinstance(status, bool):
            status = "True" if status else "False"
        item = {"type": kind, "status": status}
        if message:
            item["message"] = message
        if reason:
            item["reason"] = reason
        self._items[kind] = item  # SetSynced & co. update a condition in place

    def synced_by_status(self, name: str, status: str | None, modifying: frozenset[str]) -> None:
        """``SetSyncedCondition``: nothing without a status."""
        if status:
            self.set(SYNCED, status not in modifying, f"{name} is in {status} status.")

    def on_success(self) -> None:
        """``updateConditions(onSuccess=true)``: a bare ResourceSynced=True unless a hook set one."""
        if SYNCED not in self._items:
            self.set(SYNCED, True)

    def on_error(self, error: AckError, terminal_codes: frozenset[str]) -> Failed:
        """``updateConditions(onSuccess=false, err)``; returns what the resource manager returns."""
        terminal = isinstance(error, TerminalError) or (
            isinstance(error, ApiError) and error.code in terminal_codes
        )
        if terminal:
            self.set(TERMINAL, True, error.condition_message)
        else:
            self.set(RECOVERABLE, True, error.condition_message)
        return Failed(error, terminal=terminal)

    def ensure(self, failure: Failed | None) -> None:
        """``ensureConditions``: ResourceSynced if missing, then Ready."""
        if SYNCED not in self._items:
            if failure is None:
                self.set(SYNCED, True, "Resource synced successfully")
            elif failure.terminal:
                self.set(SYNCED, False, NOT_SYNCED_MESSAGE, failure.reason)
            else:
                self.set(SYNCED, "Unknown", UNKNOWN_SYNCED_MESSAGE, failure.reason)
        terminal, recoverable, synced = (self._items.get(k) for k in (TERMINAL, RECOVERABLE, SYNCED))
        if terminal and terminal["status"] == "True":
            self.set(READY, False, terminal.get("message"), TERMINAL)
        elif recoverable and recoverable["status"] == "True":
            self.set(READY, False, recoverable.get("message"), RECOVERABLE)
        else:
            self.set(READY, synced["status"], synced.get("message"), synced.get("reason"))

    def render(self, previous: list[dict] | None) -> list[dict]:
        """The conditions as JSON, keeping the old ``lastTransitionTime`` of unchanged ones."""
        old = {c["type"]: c for c in previous or []}
        stamp = now()
        out = []
        for kind, item in self._items.items():
            before = old.get(kind) or {}
            same = all(before.get(k) == item.get(k) for k in ("status", "message", "reason"))
            out.append(
                {**item, "lastTransitionTime": (before.get("lastTransitionTime") if same else None) or stamp}
            )
        return out
