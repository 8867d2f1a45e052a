"""SageMaker names the legacy operator generates (controllers/common.go GetGeneratedJobName)."""

from __future__ import annotations


def generated_name(name: str, uid: str, limit: int = 63) -> str:
    """``<name>-<uid without dashes>``; the name part is shortened first, then the uid itself."""
    hex_uid = uid.replace("-", "")
    if len(hex_uid) >= limit:
        return hex_uid[:limit]
    keep = limit - len(hex_uid) - 1
    if keep <= 0:
        return hex_uid[:limit]
    return f"{name[:keep]}-{hex_uid}"


def child_name(base: str, generation: int, uid: str, limit: int = 63) -> str:
    """Child Model/EndpointConfig names of a HostingDeployment: ``<base>-<generation>-<uid hex>``."""
    return generated_name(f"{base}-{generation}", uid, limit)
