"""Names the legacy operator generates (controllers/common.go GetGeneratedResourceName and its callers)."""

from __future__ import annotations

SAGEMAKER_NAME_LIMIT = 63  # jobs, endpoints, models and endpoint configs
KUBERNETES_NAME_LIMIT = 253  # child Model/EndpointConfig CRs of a HostingDeployment


def generated_resource_name(required: str, optional: str, limit: int) -> str:
    """``<optional>-<required>``, shortening ``optional`` first; if even ``required`` does not fit with
    one character of ``optional``, the first ``limit`` characters of ``required``."""
    name = f"{optional}-{required}"
    if len(name) <= limit:
        return name
    excess = len(name) - limit
    if excess < len(optional):
        return f"{optional[: len(optional) - excess]}-{required}"
    return required[:limit]


def uid_hex(uid: str) -> str:
    return uid.replace("-", "")


def generated_name(name: str, uid: str, limit: int = SAGEMAKER_NAME_LIMIT) -> str:
    """A SageMaker name (GetGeneratedJobName): ``<name>-<uid without dashes>`` within ``limit``."""
    return generated_resource_name(uid_hex(uid), name, limit)


def child_name(base: str, generation: int, uid: str) -> str:
    """A HostingDeployment's child Model/EndpointConfig CR (GetSubresourceNamespacedName):
    ``<base>-<HD generation>-<HD uid hex>``, within Kubernetes' 253 characters (not SageMaker's 63)."""
    return generated_resource_name(f"{generation}-{uid_hex(uid)}", base, KUBERNETES_NAME_LIMIT)
