"""Structural-schema pruning, defaulting and validation of custom resources (openAPIV3Schema).

Messages follow kube-openapi/apiextensions: ``<path> in body should be greater than or equal to 1``.
"""

from __future__ import annotations

import copy
import re
from functools import lru_cache
from typing import Any

from sandbox.kube.errors import FieldError, go_quote

OBJECT_META_FIELDS = frozenset(
    {
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    }
)
ROOT_KEEP = ("apiVersion", "kind", "metadata")

_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FORMATS = {"date-time": _DATE_TIME, "date": _DATE}


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _is_type(value: Any, wanted: str) -> bool:
    actual = type_name(value)
    return actual == wanted or (wanted == "number" and actual == "integer")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


@lru_cache(maxsize=512)
def _compile(pattern: str) -> re.Pattern:
    return re.compile(pattern)


# -- pruning --------------------------------------------------------------------------------------------


def prune(schema: dict, obj: Any, root: bool = True) -> list[str]:
    """Drop fields unknown to ``schema`` from ``obj`` in place; return their paths (``spec.foo``)."""
    unknown: list[str] = []
    if root and isinstance(obj, dict):
        meta = obj.get("metadata")
        if isinstance(meta, dict):
            for key in sorted(set(meta) - OBJECT_META_FIELDS):
                unknown.append(f"metadata.{key}")
                del meta[key]
        _prune(schema, obj, "", unknown, keep=ROOT_KEEP)
    else:
        _prune(schema, obj, "", unknown)
    return unknown


def _prune(schema: dict | None, value: Any, path: str, unknown: list[str], keep: tuple = ()) -> None:
    if schema is None:
        return
    if isinstance(value, dict):
        props = schema.get("properties")
        additional = schema.get("additionalProperties")
        preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
        embedded = bool(schema.get("x-kubernetes-embedded-resource"))
        for key in list(value):
            child_path = _join(path, key)
            if key in keep or (embedded and key in ROOT_KEEP):
                if embedded and key == "metadata" and isinstance(value[key], dict):
                    for mkey in sorted(set(value[key]) - OBJECT_META_FIELDS):
                        unknown.append(f"{child_path}.{mkey}")
                        del value[key][mkey]
            elif props is not None and key in props:
                _prune(props[key], value[key], child_path, unknown)
            elif isinstance(additional, dict):
                _prune(additional, value[key], child_path, unknown)
            elif preserve or additional is True:
                continue
            else:
                unknown.append(child_path)
                del value[key]
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            _prune(schema["items"], item, f"{path}[{i}]", unknown)


# -- defaulting ---------------------------------------------------------------------------------------


def default(schema: dict | None, value: Any) -> None:
    """Drop nulls of non-nullable fields without default, then apply ``default`` values (in place)."""
    if schema is None:
        return
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        for key, sub in props.items():
            if key in value and value[key] is None and not sub.get("nullable"):
                if "default" in sub:
                    value[key] = copy.deepcopy(sub["default"])
                else:
                    del value[key]
            elif key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
        for key, item in value.items():
            if key in props:
                default(props[key], item)
            elif isinstance(schema.get("additionalProperties"), dict):
                default(schema["additionalProperties"], item)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            default(schema["items"], item)


# -- validation --------------------------------------------------------------------------------------


def validate(schema: dict, obj: Any, path: str = "", root: bool = True) -> list[FieldError]:
    """Validate ``obj`` against a structural schema; the root's apiVersion/kind/metadata are skipped."""
    errors: list[FieldError] = []
    if root and isinstance(obj, dict):
        body = {k: v for k, v in obj.items() if k not in ROOT_KEEP}
        root_schema = dict(schema)
        root_schema["properties"] = {
            k: v for k, v in (schema.get("properties") or {}).items() if k not in ROOT_KEEP
        }
        root_schema["required"] = [r for r in schema.get("required", []) if r not in ROOT_KEEP]
        _validate(root_schema, body, path, errors)
    else:
        _validate(schema, obj, path, errors)
    return errors


def _invalid(path: str, value: Any, detail: str) -> FieldError:
    return FieldError("FieldValueInvalid", path, value, detail)


def _name(path: str) -> str:
    return path or "body"


def _validate(schema: dict, value: Any, path: str, errors: list[FieldError]) -> None:
    if value is None:
        if schema.get("nullable") or (
            schema.get("x-kubernetes-preserve-unknown-fields") and "type" not in schema
        ):
            return
        if "type" in schema or schema.get("x-kubernetes-int-or-string"):
            wanted = schema.get("type", "string")
            errors.append(
                FieldError(
                    "FieldValueTypeInvalid",
                    path,
                    None,
                    f'{_name(path)} in body must be of type {wanted}: "null"',
                )
            )
            return
    if schema.get("x-kubernetes-int-or-string"):
        if type_name(value) not in ("integer", "string"):
            errors.append(
                FieldError(
                    "FieldValueTypeInvalid",
                    path,
                    value,
                    f"{_name(path)} in body must be of type integer,string: {go_quote(type_name(value))}",
                )
            )
            return
    elif "type" in schema and not _is_type(value, schema["type"]):
        errors.append(
            FieldError(
                "FieldValueTypeInvalid",
                path,
                value,
                f"{_name(path)} in body must be of type {schema['type']}: {go_quote(type_name(value))}",
            )
        )
        return
    if "enum" in schema and not any(_json_equal(value, e) for e in schema["enum"]):
        supported = [e if isinstance(e, str) else _json(e) for e in schema["enum"]]
        detail = "supported values: " + ", ".join(go_quote(s) for s in supported)
        errors.append(FieldError("FieldValueNotSupported", path, value, detail))
    if isinstance(value, str):
        _validate_string(schema, value, path, errors)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        _validate_number(schema, value, path, errors)
    elif isinstance(value, list):
        _validate_array(schema, value, path, errors)
    elif isinstance(value, dict):
        _validate_object(schema, value, path, errors)
    _validate_combinators(schema, value, path, errors)


def _validate_string(schema: dict, value: str, path: str, errors: list[FieldError]) -> None:
    n = _name(path)
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        limit = schema["maxLength"]
        errors.append(
            FieldError(
                "FieldValueTooLong",
                path,
                value,
                f"may not be more than {limit} {'byte' if limit == 1 else 'bytes'}",
            )
        )
    if "minLength" in schema and len(value) < schema["minLength"]:
        errors.append(
            _invalid(path, value, f"{n} in body should be at least {schema['minLength']} chars long")
        )
    if "pattern" in schema:
        try:
            matched = _compile(schema["pattern"]).search(value) is not None
        except re.error:
            matched = True
        if not matched:
            errors.append(_invalid(path, value, f"{n} in body should match '{schema['pattern']}'"))
    fmt = _FORMATS.get(schema.get("format", ""))
    if fmt is not None and not fmt.match(value):
        errors.append(
            FieldError(
                "FieldValueTypeInvalid",
                path,
                value,
                f"{n} in body must be of type {schema['format']}: {go_quote(value)}",
            )
        )


def _num(x: float) -> str:
    return str(int(x)) if isinstance(x, float) and x.is_integer() else str(x)


def _validate_number(schema: dict, value: float, path: str, errors: list[FieldError]) -> None:
    n = _name(path)
    if "minimum" in schema:
        lo = schema["minimum"]
        if schema.get("exclusiveMinimum") is True and value <= lo:
            errors.append(_invalid(path, value, f"{n} in body should be greater than {_num(lo)}"))
        elif value < lo:
            errors.append(_invalid(path, value, f"{n} in body should be greater than or equal to {_num(lo)}"))
    if "maximum" in schema:
        hi = schema["maximum"]
        if schema.get("exclusiveMaximum") is True and value >= hi:
            errors.append(_invalid(path, value, f"{n} in body should be less than {_num(hi)}"))
        elif value > hi:
            errors.append(_invalid(path, value, f"{n} in body should be less than or equal to {_num(hi)}"))
    if schema.get("multipleOf"):
        q = value / schema["multipleOf"]
        if q != int(q):
            errors.append(
                _invalid(path, value, f"{n} in body should be a multiple of {_num(schema['multipleOf'])}")
            )


def _validate_array(schema: dict, value: list, path: str, errors: list[FieldError]) -> None:
    n = _name(path)
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        limit = schema["maxItems"]
        errors.append(
            FieldError(
                "FieldValueTooMany",
                path,
                len(value),
                f"must have at most {limit} {'item' if limit == 1 else 'items'}",
            )
        )
    if "minItems" in schema and len(value) < schema["minItems"]:
        errors.append(
            _invalid(path, len(value), f"{n} in body should have at least {schema['minItems']} items")
        )
    if schema.get("uniqueItems") or schema.get("x-kubernetes-list-type") == "set":
        seen: list[str] = []
        for i, item in enumerate(value):
            key = _json(item)
            if key in seen:
                errors.append(FieldError("FieldValueDuplicate", f"{path}[{i}]", item))
            seen.append(key)
    items = schema.get("items")
    if isinstance(items, dict):
        for i, item in enumerate(value):
            _validate(items, item, f"{path}[{i}]", errors)


def _validate_object(schema: dict, value: dict, path: str, errors: list[FieldError]) -> None:
    n = _name(path)
    for req in schema.get("required", []):
        if req not in value:
            errors.append(FieldError("FieldValueRequired", _join(path, req)))
    if "maxProperties" in schema and len(value) > schema["maxProperties"]:
        errors.append(
            FieldError(
                "FieldValueTooMany", path, len(value), f"must have at most {schema['maxProperties']} items"
            )
        )
    if "minProperties" in schema and len(value) < schema["minProperties"]:
        errors.append(
            _invalid(
                path, len(value), f"{n} in body should have at least {schema['minProperties']} properties"
            )
        )
    props = schema.get("properties") or {}
    additional = schema.get("additionalProperties")
    for key in sorted(value):
        if key in props:
            _validate(props[key], value[key], _join(path, key), errors)
        elif isinstance(additional, dict):
            _validate(additional, value[key], _join(path, key), errors)
        elif additional is False and props and not schema.get("x-kubernetes-preserve-unknown-fields"):
            errors.append(
                FieldError("FieldValueForbidden", _join(path, key), detail="field not declared in schema")
            )
    if schema.get("x-kubernetes-embedded-resource"):
        for req in ("apiVersion", "kind"):
            if not value.get(req):
                errors.append(FieldError("FieldValueRequired", _join(path, req), detail="must not be empty"))


def _validate_combinators(schema: dict, value: Any, path: str, errors: list[FieldError]) -> None:
    n = _name(path)
    for sub in schema.get("allOf", []):
        _validate(sub, value, path, errors)
    if "anyOf" in schema and all(_sub_errors(sub, value, path) for sub in schema["anyOf"]):
        errors.append(_invalid(path, value, f'"{n}" must validate at least one schema (anyOf)'))
    if "oneOf" in schema:
        ok = sum(1 for sub in schema["oneOf"] if not _sub_errors(sub, value, path))
        if ok != 1:
            errors.append(_invalid(path, value, f'"{n}" must validate one and only one schema (oneOf)'))
    if isinstance(schema.get("not"), dict) and not _sub_errors(schema["not"], value, path):
        errors.append(_invalid(path, value, f'"{n}" must not validate the schema (not)'))


def _sub_errors(schema: dict, value: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    _validate(schema, value, path, errs)
    return errs


def _json(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _json_equal(a: Any, b: Any) -> bool:
    return (type_name(a) == type_name(b) and _json(a) == _json(b)) or (
        type_name(a) in ("integer", "number") and type_name(b) in ("integer", "number") and a == b
    )
