"""Deterministic fault injection for the emulated controllers (the legacy operator and the ACK controller).

Put the annotation ``sandbox.sagemaker.local/fault`` on a CR, or arm a rule with :meth:`FaultRules.add`
(``Sandbox.arm_fault``; namespace and name globs, and the CR's kind: legacy ``TrainingJob``,
``HyperparameterTuningJob``, ``BatchTransformJob``, ``HostingDeployment``, ``Model``, ``EndpointConfig``; ACK
``TrainingJob``, ``HyperParameterTuningJob``, ``TransformJob``, ``Model``, ``EndpointConfig``, ``Endpoint``):

=============================  ==================================================================
``fail:<reason>``              the SageMaker job ends ``Failed`` with ``<reason>`` as FailureReason;
                               on a tuning job every training job it launches fails, so the tuning
                               job ends ``Failed`` ("No training job succeeded after N attempts.
                               ..."); on a batch transform the transform job fails (the legacy CR
                               shows ``Failed`` without the reason; the ACK CR copies it)
``hang``                       the job stays ``InProgress`` until stopped (a tuning job's training
                               jobs; a transform job)
``stop``                       the job ends ``Stopped`` (a tuning job's training jobs; a transform)
``reconcile-error:<message>``  legacy: the operator cannot reach SageMaker: ``Reconciling…`` +
                               message (Model and EndpointConfig CRs: ``Error``; BatchTransformJob:
                               ``Failed``, retried, + message); ACK: as ``recoverable``
``recoverable:<message>``      ACK: the controller's SageMaker calls for the CR fail with a retryable
                               error (``ACK.Recoverable``); ``<message>`` may start with an error
                               code, ``ThrottlingException: Rate exceeded`` (default code
                               ``ServiceUnavailable``)
``terminal:<message>``         ACK: they fail with a terminal error (``ACK.Terminal``; default code
                               ``InvalidParameterValue``)
``rules-pending``              ACK TrainingJob: Debugger/Profiler rule evaluations stay
                               ``InProgress`` after the job completes, so ``ACK.ResourceSynced``
                               stays False (a job without rules gets SageMaker's default
                               ``ProfilerReport`` rule)
``endpoint-fail:<reason>``     CreateEndpoint: the endpoint ends ``Failed`` with ``<reason>``
``update-fail:<reason>``       every UpdateEndpoint fails while armed: SageMaker rolls back
                               (``InService`` on the old config, FailureReason ``<reason>``); the
                               legacy controller retries it on its next pass, as the real one does
=============================  ==================================================================
"""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import dataclass

ANNOTATION = "sandbox.sagemaker.local/fault"
ACTIONS = frozenset(
    {"fail", "hang", "stop", "reconcile-error", "recoverable", "terminal", "rules-pending", "endpoint-fail",
     "update-fail"}
)  # fmt: skip


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
    kind: str  # "TrainingJob" | "HyperparameterTuningJob" | "Endpoint" | ... (see the module docstring)
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
