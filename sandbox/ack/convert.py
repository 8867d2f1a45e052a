"""ACK spec <-> SageMaker API, derived from the two schemas instead of hand-written field tables.

The ACK code generator names every CRD field after the API member it mirrors, lower-camel-cased with
initialisms upper-cased (``RoleArn`` -> ``roleARN``, ``S3Uri`` -> ``s3URI``, ``KmsKeyId`` -> ``kmsKeyID``) and
Go keywords suffixed (``Type`` -> ``type_``). So a CRD field and its API member are equal once both are
lower-cased without underscores, and the two schemas say which values are structures (convert the keys)
and which are maps (keep them: hyperparameters, environment). ``to_api`` walks botocore's SageMaker model
(the request the real controller builds with aws-sdk-go-v2); ``from_api`` walks the CRD's OpenAPI schema
(what ``sdkFind`` copies from a Describe answer into the status, or into the spec on adoption), dropping
what the CRD does not have, as the API server's pruning would.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from pathlib import Path

import botocore.session
import yaml

from .resources import AckKind

CRDS = Path(__file__).resolve().parents[2] / "include" / "manifests" / "crds" / "ack"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _norm(name: str) -> str:
    return name.replace("_", "").lower()


@functools.cache
def _service_model():
    return botocore.session.get_session().get_service_model("sagemaker")


@functools.cache
def crd_schema(kind: AckKind) -> dict:
    """The kind's ``openAPIV3Schema`` (its ``properties`` hold ``spec`` and ``status``)."""
    crd = yaml.load((CRDS / f"{kind.plural}.yaml").read_text(), Loader=_LOADER)  # noqa: S506 - a safe loader
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def request(operation: str, spec: dict, **extra) -> dict:
    """The input of ``operation`` (e.g. ``CreateTrainingJob``) built from an ACK spec, plus ``extra``."""
    shape = _service_model().operation_model(operation).input_shape
    return {**to_api(spec, shape), **extra}


def to_api(value, shape):
    if value is None:
        return None
    kind = shape.type_name
    if kind == "structure":
        members = {_norm(name): (name, member) for name, member in shape.members.items()}
        out = {}
        for key, item in value.items():
            hit = members.get(_norm(key))
            if hit is not None and item is not None:
                out[hit[0]] = to_api(item, hit[1])
        return out
    if kind == "list":
        return [to_api(item, shape.member) for item in value]
    if kind == "map":
        return {str(k): to_api(v, shape.value) for k, v in value.items()}
    if kind in ("integer", "long"):
        return int(value)
    if kind in ("float", "double"):
        return float(value)
    if kind == "boolean":
        return value.lower() == "true" if isinstance(value, str) else bool(value)
    if kind == "string":
        return str(value)
    return value


def spec_from_api(kind: AckKind, described: dict) -> dict:
    return from_api(described, crd_schema(kind)["properties"]["spec"]) or {}


def status_from_api(kind: AckKind, described: dict) -> dict:
    return from_api(described, crd_schema(kind)["properties"]["status"]) or {}


def from_api(value, schema: dict):
    """A Describe answer (or part of it) as the CRD spells it; empty values left out (Go's omitempty)."""
    if value is None:
        return None
    kind = schema.get("type")
    if kind == "object" and isinstance(value, dict):
        props = schema.get("properties")
        if props:
            index = {_norm(name): (name, sub) for name, sub in props.items()}
            out = {}
            for key, item in value.items():
                hit = index.get(_norm(key))
                converted = None if hit is None else from_api(item, hit[1])
                if converted not in (None, [], {}):
                    out[hit[0]] = converted
            return out
        values = schema.get("additionalProperties")
        if isinstance(values, dict):
            return {str(k): from_api(v, values) for k, v in value.items()}
        return value
    if kind == "array" and isinstance(value, list):
        return [from_api(item, schema.get("items") or {}) for item in value]
    if kind == "string":
        return rfc3339(value) if isinstance(value, datetime) else str(value)
    if kind == "integer":
        return int(value)
    if kind == "number":
        return float(value)
    if kind == "boolean":
        return bool(value)
    return value


def rfc3339(value: datetime) -> str:
    """A metav1.Time as JSON: RFC 3339 in UTC, whole seconds."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def now() -> str:
    return rfc3339(datetime.now(UTC))


def differences(old, new, path: str = "") -> list[str]:
    """The dotted paths where two specs differ (lists and scalars compared whole); ``tags`` is ignored, as
    the SageMaker resources' ``compare.is_ignored`` says."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new)):
            if not path and key == "tags":
                continue
            out += differences(old.get(key), new.get(key), f"{path}.{key}" if path else key)
        return out
    return [] if old == new else [path]
