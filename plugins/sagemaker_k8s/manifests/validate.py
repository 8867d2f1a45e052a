"""Check a manifest against its CRD's openAPIV3Schema before sending it, reporting every problem.

Stricter than the API server in one deliberate way: **unknown fields are errors**. A structural
CRD makes the server silently prune them, so a misspelt ``instanceCont`` would vanish and the job
would run with the template's value. OpenAPI/Kubernetes extensions are translated to plain JSON
Schema: ``nullable``, ``x-kubernetes-int-or-string``, ``x-kubernetes-preserve-unknown-fields``;
``format`` (int32/int64/date-time) is not enforced, as jsonschema does not by default either.
``status`` is not checked: the API server ignores it on create (status subresource).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from typing import Any

from sagemaker_k8s.exceptions import FieldError, ManifestValidationError
from sagemaker_k8s.manifests.flavours import ResourceKind
from sagemaker_k8s.manifests.load import load_crd_schema, manifests_dir
from sagemaker_k8s.manifests.naming import (
    is_valid_dns_label,
    is_valid_k8s_name,
    is_valid_label_key,
    is_valid_label_value,
)
from sagemaker_k8s.patterns import ecma_search

_KEEP_METADATA = frozenset(
    {
        "name",
        "namespace",
        "labels",
        "annotations",
        "finalizers",
        "generateName",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "managedFields",
        "ownerReferences",
    }
)


def strict_schema(node: Any) -> Any:
    """A copy of an OpenAPI v3 (Kubernetes) schema as JSON Schema, closing every object to unknown keys."""
    if isinstance(node, list):
        return [strict_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("description", "format", "example") or key.startswith("x-kubernetes-"):
            continue
        if key == "nullable":
            continue
        if key in ("properties", "patternProperties", "definitions"):
            out[key] = {k: strict_schema(v) for k, v in value.items()}
        else:
            out[key] = strict_schema(value)
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("type") == "object" and not node.get("x-kubernetes-preserve-unknown-fields"):
        out.setdefault("additionalProperties", False)
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


@functools.lru_cache(maxsize=32)
def _validator(kind: ResourceKind, directory: str) -> Any:
    from jsonschema import Draft4Validator, ValidationError, validators  # deferred: ~0.5 s to import

    def pattern(validator: Any, patrn: str, instance: Any, schema: Any) -> Any:
        if validator.is_type(instance, "string") and not ecma_search(patrn, instance):
            yield ValidationError(f"{instance!r} does not match {patrn!r}")

    strict = validators.extend(Draft4Validator, {"pattern": pattern})  # "$" = end of text, as on the server
    schema = strict_schema(copy.deepcopy(load_crd_schema(kind)))
    props = schema.setdefault("properties", {})
    props["metadata"] = {"type": "object"}  # checked by _metadata_errors: the server handles it itself
    props.pop("status", None)
    schema["additionalProperties"] = False
    return strict(schema)  # OpenAPI 3.0 schemas follow draft 4 semantics


def _path(parts: Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _join(base: str, key: str) -> str:
    return f"{base}.{key}" if base else key


def _field_errors(error: Any) -> list[FieldError]:
    path, rule, value = _path(error.absolute_path), error.validator, error.validator_value
    if rule == "additionalProperties" and isinstance(error.instance, dict):
        known = set(error.schema.get("properties", {}))
        return [
            FieldError(_join(path, str(k)[:100]), "unknown field (the API server would silently drop it)")
            for k in error.instance
            if k not in known
        ]
    if rule == "required":
        missing = [k for k in value if isinstance(error.instance, dict) and k not in error.instance]
        return [FieldError(_join(path, k), "is required") for k in missing]
    instance = repr(error.instance)
    instance = instance if len(instance) <= 60 else instance[:57] + "..."
    messages = {
        "minimum": f"must be >= {value}",
        "maximum": f"must be <= {value}",
        "minLength": f"must be at least {value} characters",
        "maxLength": f"must be at most {value} characters",
        "minItems": f"must have at least {value} item(s)",
        "maxItems": f"must have at most {value} item(s)",
        "pattern": f"must match pattern {value}",
        "enum": f"must be one of {value}",
        "type": f"must be of type {value}",
    }
    message = messages.get(rule, error.message[:200])
    return [FieldError(path, f"{message} (got {instance})")]


def _metadata_errors(meta: Any) -> list[FieldError]:
    if not isinstance(meta, Mapping):
        return [FieldError("metadata", "is required and must be an object")]
    errors = []
    if not is_valid_k8s_name(meta.get("name")):
        errors.append(
            FieldError("metadata.name", f"must be a DNS-1123 subdomain (got {str(meta.get('name'))[:80]!r})")
        )
    if "namespace" in meta and not is_valid_dns_label(meta["namespace"]):
        errors.append(
            FieldError(
                "metadata.namespace", f"must be a DNS-1123 label (got {str(meta['namespace'])[:80]!r})"
            )
        )
    for section, value_ok in (
        ("labels", is_valid_label_value),
        ("annotations", lambda v: isinstance(v, str)),
    ):
        entries = meta.get(section) or {}
        if not isinstance(entries, Mapping):
            errors.append(FieldError(f"metadata.{section}", "must be a map of strings"))
            continue
        for key, value in entries.items():
            if not is_valid_label_key(key):
                errors.append(FieldError(f"metadata.{section}", f"invalid key {str(key)[:80]!r}"))
            elif not value_ok(value):
                errors.append(FieldError(f"metadata.{section}.{key}", f"invalid value {str(value)[:80]!r}"))
    errors += [FieldError(f"metadata.{k}"[:120], "unknown field") for k in meta if k not in _KEEP_METADATA]
    return errors


def validation_errors(kind: ResourceKind, obj: Any) -> list[FieldError]:
    """Every problem with ``obj`` as a ``kind`` manifest (empty list when valid)."""
    if not isinstance(obj, Mapping):
        return [FieldError("", f"a manifest must be an object, got {type(obj).__name__}")]
    errors: list[FieldError] = []
    if obj.get("apiVersion") != kind.api_version:
        errors.append(
            FieldError(
                "apiVersion", f"must be {kind.api_version!r} (got {str(obj.get('apiVersion'))[:80]!r})"
            )
        )
    if obj.get("kind") != kind.kind:
        errors.append(FieldError("kind", f"must be {kind.kind!r} (got {str(obj.get('kind'))[:80]!r})"))
    errors += _metadata_errors(obj.get("metadata"))
    document = {k: v for k, v in obj.items() if k != "status"}
    validator = _validator(kind, str(manifests_dir().resolve()))
    for error in validator.iter_errors(document):
        if error.absolute_path and error.absolute_path[0] == "metadata":
            continue
        errors += _field_errors(error)
    unique = {(e.path, e.message): e for e in errors}
    return sorted(unique.values(), key=lambda e: (e.path, e.message))


def validate_resource(kind: ResourceKind, obj: Mapping[str, Any]) -> None:
    """Raise ``ManifestValidationError`` listing every problem, or return quietly."""
    errors = validation_errors(kind, obj)
    if errors:
        name = (
            obj.get("metadata", {}).get("name")
            if isinstance(obj, Mapping) and isinstance(obj.get("metadata"), Mapping)
            else None
        )
        raise ManifestValidationError(f"{kind.kind} {str(name)[:80]!r}" if name else kind.kind, errors)
