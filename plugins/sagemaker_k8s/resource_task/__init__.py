"""What the operators and sensors driving one custom resource share (neither imports the other).

Imported at DAG parse time, so nothing here imports more than the standard library at module
level; ``events`` (the trigger to defer to, the check of its event) is imported where used.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any


class FlavourAttribute:
    """A class attribute naming a ``manifests.flavours`` constant, imported on first access.

    ``kind = FlavourAttribute("LEGACY_TRAINING_JOB")`` reads like the constant from the class and
    from instances alike, without importing the flavour and status tables when the DAG is parsed.
    """

    def __init__(self, constant: str) -> None:
        self.constant = constant

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        from sagemaker_k8s.manifests import flavours

        return getattr(flavours, self.constant)


class CustomResourceTaskMixin:
    """What every task driving one custom resource shares: the Kubernetes hook, built lazily from
    ``kubernetes_conn_id``, and the wait policy from ``ack_timeout``/``reconciling_timeout``."""

    kubernetes_conn_id: str
    ack_timeout: float
    reconciling_timeout: float

    @cached_property
    def hook(self):
        from sagemaker_k8s.hooks.kubernetes import SageMakerK8sHook

        return SageMakerK8sHook(self.kubernetes_conn_id)

    @property
    def policy(self):
        from sagemaker_k8s.waiting import WaitPolicy

        return WaitPolicy(self.ack_timeout, self.reconciling_timeout)
