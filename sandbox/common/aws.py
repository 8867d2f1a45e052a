"""boto3 clients for the emulated controllers, pointed at the sandbox's AWS endpoint.

The real controllers get credentials through IRSA; moto accepts any signature, so the emulators sign
with fixed dummy keys and model IRSA themselves (credentials.py).
"""

from __future__ import annotations

import threading

import boto3
from botocore.config import Config

CONFIG = Config(retries={"total_max_attempts": 2, "mode": "standard"})
_SESSION = boto3.session.Session()  # one session: service models are loaded once per process
_LOCK = threading.Lock()  # boto3 sessions are not thread-safe; the clients they make are


def client(service: str, endpoint_url: str, region: str):
    with _LOCK:
        return _SESSION.client(
            service,
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id="sandbox-operator",
            aws_secret_access_key="sandbox-operator",  # noqa: S106 - moto ignores it
            config=CONFIG,
        )
