"""An emulator of the ACK service controller for Amazon SageMaker (``sagemaker.services.k8s.aws/v1alpha1``),
driving the same SageMaker simulator as the legacy operator's emulator (``sandbox/operator/``).

``controller.py`` is the loop, ``reconcile.py`` the ACK runtime's reconciler, ``managers.py``,
``training.py`` and ``endpoint.py`` the kind-specific resource managers, ``conditions.py`` and ``errors.py``
what a reconcile writes, ``convert.py`` spec/API conversion, ``resources.py`` the kinds and annotations.
"""

from .controller import AckControllerEmulator
from .resources import GROUP, KINDS, VERSION

__all__ = ["GROUP", "KINDS", "VERSION", "AckControllerEmulator"]
