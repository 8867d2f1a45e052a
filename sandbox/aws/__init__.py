"""The AWS side of the sandbox: moto's server with a SageMaker that really trains and serves, and the account
as the operator walkthrough leaves it.

    from sandbox.aws import start_moto, seed_account
    srv = start_moto()                         # 127.0.0.1, ephemeral port
    seed = seed_account(srv.url)               # EKS + OIDC + IRSA role + execution role + bucket
    srv.simulator.faults.add("job-*", "fail", reason="AlgorithmError: x")
    srv.s3_faults.add(method="PUT", bucket="b", key="data/*", count=3)   # 503 SlowDown
    srv.stop()
"""

from .faults import FAULT_KINDS, Fault, FaultRegistry
from .s3_faults import S3FaultMiddleware, S3FaultRule, S3Faults
from .sagemaker_sim import SageMakerSimulator, get_simulator, install, uninstall
from .seed import (
    AWS_MISCONFIGURATIONS,
    ROLE_MISCONFIGURATIONS,
    SeedResult,
    apply_misconfiguration,
    seed_account,
)
from .server import MotoServer, start_moto

__all__ = [
    "AWS_MISCONFIGURATIONS",
    "FAULT_KINDS",
    "ROLE_MISCONFIGURATIONS",
    "Fault",
    "FaultRegistry",
    "MotoServer",
    "S3FaultMiddleware",
    "S3FaultRule",
    "S3Faults",
    "SageMakerSimulator",
    "SeedResult",
    "apply_misconfiguration",
    "get_simulator",
    "install",
    "seed_account",
    "start_moto",
    "uninstall",
]
