"""Authentication: who a request is, from its bearer token.

* Static tokens (kube-apiserver's ``--token-auth-file``): ``ADMIN_TOKEN`` (what ``write_kubeconfig``
  writes) is ``kubernetes-admin`` in ``system:masters``, which bypasses authorization as on a kubeadm
  cluster; ``Authenticator.add_token`` adds more users.
* Service-account tokens from the TokenRequest API (``kubectl create token``): JWTs signed with a key
  of this server, valid until ``exp`` and while the service account exists with the same uid (a deleted
  and recreated account invalidates them), only for the API server's audience. They authenticate as
  ``system:serviceaccount:<ns>:<name>`` in ``system:serviceaccounts`` and ``system:serviceaccounts:<ns>``.
* Exec-plugin tokens (what ``aws eks get-token`` is to EKS): ``sandbox/token_command.py`` signs the user,
  groups and expiry with ``exec_key`` (a per-server secret it reads from a file); valid until that expiry.

Every authenticated user is also in ``system:authenticated``. A bearer token this server did not issue
(or an expired one) is 401 on either port. On the TLS port a request without a bearer token is 401 too
(anonymous auth is off) except on the health endpoints, which answer ``system:anonymous`` as
kube-apiserver's anonymous-auth ``conditions`` allow. On the plain-HTTP port a request without one runs as
``system:unsecured`` in ``system:masters``, as on kube-apiserver's former ``--insecure-port``: kubectl
(client-go's clientcmd) never sends a kubeconfig's credentials to an ``http://`` server, and the sandbox's
own controllers use that port.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sandbox import token_command

ADMIN_TOKEN = "sandbox-token"  # noqa: S105 - the sandbox's well-known admin token
ISSUER = "https://kubernetes.default.svc.cluster.local"
API_AUDIENCES = (ISSUER,)
AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"
MASTERS = "system:masters"
ANONYMOUS_PATHS = frozenset({"/healthz", "/livez", "/readyz"})
SA_PREFIX = "system:serviceaccount:"


@dataclass(frozen=True)
class UserInfo:
    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""

    @property
    def privileged(self) -> bool:
        return MASTERS in self.groups


ADMIN = UserInfo("kubernetes-admin", (MASTERS, AUTHENTICATED))
ANONYMOUS = UserInfo("system:anonymous", (UNAUTHENTICATED,))
UNSECURED = UserInfo("system:unsecured", (MASTERS, AUTHENTICATED))  # kube-apiserver's old insecure port


def service_account_user(namespace: str, name: str, uid: str = "") -> UserInfo:
    groups = ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", AUTHENTICATED)
    return UserInfo(f"{SA_PREFIX}{namespace}:{name}", groups, uid)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (None for anything else)."""
    scheme, _, rest = (authorization or "").strip().partition(" ")
    token = rest.strip()
    return token if scheme.lower() == "bearer" and token and " " not in token else None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _json(obj: dict) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Authenticator:
    """``lookup_service_account(namespace, name) -> dict | None`` reads the stored ServiceAccount."""

    def __init__(self, lookup_service_account: Callable[[str, str], dict | None]) -> None:
        self._lookup = lookup_service_account
        self._lock = threading.Lock()
        self._static: dict[str, UserInfo] = {ADMIN_TOKEN: ADMIN}
        self._key = secrets.token_bytes(32)
        self._kid = _b64(hashlib.sha256(self._key).digest()[:12])
        self.exec_key = secrets.token_bytes(32)  # signs sandbox/token_command.py's tokens
        self.exec_not_before = 0.0  # exec tokens minted earlier are rejected (revoke_exec_tokens)
        self.clock: Callable[[], float] = time.time  # tests may move time forward

    def add_token(self, token: str, user: str, groups: tuple[str, ...] | list[str] = ()) -> UserInfo:
        """Accept ``token`` as ``user`` (plus ``system:authenticated``) from now on."""
        info = UserInfo(user, tuple(dict.fromkeys([*groups, AUTHENTICATED])))
        with self._lock:
            self._static[token] = info
        return info

    def remove_token(self, token: str) -> None:
        with self._lock:
            self._static.pop(token, None)

    # -- service-account tokens (TokenRequest) ------------------------------------------------------
    def issue(
        self, namespace: str, name: str, sa_uid: str, audiences: list[str], seconds: int
    ) -> tuple[str, int]:
        """A signed token for the service account; returns (token, expiry as epoch seconds)."""
        now = int(self.clock())
        claims = {
            "aud": list(audiences),
            "exp": now + seconds,
            "iat": now,
            "iss": ISSUER,
            "jti": str(uuid.uuid4()),
            "kubernetes.io": {"namespace": namespace, "serviceaccount": {"name": name, "uid": sa_uid}},
            "nbf": now,
            "sub": f"{SA_PREFIX}{namespace}:{name}",
        }
        header = {"alg": "HS256", "kid": self._kid, "typ": "JWT"}
        signing_input = f"{_b64(_json(header))}.{_b64(_json(claims))}"
        signature = hmac.new(self._key, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(signature)}", now + seconds

    def _service_account_user(self, token: str) -> UserInfo | None:
        try:
            signing_input, _, signature = token.rpartition(".")
            expected = hmac.new(self._key, signing_input.encode(), hashlib.sha256).digest()
            if not signing_input or not hmac.compare_digest(_unb64(signature), expected):
                return None
            claims = json.loads(_unb64(signing_input.partition(".")[2]))
            ref = claims["kubernetes.io"]
            namespace, name, uid = (
                ref["namespace"],
                ref["serviceaccount"]["name"],
                ref["serviceaccount"]["uid"],
            )
            now = self.clock()
            if not claims["nbf"] - 60 <= now < claims["exp"]:
                return None
            if not set(claims["aud"]) & set(API_AUDIENCES):
                return None
        except (ValueError, KeyError, TypeError):
            return None
        sa = self._lookup(namespace, name)
        if sa is None or sa["metadata"].get("uid") != uid or sa["metadata"].get("deletionTimestamp"):
            return None
        return service_account_user(namespace, name, uid)

    # -- requests ------------------------------------------------------------------------------------
    def authenticate(self, authorization: str | None, path: str = "", secure: bool = True) -> UserInfo | None:
        """The request's user; None means 401 Unauthorized."""
        token = bearer_token(authorization)
        if token is None:
            if not secure:
                return UNSECURED
            return ANONYMOUS if path.rstrip("/") in ANONYMOUS_PATHS else None
        with self._lock:
            static = self._static.get(token)
        if static is not None:
            return static
        if token.startswith(token_command.PREFIX):
            return self._exec_user(token)
        return self._service_account_user(token) if token.count(".") == 2 else None

    def revoke_exec_tokens(self) -> None:
        """Reject every exec-plugin token minted until now, expired or not (rotated credentials)."""
        self.exec_not_before = self.clock()

    def _exec_user(self, token: str) -> UserInfo | None:
        claims = token_command.verify_token(self.exec_key, token, self.clock())
        if claims is None or float(claims.get("iat", 0)) < self.exec_not_before:
            return None
        groups = [g for g in claims.get("groups") or [] if isinstance(g, str)]
        return UserInfo(str(claims["sub"]), tuple(dict.fromkeys([*groups, AUTHENTICATED])))
