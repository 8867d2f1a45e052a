"""Label selectors (equality, set-based, existence, gt/lt) and field selectors."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_KEY = r"[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?"
_VALUE = r"[-A-Za-z0-9_.]*"


class SelectorError(ValueError):
    pass


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!", "gt", "lt"
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        has = self.key in labels
        value = labels.get(self.key)
        if self.op == "=":
            return has and value == self.values[0]
        if self.op == "!=":
            return not has or value != self.values[0]
        if self.op == "in":
            return has and value in self.values
        if self.op == "notin":
            return not has or value not in self.values
        if self.op == "exists":
            return has
        if self.op == "!":
            return not has
        if self.op in ("gt", "lt"):
            try:
                number = int(value or "")
            except ValueError:
                return False
            return number > int(self.values[0]) if self.op == "gt" else number < int(self.values[0])
        return False


def _split_top(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise SelectorError(f"unable to parse requirement: unexpected ')' in {text!r}")
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if depth:
        raise SelectorError(f"unable to parse requirement: unclosed '(' in {text!r}")
    parts.append("".join(cur))
    return parts


def _check_key(key: str) -> str:
    if not re.fullmatch(_KEY, key):
        raise SelectorError(
            f'unable to parse requirement: <nil>: Invalid value: "{key}": name part must consist of '
            "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        )
    return key


def _check_value(value: str) -> str:
    if len(value) > 63 or not re.fullmatch(_VALUE, value):
        raise SelectorError(
            f'unable to parse requirement: values[0]: Invalid value: "{value}": '
            "a valid label must be an empty string or consist of alphanumeric characters, "
            "'-', '_' or '.'"
        )
    return value


_SET_RE = re.compile(r"^\s*(\S+)\s+(in|notin)\s*\((.*)\)\s*$")
_OP_RE = re.compile(r"^\s*([^=!<>\s]+)\s*(==|=|!=|>|<)\s*(\S*)\s*$")


def parse_label_selector(text: str | None) -> list[Requirement]:
    if not text or not text.strip():
        return []
    reqs: list[Requirement] = []
    for raw in _split_top(text):
        part = raw.strip()
        if not part:
            raise SelectorError(f"found '', expected: identifier in {text!r}")
        m = _SET_RE.match(part)
        if m:
            values = (
                tuple(_check_value(v.strip()) for v in m.group(3).split(",")) if m.group(3).strip() else ()
            )
            if not values:
                raise SelectorError(
                    f"unable to parse requirement: for 'in', 'notin' operators, values set can't "
                    f"be empty in {part!r}"
                )
            reqs.append(Requirement(_check_key(m.group(1)), m.group(2), values))
            continue
        m = _OP_RE.match(part)
        if m:
            key, op, value = m.groups()
            if op in (">", "<"):
                if not re.fullmatch(r"-?\d+", value):
                    raise SelectorError(
                        f"unable to parse requirement: for 'Gt', 'Lt' operators, the value must "
                        f"be an integer: {part!r}"
                    )
                reqs.append(Requirement(_check_key(key), "gt" if op == ">" else "lt", (value,)))
            else:
                reqs.append(Requirement(_check_key(key), "!=" if op == "!=" else "=", (_check_value(value),)))
            continue
        if part.startswith("!"):
            reqs.append(Requirement(_check_key(part[1:].strip()), "!"))
            continue
        if re.fullmatch(_KEY, part):
            reqs.append(Requirement(part, "exists"))
            continue
        raise SelectorError(f"unable to parse requirement: found '{part}', expected: ',' or 'end of string'")
    return reqs


def label_matcher(text: str | None) -> Callable[[dict], bool]:
    reqs = parse_label_selector(text)

    def match(obj: dict) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(r.matches(labels) for r in reqs)

    return match


# -- field selectors --------------------------------------------------------------------------------


def parse_field_selector(text: str | None) -> list[tuple[str, str, str]]:
    """[(field, op, value)] with op "=" or "!="; escapes (\\, \\= and \\,) are honoured."""
    if not text or not text.strip():
        return []
    out = []
    for part in re.split(r"(?<!\\),", text):
        m = re.match(r"^\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*$", part)
        if not m:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{part}'")
        value = re.sub(r"\\(.)", r"\1", m.group(3))
        out.append((m.group(1), "!=" if m.group(2) == "!=" else "=", value))
    return out


def field_value(obj: dict, path: str) -> Any:
    node: Any = obj
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def field_matcher(text: str | None, allowed: Callable[[str], bool] | None = None) -> Callable[[dict], bool]:
    reqs = parse_field_selector(text)
    for fld, _, _ in reqs:
        if allowed is not None and not allowed(fld):
            raise SelectorError(f"field label not supported: {fld}")

    def match(obj: dict) -> bool:
        for fld, op, value in reqs:
            actual = _as_text(field_value(obj, fld))
            if (actual == value) != (op == "="):
                return False
        return True

    return match
