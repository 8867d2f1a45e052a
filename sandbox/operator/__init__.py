"""An emulator of the Amazon SageMaker Operators for Kubernetes (``sagemaker.aws.amazon.com/v1``)."""

from .controller import OperatorEmulator, PodState
from .faults import ANNOTATION as FAULT_ANNOTATION
from .faults import Fault

__all__ = ["FAULT_ANNOTATION", "Fault", "OperatorEmulator", "PodState"]
