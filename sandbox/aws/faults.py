"""Deterministic fault injection for the SageMaker simulator.

Faults are registered by training-job or endpoint name (exact, or an ``fnmatch`` glob) and are looked up
by the simulator's workers at every phase boundary, so a fault added while a job runs applies from its
next phase, and clearing a ``hang`` releases the job.

=================  ==========================================================================================
``fail``           the training job ends ``Failed`` with ``reason`` once ``after_phases`` phases are done
                   (phases: Starting, Downloading, Training, Uploading; default 2 = fails while Training);
                   a transform job ends ``Failed`` with ``reason`` before its first request. A glob such
                   as ``<tuning job>-*`` matches every training job a tuning job launches
``hang``           the job reaches ``phase`` (default Training) and stays ``InProgress`` there until the fault
                   is cleared, the job is stopped, or ``MaxRuntimeInSeconds`` runs out
``stop``           the job is stopped (``Stopping`` -> ``Stopped``) once ``after_phases`` phases are done
                   (default 2); a transform job before its first request (``hang`` holds one there too)
``endpoint_fail``  CreateEndpoint ends ``Failed`` (UpdateEndpoint rolls back) with ``reason``
``update_fail``    only UpdateEndpoint fails: SageMaker rolls back (``InService`` on the old config, the old
                   model serving, ``reason`` as FailureReason); CreateEndpoint is not affected. Every update
                   of a matching endpoint fails until the fault is removed
``slow``           every phase (or only ``phase``) of the matching job/endpoint lasts ``delay`` seconds
=================  ==========================================================================================

    sim.faults.add("xgb-*", "fail", reason="AlgorithmError: boom", after_phases=1)
    sim.faults.hang("job-a"); sim.faults.clear("job-a"); sim.faults.clear()
"""

from __future__ import annotations

import fnmatch
import itertools
import threading
from dataclasses import dataclass

FAULT_KINDS = frozenset({"fail", "hang", "stop", "endpoint_fail", "update_fail", "slow"})
TRAINING_PHASES = ("Starting", "Downloading", "Training", "Uploading")

DEFAULT_FAIL_REASON = "AlgorithmError: injected failure (sandbox fault)"
DEFAULT_ENDPOINT_FAIL_REASON = (
    "The primary container for production variant AllTraffic did not pass the ping health check. "
    "Please check CloudWatch logs for this endpoint."
)

_ALIASES = {
    "endpoint-fail": "endpoint_fail",
    "endpointfail": "endpoint_fail",
    "update-fail": "update_fail",
    "delay": "slow",
}
_ids = itertools.count(1)


@dataclass(frozen=True)
class Fault:
    """One registered fault. ``pattern`` matches the SageMaker resource name."""

    pattern: str
    kind: str
    reason: str = ""
    after_phases: int = 2
    phase: str | None = None
    delay: float | None = None
    id: int = 0

    def matches(self, name: str) -> bool:
        return self.pattern == name or fnmatch.fnmatchcase(name, self.pattern)


class FaultRegistry:
    """Thread-safe set of faults; the newest matching fault of a kind wins."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(
        self,
        pattern: str,
        kind: str,
        *,
        reason: str | None = None,
        after_phases: int | None = None,
        phase: str | None = None,
        delay: float | None = None,
    ) -> Fault:
        kind = _ALIASES.get(kind, kind)
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        if phase is not None and phase not in (*TRAINING_PHASES, "Creating", "Updating"):
            raise ValueError(f"unknown phase {phase!r}")
        if kind == "slow" and (delay is None or delay < 0):
            raise ValueError("a 'slow' fault needs delay >= 0 (seconds)")
        if after_phases is not None and not 0 <= after_phases <= len(TRAINING_PHASES):
            raise ValueError(f"after_phases must be 0..{len(TRAINING_PHASES)}")
        if not reason:
            reason = {
                "fail": DEFAULT_FAIL_REASON,
                "endpoint_fail": DEFAULT_ENDPOINT_FAIL_REASON,
                "update_fail": DEFAULT_ENDPOINT_FAIL_REASON,
            }.get(kind, "")
        if kind == "hang" and phase is None:
            phase = "Training"
        fault = Fault(
            pattern=pattern,
            kind=kind,
            reason=reason,
            after_phases=2 if after_phases is None else after_phases,
            phase=phase,
            delay=delay,
            id=next(_ids),
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    # convenience wrappers -------------------------------------------------------------------
    def fail(self, pattern: str, reason: str | None = None, *, after_phases: int = 2) -> Fault:
        return self.add(pattern, "fail", reason=reason, after_phases=after_phases)

    def hang(self, pattern: str, *, phase: str = "Training") -> Fault:
        return self.add(pattern, "hang", phase=phase)

    def stop(self, pattern: str, *, after_phases: int = 2) -> Fault:
        return self.add(pattern, "stop", after_phases=after_phases)

    def endpoint_fail(self, pattern: str, reason: str | None = None) -> Fault:
        return self.add(pattern, "endpoint_fail", reason=reason)

    def update_fail(self, pattern: str, reason: str | None = None) -> Fault:
        return self.add(pattern, "update_fail", reason=reason)

    def slow(self, pattern: str, delay: float, *, phase: str | None = None) -> Fault:
        return self.add(pattern, "slow", delay=delay, phase=phase)

    # queries -----------------------------------------------------------------------------------
    def remove(self, fault: Fault) -> None:
        with self._lock:
            self._faults = [f for f in self._faults if f.id != fault.id]

    def clear(self, pattern: str | None = None) -> None:
        """Remove every fault, or only those registered with exactly ``pattern``."""
        with self._lock:
            self._faults = [] if pattern is None else [f for f in self._faults if f.pattern != pattern]

    def list(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def find(self, name: str, kind: str) -> Fault | None:
        with self._lock:
            for fault in reversed(self._faults):
                if fault.kind == kind and fault.matches(name):
                    return fault
        return None

    def active(self, fault: Fault) -> bool:
        with self._lock:
            return any(f.id == fault.id for f in self._faults)

    def delay_for(self, name: str, phase: str, default: float) -> float:
        with self._lock:
            for fault in reversed(self._faults):
                if fault.kind == "slow" and fault.matches(name) and fault.phase in (None, phase):
                    return float(fault.delay or 0.0)
        return default
