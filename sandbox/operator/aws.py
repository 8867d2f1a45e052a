"""boto3 clients for the operator emulator, pointed at the sandbox's AWS endpoint.

The real operator gets credentials through IRSA; moto accepts any signature, so the emulator signs
with fixed dummy keys and models IRSA itself (credentials.py).
"""

from __future__ import annotations

import boto3
from botocore.config import Config

CONFIG = Config(retries={"total_max_attempts": 2, "mode": "standard"})


def client(service: str, endpoint_url: str, region: str):
    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id="sandbox-operator",
        aws_secret_access_key="sandbox-operator",  # noqa: S106 - moto ignores it
        config=CONFIG,
    )
