"""ObjectMeta helpers: name/label/annotation validation with apimachinery's messages, timestamps, names."""

from __future__ import annotations

import datetime as dt
import re
import secrets

from sandbox.kube.errors import FieldError

DNS1123_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN = DNS1123_LABEL + r"(\." + DNS1123_LABEL + ")*"
QUALIFIED_NAME = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
LABEL_VALUE = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?"

SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '"
    + DNS1123_SUBDOMAIN
    + "')"
)
LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
    "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '"
    + DNS1123_LABEL
    + "')"
)
QNAME_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '"
    + QUALIFIED_NAME
    + "')"
)
LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used "
    "for validation is '" + LABEL_VALUE + "')"
)

_GEN_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return None


def generate_name(base: str) -> str:
    base = base[: 63 - 5]
    return base + "".join(secrets.choice(_GEN_ALPHABET) for _ in range(5))


def name_errors(name: str, rule: str, field: str = "metadata.name") -> list[FieldError]:
    """rule: subdomain | label | path."""
    if rule == "label":
        if len(name) > 63:
            return [FieldError("FieldValueInvalid", field, name, "must be no more than 63 characters")]
        if not re.fullmatch(DNS1123_LABEL, name):
            return [FieldError("FieldValueInvalid", field, name, LABEL_MSG)]
        return []
    if rule == "path":
        if name in (".", ".."):
            return [FieldError("FieldValueInvalid", field, name, f"may not be '{name}'")]
        for bad in ("/", "%"):
            if bad in name:
                return [FieldError("FieldValueInvalid", field, name, f"may not contain '{bad}'")]
        return []
    errors = []
    if len(name) > 253:
        errors.append(FieldError("FieldValueInvalid", field, name, "must be no more than 253 characters"))
    if not re.fullmatch(DNS1123_SUBDOMAIN, name):
        errors.append(FieldError("FieldValueInvalid", field, name, SUBDOMAIN_MSG))
    return errors


def qualified_name_errors(key: str, field: str) -> list[FieldError]:
    parts = key.split("/")
    if len(parts) == 1:
        prefix, name = "", parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            return [FieldError("FieldValueInvalid", field, key, "prefix part must be non-empty")]
    else:
        return [
            FieldError(
                "FieldValueInvalid",
                field,
                key,
                "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and "
                "must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  "
                "or '123-abc', regex used for validation is '" + QUALIFIED_NAME + "') with an optional "
                "DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
            )
        ]
    errors = []
    if prefix:
        if len(prefix) > 253:
            errors.append(
                FieldError("FieldValueInvalid", field, key, "prefix part must be no more than 253 characters")
            )
        elif not re.fullmatch(DNS1123_SUBDOMAIN, prefix):
            errors.append(FieldError("FieldValueInvalid", field, key, "prefix part " + SUBDOMAIN_MSG))
    if not name:
        errors.append(FieldError("FieldValueInvalid", field, key, "name part must be non-empty"))
    elif len(name) > 63:
        errors.append(
            FieldError("FieldValueInvalid", field, key, "name part must be no more than 63 characters")
        )
    elif not re.fullmatch(QUALIFIED_NAME, name):
        errors.append(FieldError("FieldValueInvalid", field, key, QNAME_MSG))
    return errors


def metadata_errors(meta: dict, name_rule: str, namespaced: bool) -> list[FieldError]:
    """Validate the parts of ObjectMeta the apiserver checks on every write."""
    errors: list[FieldError] = []
    name = meta.get("name")
    if not name:
        if not meta.get("generateName"):
            errors.append(
                FieldError("FieldValueRequired", "metadata.name", detail="name or generateName is required")
            )
    elif not isinstance(name, str):
        errors.append(FieldError("FieldValueTypeInvalid", "metadata.name", name, "must be a string"))
    else:
        errors += name_errors(name, name_rule)
    if not namespaced and meta.get("namespace"):
        errors.append(
            FieldError("FieldValueForbidden", "metadata.namespace", detail="not allowed on this type")
        )
    labels = meta.get("labels") or {}
    if not isinstance(labels, dict):
        errors.append(FieldError("FieldValueTypeInvalid", "metadata.labels", labels, "must be a map"))
        labels = {}
    for key, value in labels.items():
        errors += qualified_name_errors(key, "metadata.labels")
        if not isinstance(value, str):
            errors.append(FieldError("FieldValueTypeInvalid", "metadata.labels", value, "must be a string"))
        elif len(value) > 63:
            errors.append(
                FieldError(
                    "FieldValueInvalid", "metadata.labels", value, "must be no more than 63 characters"
                )
            )
        elif not re.fullmatch(LABEL_VALUE, value):
            errors.append(FieldError("FieldValueInvalid", "metadata.labels", value, LABEL_VALUE_MSG))
    annotations = meta.get("annotations") or {}
    if not isinstance(annotations, dict):
        errors.append(
            FieldError("FieldValueTypeInvalid", "metadata.annotations", annotations, "must be a map")
        )
        annotations = {}
    total = 0
    for key, value in annotations.items():
        errors += qualified_name_errors(key.lower(), "metadata.annotations")
        total += len(key) + len(str(value))
    if total > 256 * 1024:
        errors.append(
            FieldError(
                "FieldValueTooLong",
                "metadata.annotations",
                omit_value=True,
                detail=f"may not be more than {256 * 1024} bytes",
            )
        )
    finalizers = meta.get("finalizers") or []
    for i, fin in enumerate(finalizers if isinstance(finalizers, list) else []):
        if not isinstance(fin, str):
            errors.append(
                FieldError("FieldValueTypeInvalid", f"metadata.finalizers[{i}]", fin, "must be a string")
            )
        else:
            errors += qualified_name_errors(fin, f"metadata.finalizers[{i}]")
    return errors
