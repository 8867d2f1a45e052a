"""An emulator of the Amazon SageMaker Operators for Kubernetes (``sagemaker.aws.amazon.com/v1``)."""

from ..common.faults import ANNOTATION as FAULT_ANNOTATION
from ..common.faults import Fault
from .controller import OperatorEmulator, PodState

__all__ = ["FAULT_ANNOTATION", "Fault", "OperatorEmulator", "PodState"]
