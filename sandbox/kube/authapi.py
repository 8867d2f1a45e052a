"""The authentication/authorization endpoints that are not stored objects:

* ``POST /api/v1/namespaces/<ns>/serviceaccounts/<name>/token``: TokenRequest (``kubectl create token``)
* ``POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews``: ``kubectl auth can-i``
* ``POST /apis/authorization.k8s.io/v1/selfsubjectrulesreviews``: ``kubectl auth can-i --list``
* ``POST /apis/authentication.k8s.io/v1/selfsubjectreviews``: ``kubectl auth whoami``
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sandbox.kube import errors as E
from sandbox.kube.auth import API_AUDIENCES, UserInfo
from sandbox.kube.errors import FieldError
from sandbox.kube.requestinfo import RequestInfo

if TYPE_CHECKING:
    from sandbox.kube.server import KubeApiServer

AUTHN, AUTHZ = "authentication.k8s.io", "authorization.k8s.io"
REVIEWS = {
    (AUTHZ, "selfsubjectaccessreviews"): "SelfSubjectAccessReview",
    (AUTHZ, "selfsubjectrulesreviews"): "SelfSubjectRulesReview",
    (AUTHN, "selfsubjectreviews"): "SelfSubjectReview",
}
DEFAULT_EXPIRATION = 3600
MIN_EXPIRATION, MAX_EXPIRATION = 600, 1 << 32


def _timestamp(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def is_token_request(group: str, rest: list[str]) -> bool:
    """``rest`` (the path after ``/api/v1``) is ``namespaces/<ns>/serviceaccounts/<name>/token``."""
    return (
        group == ""
        and len(rest) == 5
        and rest[0] == "namespaces"
        and rest[2:5:2] == ["serviceaccounts", "token"]
    )


def _object(body: Any, kind: str, group: str) -> dict:
    if not isinstance(body, dict):
        raise E.bad_request(f"expected a {kind} object")
    if body.get("kind") not in (None, "", kind):
        raise E.bad_request(f"the kind of the object ({body.get('kind')}) does not match {kind}")
    return body


def token_request(server: KubeApiServer, namespace: str, name: str, body: Any) -> dict:
    """Issue a token for the service account ``namespace/name`` (201 Created)."""
    sa = server.cluster.store.get(("", "serviceaccounts"), namespace, name)
    if sa is None:
        raise E.not_found("", "serviceaccounts", name)
    obj = _object(body if body is not None else {}, "TokenRequest", AUTHN)
    spec = obj.get("spec") or {}
    seconds = spec.get("expirationSeconds") or DEFAULT_EXPIRATION
    audiences = list(spec.get("audiences") or API_AUDIENCES)
    problems = []
    if not isinstance(seconds, int) or seconds < MIN_EXPIRATION:
        problems.append(
            FieldError(
                "FieldValueInvalid",
                "spec.expirationSeconds",
                seconds,
                "may not specify a duration less than 10 minutes",
            )
        )
    elif seconds > MAX_EXPIRATION:
        problems.append(
            FieldError(
                "FieldValueTooLong",
                "spec.expirationSeconds",
                seconds,
                "may not specify a duration larger than 2^32 seconds",
            )
        )
    if spec.get("boundObjectRef"):
        problems.append(
            FieldError("FieldValueForbidden", "spec.boundObjectRef", None, "not supported by the sandbox")
        )
    if problems:
        raise E.invalid(AUTHN, "TokenRequest", name, problems)
    token, expiry = server.auth.issue(namespace, name, sa["metadata"]["uid"], audiences, seconds)
    return {
        "kind": "TokenRequest",
        "apiVersion": f"{AUTHN}/v1",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "creationTimestamp": _timestamp(server.auth.clock()),
        },
        "spec": {"audiences": audiences, "expirationSeconds": seconds, "boundObjectRef": None},
        "status": {"token": token, "expirationTimestamp": _timestamp(expiry)},
    }


def review(server: KubeApiServer, user: UserInfo, group: str, resource: str, body: Any) -> dict:
    """Answer a SelfSubject*Review for ``user`` (201 Created)."""
    kind = REVIEWS.get((group, resource))
    if kind is None:
        raise E.not_found_generic()
    obj = _object(body, kind, group)
    spec = obj.get("spec") or {}
    head = {"kind": kind, "apiVersion": f"{group}/v1", "metadata": {"creationTimestamp": None}}
    if kind == "SelfSubjectReview":
        info = {"username": user.name, "groups": list(user.groups)}
        if user.uid:
            info["uid"] = user.uid
        return {**head, "status": {"userInfo": info}}
    if kind == "SelfSubjectRulesReview":
        rules, errors = server.authorizer.rules_for(user, spec.get("namespace") or "")
        status = {
            "resourceRules": [
                _rule(r, ("verbs", "apiGroups", "resources", "resourceNames"))
                for r in rules
                if r.get("resources")
            ],
            "nonResourceRules": [
                _rule(r, ("verbs", "nonResourceURLs")) for r in rules if r.get("nonResourceURLs")
            ],
            "incomplete": bool(errors),
        }
        if errors:
            status["evaluationError"] = "; ".join(errors)
        return {**head, "spec": spec, "status": status}
    info = _review_attributes(spec)
    decision = server.authorizer.authorize(user, info)
    status: dict = {"allowed": decision.allowed}
    if decision.reason:
        status["reason"] = decision.reason
    return {**head, "spec": spec, "status": status}


def _rule(rule: dict, keys: tuple[str, ...]) -> dict:
    return {k: list(rule[k]) for k in keys if rule.get(k)}


def _review_attributes(spec: dict) -> RequestInfo:
    res, non = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if bool(res) == bool(non):
        raise E.invalid(
            AUTHZ,
            "SelfSubjectAccessReview",
            "",
            [
                FieldError(
                    "FieldValueRequired",
                    "spec.resourceAttributes",
                    None,
                    "exactly one of nonResourceAttributes or resourceAttributes must be specified",
                )
            ],
        )
    if non:
        return RequestInfo(path=non.get("path", ""), verb=non.get("verb", ""))
    return RequestInfo(
        path="",
        verb=res.get("verb", ""),
        resource_request=True,
        api_group=res.get("group", ""),
        api_version=res.get("version", ""),
        resource=res.get("resource", ""),
        subresource=res.get("subresource", ""),
        namespace=res.get("namespace", ""),
        name=res.get("name", ""),
    )
