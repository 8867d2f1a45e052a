"""Decoding of ``application/vnd.kubernetes.protobuf`` request bodies for the few kinds kubectl's
imperative commands send that way (``kubectl create namespace|configmap|secret|serviceaccount|role|
rolebinding|clusterrole|clusterrolebinding|token``, ``kubectl auth can-i|whoami``). Other kinds answer
415; responses are always JSON."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

MAGIC = b"k8s\x00"

# message schemas: field number -> (json name, kind, sub-schema or None, repeated)
# kinds: s=string, b=bytes (base64 in JSON), i=int, o=bool, m=message, map=map<string,string>,
# mapb=map<string,bytes>, t=metav1.Time
_TIME = "t"
OWNER_REF = {
    1: ("kind", "s", None, False),
    3: ("name", "s", None, False),
    4: ("uid", "s", None, False),
    5: ("apiVersion", "s", None, False),
    6: ("controller", "o", None, False),
    7: ("blockOwnerDeletion", "o", None, False),
}
OBJECT_META = {
    1: ("name", "s", None, False),
    2: ("generateName", "s", None, False),
    3: ("namespace", "s", None, False),
    5: ("uid", "s", None, False),
    6: ("resourceVersion", "s", None, False),
    7: ("generation", "i", None, False),
    8: ("creationTimestamp", _TIME, None, False),
    9: ("deletionTimestamp", _TIME, None, False),
    10: ("deletionGracePeriodSeconds", "i", None, False),
    11: ("labels", "map", None, False),
    12: ("annotations", "map", None, False),
    13: ("ownerReferences", "m", OWNER_REF, True),
    14: ("finalizers", "s", None, True),
}
OBJECT_REF = {
    1: ("kind", "s", None, False),
    2: ("namespace", "s", None, False),
    3: ("name", "s", None, False),
    4: ("uid", "s", None, False),
    5: ("apiVersion", "s", None, False),
    6: ("resourceVersion", "s", None, False),
    7: ("fieldPath", "s", None, False),
}
POLICY_RULE = {
    1: ("verbs", "s", None, True),
    2: ("apiGroups", "s", None, True),
    3: ("resources", "s", None, True),
    4: ("resourceNames", "s", None, True),
    5: ("nonResourceURLs", "s", None, True),
}
SUBJECT = {
    1: ("kind", "s", None, False),
    2: ("apiGroup", "s", None, False),
    3: ("name", "s", None, False),
    4: ("namespace", "s", None, False),
}
ROLE_REF = {1: ("apiGroup", "s", None, False), 2: ("kind", "s", None, False), 3: ("name", "s", None, False)}
META = (1, ("metadata", "m", OBJECT_META, False))
TOKEN_REQUEST_SPEC = {
    1: ("audiences", "s", None, True),
    3: (
        "boundObjectRef",
        "m",
        {
            1: ("kind", "s", None, False),
            2: ("apiVersion", "s", None, False),
            3: ("name", "s", None, False),
            4: ("uid", "s", None, False),
        },
        False,
    ),
    4: ("expirationSeconds", "i", None, False),
}
RESOURCE_ATTRIBUTES = {
    1: ("namespace", "s", None, False),
    2: ("verb", "s", None, False),
    3: ("group", "s", None, False),
    4: ("version", "s", None, False),
    5: ("resource", "s", None, False),
    6: ("subresource", "s", None, False),
    7: ("name", "s", None, False),
}
NON_RESOURCE_ATTRIBUTES = {1: ("path", "s", None, False), 2: ("verb", "s", None, False)}

KINDS: dict[str, dict] = {
    "Namespace": dict(
        [
            META,
            (2, ("spec", "m", {1: ("finalizers", "s", None, True)}, False)),
            (3, ("status", "m", {1: ("phase", "s", None, False)}, False)),
        ]
    ),
    "ConfigMap": dict(
        [
            META,
            (2, ("data", "map", None, False)),
            (3, ("binaryData", "mapb", None, False)),
            (4, ("immutable", "o", None, False)),
        ]
    ),
    "Secret": dict(
        [
            META,
            (2, ("data", "mapb", None, False)),
            (3, ("type", "s", None, False)),
            (4, ("stringData", "map", None, False)),
            (5, ("immutable", "o", None, False)),
        ]
    ),
    "ServiceAccount": dict(
        [
            META,
            (2, ("secrets", "m", OBJECT_REF, True)),
            (3, ("imagePullSecrets", "m", {1: ("name", "s", None, False)}, True)),
            (4, ("automountServiceAccountToken", "o", None, False)),
        ]
    ),
    "Role": dict([META, (2, ("rules", "m", POLICY_RULE, True))]),
    "ClusterRole": dict([META, (2, ("rules", "m", POLICY_RULE, True))]),
    "RoleBinding": dict(
        [META, (2, ("subjects", "m", SUBJECT, True)), (3, ("roleRef", "m", ROLE_REF, False))]
    ),
    "ClusterRoleBinding": dict(
        [META, (2, ("subjects", "m", SUBJECT, True)), (3, ("roleRef", "m", ROLE_REF, False))]
    ),
    # authentication.k8s.io/v1 and authorization.k8s.io/v1 (kubectl create token, auth can-i/whoami)
    "TokenRequest": dict(
        [
            META,
            (2, ("spec", "m", TOKEN_REQUEST_SPEC, False)),
        ]
    ),
    "SelfSubjectAccessReview": dict(
        [
            META,
            (
                2,
                (
                    "spec",
                    "m",
                    {
                        1: ("resourceAttributes", "m", RESOURCE_ATTRIBUTES, False),
                        2: ("nonResourceAttributes", "m", NON_RESOURCE_ATTRIBUTES, False),
                    },
                    False,
                ),
            ),
        ]
    ),
    "SelfSubjectRulesReview": dict([META, (2, ("spec", "m", {1: ("namespace", "s", None, False)}, False))]),
    "SelfSubjectReview": dict([META]),
}


class ProtobufError(ValueError):
    pass


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ProtobufError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(data: bytes):
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos : pos + length], pos + length
        elif wire == 1:
            value, pos = data[pos : pos + 8], pos + 8
        elif wire == 5:
            value, pos = data[pos : pos + 4], pos + 4
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
        yield number, value


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _time(data: bytes) -> str | None:
    seconds = 0
    for number, value in _fields(data):
        if number == 1:
            seconds = _signed(value)
    if not seconds:
        return None
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _decode(data: bytes, schema: dict) -> dict:
    out: dict[str, Any] = {}
    for number, raw in _fields(data):
        if number not in schema:
            continue
        name, kind, sub, repeated = schema[number]
        if kind == "s":
            value: Any = raw.decode()
        elif kind == "b":
            value = base64.b64encode(raw).decode()
        elif kind == "i":
            value = _signed(raw)
        elif kind == "o":
            value = bool(raw)
        elif kind == _TIME:
            value = _time(raw)
        elif kind == "m":
            value = _decode(raw, sub)
        else:  # map entries
            entry = dict(_fields(raw))
            key = entry.get(1, b"").decode()
            item = entry.get(2, b"")
            out.setdefault(name, {})[key] = (
                base64.b64encode(item).decode() if kind == "mapb" else item.decode()
            )
            continue
        if repeated:
            out.setdefault(name, []).append(value)
        elif value not in ("", 0, None) or kind == "m":  # Go zero values mean "unset" (omitempty in JSON)
            out[name] = value
    return out


def decode(body: bytes) -> dict:
    """A JSON-shaped object from a ``k8s\\x00``-framed runtime.Unknown; raises ProtobufError."""
    if not body.startswith(MAGIC):
        raise ProtobufError("missing k8s protobuf magic prefix")
    envelope = dict(_fields(body[len(MAGIC) :]))
    type_meta = {n: v.decode() for n, v in _fields(envelope.get(1, b""))}
    api_version, kind = type_meta.get(1, ""), type_meta.get(2, "")
    if kind not in KINDS:
        raise ProtobufError(
            f"protobuf bodies are only supported for {', '.join(sorted(KINDS))}, not {kind!r}"
        )
    obj = _decode(envelope.get(2, b""), KINDS[kind])
    return {"apiVersion": api_version, "kind": kind, **obj}
