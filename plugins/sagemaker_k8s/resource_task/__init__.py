"""What the operators and sensors driving one custom resource share (neither imports the other).

Imported at DAG parse time, so nothing here imports more than the standard library at module
level; ``events`` (the trigger to defer to, the check of its event) is imported where used.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any


class FlavourKind:
    """The ``ResourceKind`` playing ``role`` (``manifests.flavours.KINDS_BY_ROLE``) on the task's flavour.

    ``kind = FlavourKind("training")`` on a task class whose instances have a ``flavour`` attribute
    (``legacy`` or ``ack``, from the run's config or the submit task's XCom); the flavour tables are
    imported on first access, not when the DAG is parsed.
    """

    def __init__(self, role: str) -> None:
        self.role = role

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        from sagemaker_k8s.manifests.flavours import kind_of

        return kind_of(self.role, instance.flavour)


class AwsHookMixin:
    """The one AWS hook class (``hooks.aws.SageMakerK8sAwsHook``: SageMaker, S3, IAM, EKS through the
    amazon provider) every task that needs AWS gets lazily as ``aws``: built on first use from
    ``aws_conn_id``, in the run's region (``aws_region``: the run config's; a sensor's is its submit
    task's). Tests replace ``aws`` with a fake."""

    aws_conn_id: str | None

    @property
    def aws_region(self) -> str | None:
        from sagemaker_k8s.config.run_config import RunConfig

        return RunConfig.from_dict(self.config).region

    @cached_property
    def aws(self):
        from sagemaker_k8s.hooks.aws import SageMakerK8sAwsHook

        return SageMakerK8sAwsHook(self.aws_conn_id, self.aws_region)


class CustomResourceTaskMixin:
    """What every task driving one custom resource shares: the Kubernetes hook, built lazily from
    ``kubernetes_conn_id``, and the wait policy from ``ack_timeout``/``reconciling_timeout``."""

    kubernetes_conn_id: str
    ack_timeout: float
    reconciling_timeout: float

    @property
    def flavour(self) -> str:
        """``legacy`` or ``ack``: the run config's (``config``), which resolve_config made concrete."""
        config = getattr(self, "config", None)
        flavour = config.get("flavour") if isinstance(config, dict) else None
        if flavour not in ("legacy", "ack"):
            raise ValueError(f"{type(self).__name__}: no resolved flavour in its config ({flavour!r})")
        return flavour

    @cached_property
    def hook(self):
        from sagemaker_k8s.hooks.kubernetes import SageMakerK8sHook

        return SageMakerK8sHook(self.kubernetes_conn_id)

    @property
    def policy(self):
        from sagemaker_k8s.manifests.waiting import WaitPolicy

        return WaitPolicy(self.ack_timeout, self.reconciling_timeout)
