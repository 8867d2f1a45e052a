"""Operators; imported at DAG parse time, so their modules import little at module level."""

from __future__ import annotations

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
