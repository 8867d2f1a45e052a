"""The sandbox's exec credential plugin: what ``aws eks get-token`` is to an EKS kubeconfig.

    python sandbox/token_command.py --key-file KEY --ttl 900 [--user U] [--group G ...]
                                    [--log FILE] [--no-expiry]

Prints an ``ExecCredential`` (the ``apiVersion`` the client asked for in ``KUBERNETES_EXEC_INFO``)
whose ``status.token`` the Kubernetes API emulator accepts for ``--ttl`` seconds and answers 401 after,
and whose ``status.expirationTimestamp`` says when (``--no-expiry`` leaves it out, as plugins may: the
client then only learns of the expiry from the 401). Each run appends one JSON line to ``--log``, so
tests and benchmarks can count the invocations.

Tokens are stateless, like EKS's presigned STS URLs: ``k8s-sandbox-v1.<claims>.<signature>``, the claims
(user, groups, expiry) signed with HMAC-SHA256 under the key the emulator's ``Authenticator`` holds
(``exec_key``, written to ``--key-file`` by ``Sandbox.exec_kubeconfig``). Standard library only, so a
run costs one interpreter start-up and nothing more.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import secrets
import sys
import time
from datetime import UTC, datetime

PREFIX = "k8s-sandbox-v1."
DEFAULT_API_VERSION = "client.authentication.k8s.io/v1beta1"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(key: bytes, payload: str) -> str:
    return _b64(hmac.new(key, (PREFIX + payload).encode(), hashlib.sha256).digest())


def mint_token(key: bytes, user: str, groups: list[str], expires_at: float, now: float) -> str:
    claims = {"sub": user, "groups": list(groups), "exp": expires_at, "iat": now, "jti": secrets.token_hex(8)}
    payload = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    return f"{PREFIX}{payload}.{_sign(key, payload)}"


def verify_token(key: bytes, token: str, now: float) -> dict | None:
    """The claims of a token signed with ``key`` that has not expired at ``now``; None otherwise."""
    if not token.startswith(PREFIX):
        return None
    payload, _, signature = token.removeprefix(PREFIX).partition(".")
    if not payload or not hmac.compare_digest(signature, _sign(key, payload)):
        return None
    try:
        claims = json.loads(_unb64(payload))
        if not isinstance(claims, dict) or not now < float(claims["exp"]):
            return None
    except (ValueError, KeyError, TypeError):
        return None
    return claims


def exec_credential(api_version: str, token: str, expires_at: float | None) -> dict:
    status: dict = {"token": token}
    if expires_at is not None:
        stamp = datetime.fromtimestamp(expires_at, UTC).isoformat(timespec="milliseconds")
        status["expirationTimestamp"] = stamp.replace("+00:00", "Z")
    return {"apiVersion": api_version, "kind": "ExecCredential", "spec": {}, "status": status}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--key-file", required=True)
    parser.add_argument("--ttl", type=float, default=900.0, help="seconds the token is valid")
    parser.add_argument("--user", default="sandbox-exec-admin")
    parser.add_argument("--group", action="append", default=None, help="default: system:masters")
    parser.add_argument("--log", help="append one JSON line per invocation to this file")
    parser.add_argument("--no-expiry", action="store_true", help="omit status.expirationTimestamp")
    args = parser.parse_args(argv)
    with open(args.key_file, "rb") as fh:
        key = fh.read()
    try:
        api_version = json.loads(os.environ.get("KUBERNETES_EXEC_INFO") or "{}").get("apiVersion")
    except ValueError:
        api_version = None
    now = time.time()
    # Milliseconds, as the stamp carries them: the client never believes a token lives longer than it does.
    expires_at = int((now + args.ttl) * 1000) / 1000
    token = mint_token(key, args.user, args.group or ["system:masters"], expires_at, now)
    if args.log:
        line = json.dumps({"pid": os.getpid(), "at": now, "exp": expires_at}) + "\n"
        fd = os.open(args.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)
    credential = exec_credential(
        api_version or DEFAULT_API_VERSION, token, None if args.no_expiry else expires_at
    )
    sys.stdout.write(json.dumps(credential) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
