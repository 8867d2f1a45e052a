"""Deterministic fault injection for the operator emulator.

Put the annotation ``sandbox.sagemaker.local/fault`` on a TrainingJob, HyperparameterTuningJob,
BatchTransformJob or HostingDeployment CR:

=============================  ==================================================================
``fail:<reason>``              the SageMaker job ends ``Failed`` with ``<reason>`` as FailureReason;
                               on a HyperparameterTuningJob every training job it launches fails,
                               so the tuning job ends ``Failed`` ("No training job succeeded after
                               N attempts. ..."); on a BatchTransformJob the transform job fails
                               (the CR shows ``Failed``; the reason is only in DescribeTransformJob)
``hang``                       the job stays ``InProgress`` (Training) until stopped (a tuning job's
                               training jobs; a transform job)
``stop``                       the job ends ``Stopped`` (a tuning job's training jobs; a transform)
``reconcile-error:<message>``  the operator cannot reach SageMaker: ``Reconciling…`` + message
                               (Model and EndpointConfig CRs: ``Error``; BatchTransformJob:
                               ``Failed``, retried, + message)
``endpoint-fail:<reason>``     CreateEndpoint: the endpoint ends ``Failed`` with ``<reason>``
``update-fail:<reason>``       every UpdateEndpoint fails while armed: SageMaker rolls back
                               (``InService`` on the old config, FailureReason ``<reason>``) and
                               the controller retries it on its next pass, as the real one does
=============================  ==================================================================

The same faults can be armed for CRs the test does not create itself (the pipeline's) with
:meth:`FaultRules.add`, matching namespace and name globs; the sandbox's control API exposes that.
"""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import dataclass

ANNOTATION = "sandbox.sagemaker.local/fault"
ACTIONS = frozenset({"fail", "hang", "stop", "reconcile-error", "endpoint-fail", "update-fail"})


@dataclass(frozen=True)
class Fault:
    action: str
    reason: str = ""

    @classmethod
    def from_text(cls, text: str) -> Fault:
        action, _, reason = text.partition(":")
        action = action.strip()
        if action not in ACTIONS:
            raise ValueError(f"unknown fault {action!r}; expected one of {sorted(ACTIONS)}")
        return cls(action, reason.strip())

    @classmethod
    def from_annotation(cls, metadata: dict) -> Fault | None:
        text = (metadata.get("annotations") or {}).get(ANNOTATION)
        if not text:
            return None
        try:
            return cls.from_text(text)
        except ValueError:
            return None


@dataclass(frozen=True)
class Rule:
    kind: str  # "TrainingJob" | "HyperparameterTuningJob" | "BatchTransformJob" | "HostingDeployment" | ...
    namespace: str
    name: str
    fault: Fault


class FaultRules:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[Rule] = []

    def add(self, fault: Fault, *, namespace: str = "*", name: str = "*", kind: str = "*") -> Rule:
        rule = Rule(kind, namespace, name, fault)
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def for_object(self, kind: str, metadata: dict) -> Fault | None:
        """The fault armed for this object: its annotation first, then the rules."""
        return Fault.from_annotation(metadata) or self.match(
            metadata.get("namespace", ""), metadata.get("name", ""), kind
        )

    def match(self, namespace: str, name: str, kind: str = "*") -> Fault | None:
        with self._lock:
            for rule in reversed(self._rules):
                if (
                    fnmatch.fnmatchcase(namespace, rule.namespace)
                    and fnmatch.fnmatchcase(name, rule.name)
                    and (rule.kind == "*" or kind == "*" or rule.kind == kind)
                ):
                    return rule.fault
        return None
