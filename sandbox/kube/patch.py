"""JSON merge patch (RFC 7386), JSON patch (RFC 6902) and a simplified strategic merge patch."""

from __future__ import annotations

import copy
import json
from typing import Any

MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"


class PatchError(Exception):
    """``bad_request`` True for a malformed patch document (400), False for a failed apply (422)."""

    def __init__(self, message: str, bad_request: bool = False):
        super().__init__(message)
        self.bad_request = bad_request


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: returns a new document."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# -- RFC 6902 ------------------------------------------------------------------------------------


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f'JSON pointer must be empty or start with a "/": {path!r}')
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _index(container: list, token: str, path: str, allow_end: bool = False) -> int:
    if allow_end and token == "-":  # noqa: S105 - a JSON pointer token, not a secret
        return len(container)
    if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
        raise PatchError(f"invalid array index {token!r} in path {path!r}")
    idx = int(token)
    if idx > len(container) or (not allow_end and idx == len(container)):
        raise PatchError(f"array index out of bounds: {idx} in path {path!r}")
    return idx


def _parent(doc: Any, tokens: list[str], path: str) -> Any:
    node = doc
    for token in tokens[:-1]:
        if isinstance(node, dict):
            if token not in node:
                raise PatchError(f"doc is missing path: {path!r}: missing value")
            node = node[token]
        elif isinstance(node, list):
            node = node[_index(node, token, path)]
        else:
            raise PatchError(f"doc is missing path: {path!r}: missing value")
    return node


def _get(doc: Any, path: str) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return doc
    parent = _parent(doc, tokens, path)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"doc is missing path: {path!r}: missing value")
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(parent, last, path)]
    raise PatchError(f"doc is missing path: {path!r}: missing value")


def _add(doc: Any, path: str, value: Any) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return value
    parent = _parent(doc, tokens, path)
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, path, allow_end=True), value)
    else:
        raise PatchError(f"doc is missing path: {path!r}: missing value")
    return doc


def _remove(doc: Any, path: str) -> tuple[Any, Any]:
    tokens = _pointer(path)
    if not tokens:
        raise PatchError("unable to remove the whole document")
    parent = _parent(doc, tokens, path)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"unable to remove nonexistent key: {last}: missing value")
        return doc, parent.pop(last)
    if isinstance(parent, list):
        return doc, parent.pop(_index(parent, last, path))
    raise PatchError(f"doc is missing path: {path!r}: missing value")


def json_patch(target: Any, ops: Any) -> Any:
    if not isinstance(ops, list) or not all(isinstance(op, dict) for op in ops):
        raise PatchError(
            "json: cannot unmarshal object into Go value of type jsonpatch.Patch", bad_request=True
        )
    doc = copy.deepcopy(target)
    for op in ops:
        kind = op.get("op")
        path = op.get("path")
        if not isinstance(path, str):
            raise PatchError(f"{kind} operation has no path", bad_request=kind not in _OPS)
        if kind in ("add", "replace", "test") and "value" not in op:
            raise PatchError(f"{kind} operation has no value")
        value = copy.deepcopy(op.get("value"))
        if kind == "add":
            doc = _add(doc, path, value)
        elif kind == "remove":
            doc, _ = _remove(doc, path)
        elif kind == "replace":
            _get(doc, path)
            doc, _ = _remove(doc, path) if _pointer(path) else (doc, None)
            doc = _add(doc, path, value)
        elif kind in ("move", "copy"):
            source = op.get("from")
            if not isinstance(source, str):
                raise PatchError(f"{kind} operation has no from")
            if kind == "move":
                if path.startswith(source + "/"):
                    raise PatchError(f"move: cannot move {source!r} into its own child {path!r}")
                doc, moved = _remove(doc, source)
            else:
                moved = copy.deepcopy(_get(doc, source))
            doc = _add(doc, path, moved)
        elif kind == "test":
            try:
                current = _get(doc, path)
            except PatchError:
                current = None
            if _canon(current) != _canon(value):
                raise PatchError(f"testing value {path} failed: test failed")
        else:
            raise PatchError(f"Unexpected kind: {kind}")
    return doc


_OPS = ("add", "remove", "replace", "move", "copy", "test")


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


# -- strategic merge patch (simplified) ---------------------------------------------------------------


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """Strategic merge without OpenAPI metadata: maps merge like RFC 7386, lists whose items are all
    maps with a ``name`` merge by name, other lists are replaced. ``$patch: delete|replace``,
    ``$retainKeys``, ``$setElementOrder/*`` and ``$deleteFromPrimitiveList/*`` are honoured or dropped."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if not k.startswith("$")}
    if directive == "delete":
        return None
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            if isinstance(result.get(field), list):
                result[field] = [v for v in result[field] if v not in (value or [])]
            continue
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            merged = strategic_merge_patch(result.get(key), value)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list) and _named(value) and _named(result.get(key)):
            result[key] = _merge_named(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    if isinstance(patch.get("$retainKeys"), list):
        keep = set(patch["$retainKeys"])
        result = {k: v for k, v in result.items() if k in keep}
    return result


def _named(items: Any) -> bool:
    return isinstance(items, list) and all(isinstance(i, dict) and "name" in i for i in items)


def _merge_named(current: list, patch: list) -> list:
    out = [copy.deepcopy(i) for i in current]
    for item in patch:
        idx = next((n for n, cur in enumerate(out) if cur.get("name") == item["name"]), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                out.pop(idx)
        elif idx is None:
            out.append(strategic_merge_patch({}, item))
        else:
            out[idx] = strategic_merge_patch(out[idx], item)
    return out


def apply_patch(patch_type: str, target: dict, body: bytes) -> dict:
    """Decode ``body`` and apply it; raises PatchError."""
    try:
        document = json.loads(body or b"null")
    except ValueError as exc:
        raise PatchError(f"error decoding patch: {exc}", bad_request=True) from exc
    if patch_type == JSON_PATCH:
        result = json_patch(target, document)
    elif patch_type in (MERGE, STRATEGIC):
        if not isinstance(document, dict):
            raise PatchError(
                "json: cannot unmarshal array into Go value of type map[string]interface {}", bad_request=True
            )
        result = (
            merge_patch(target, document) if patch_type == MERGE else strategic_merge_patch(target, document)
        )
    else:
        raise PatchError(f"unsupported patch type {patch_type}", bad_request=True)
    if not isinstance(result, dict):
        raise PatchError("patched object is not a JSON object", bad_request=True)
    return result
