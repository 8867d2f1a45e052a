"""CustomResourceDefinition handling: validation, status (Established/NamesAccepted) and served types."""

from __future__ import annotations

from sandbox.kube.builtin import ALL_VERBS, ResourceType
from sandbox.kube.errors import FieldError
from sandbox.kube.meta import DNS1123_LABEL, name_errors, now
from sandbox.kube.registry import version_priority


def names(crd: dict) -> dict:
    raw = (crd.get("spec") or {}).get("names") or {}
    kind = raw.get("kind") or ""
    out = {
        "plural": raw.get("plural") or "",
        "singular": raw.get("singular") or kind.lower(),
        "kind": kind,
        "listKind": raw.get("listKind") or f"{kind}List",
    }
    if raw.get("shortNames"):
        out["shortNames"] = list(raw["shortNames"])
    if raw.get("categories"):
        out["categories"] = list(raw["categories"])
    return out


def validate(crd: dict) -> list[FieldError]:
    import re

    spec = crd.get("spec")
    if not isinstance(spec, dict):
        return [FieldError("FieldValueRequired", "spec")]
    errors: list[FieldError] = []
    group = spec.get("group") or ""
    n = names(crd)
    if not group:
        errors.append(FieldError("FieldValueRequired", "spec.group"))
    elif len(group.split(".")) < 2:
        errors.append(
            FieldError("FieldValueInvalid", "spec.group", group, "should be a domain with at least one dot")
        )
    else:
        errors += name_errors(group, "subdomain", "spec.group")
    if not n["plural"]:
        errors.append(FieldError("FieldValueRequired", "spec.names.plural"))
    elif not re.fullmatch(DNS1123_LABEL, n["plural"]):
        errors += name_errors(n["plural"], "label", "spec.names.plural")
    if not n["kind"]:
        errors.append(FieldError("FieldValueRequired", "spec.names.kind"))
    name = (crd.get("metadata") or {}).get("name", "")
    if n["plural"] and group and name != f"{n['plural']}.{group}":
        errors.append(
            FieldError("FieldValueInvalid", "metadata.name", name, 'must be spec.names.plural+"."+spec.group')
        )
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        errors.append(
            FieldError(
                "FieldValueNotSupported",
                "spec.scope",
                spec.get("scope") or "",
                'supported values: "Cluster", "Namespaced"',
            )
        )
    versions = spec.get("versions")
    if not isinstance(versions, list) or not versions:
        errors.append(
            FieldError(
                "FieldValueInvalid",
                "spec.versions",
                omit_value=True,
                detail="must have exactly one version marked as storage version",
            )
        )
        return errors
    if sum(1 for v in versions if isinstance(v, dict) and v.get("storage")) != 1:
        errors.append(
            FieldError(
                "FieldValueInvalid",
                "spec.versions",
                omit_value=True,
                detail="must have exactly one version marked as storage version",
            )
        )
    seen = set()
    for i, version in enumerate(versions):
        vname = (version or {}).get("name") or ""
        if not vname:
            errors.append(FieldError("FieldValueRequired", f"spec.versions[{i}].name"))
        elif vname in seen:
            errors.append(
                FieldError("FieldValueInvalid", f"spec.versions[{i}].name", vname, "must be unique")
            )
        seen.add(vname)
        schema = ((version or {}).get("schema") or {}).get("openAPIV3Schema")
        if not isinstance(schema, dict):
            errors.append(
                FieldError(
                    "FieldValueRequired",
                    f"spec.versions[{i}].schema.openAPIV3Schema",
                    detail="schemas are required",
                )
            )
        elif schema.get("type") != "object":
            errors.append(
                FieldError(
                    "FieldValueRequired",
                    f"spec.versions[{i}].schema.openAPIV3Schema.type",
                    detail="must not be empty at the root",
                )
            )
    return errors


def status(crd: dict, old_status: dict | None = None) -> dict:
    ts = now()
    old_status = old_status or {}
    old_conditions = {c.get("type"): c for c in old_status.get("conditions") or []}

    def cond(kind: str, reason: str, message: str) -> dict:
        prev = old_conditions.get(kind)
        when = prev.get("lastTransitionTime", ts) if prev and prev.get("status") == "True" else ts
        return {
            "type": kind,
            "status": "True",
            "lastTransitionTime": when,
            "reason": reason,
            "message": message,
        }

    stored = list(old_status.get("storedVersions") or [])
    for version in crd["spec"]["versions"]:
        if version.get("storage") and version["name"] not in stored:
            stored.append(version["name"])
    return {
        "conditions": [
            cond("NamesAccepted", "NoConflicts", "no conflicts found"),
            cond("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        ],
        "acceptedNames": names(crd),
        "storedVersions": stored,
    }


def types(crd: dict) -> list[ResourceType]:
    spec = crd["spec"]
    n = names(crd)
    out = []
    for version in sorted(spec["versions"], key=lambda v: version_priority(v["name"])):
        if not version.get("served", True):
            continue
        subresources = version.get("subresources") or {}
        out.append(
            ResourceType(
                group=spec["group"],
                version=version["name"],
                plural=n["plural"],
                singular=n["singular"],
                kind=n["kind"],
                namespaced=spec.get("scope") == "Namespaced",
                short_names=tuple(n.get("shortNames", ())),
                categories=tuple(n.get("categories", ())),
                verbs=ALL_VERBS,
                status_subresource="status" in subresources,
                custom=True,
                schema=(version.get("schema") or {}).get("openAPIV3Schema"),
                printer_columns=tuple(version.get("additionalPrinterColumns") or ()),
                selectable_fields=tuple(
                    f.get("jsonPath", "").lstrip(".") for f in version.get("selectableFields") or ()
                ),
                crd_name=crd["metadata"]["name"],
            )
        )
    return out
