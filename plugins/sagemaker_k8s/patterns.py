r"""The value formats shared by the param schemas (``params``) and the manifest checks (``manifests``).

A leaf: imported at DAG parse time, so only the standard library. Patterns are anchored and use
only characters that cannot carry YAML, JSON or Jinja syntax.

The form checks patterns with Python's ``re`` (Unicode ``\d``, ``\w``, ``\s``), the task side with
``re.ASCII`` (:func:`ecma_search`) and the browser with ECMA-262 (ASCII ``\d`` and ``\w``, a Unicode
``\s`` of its own): patterns here spell classes out (``[0-9]``) so that all three read them alike.
"""

from __future__ import annotations

import re

REGION_PATTERN = r"^[a-z]{2}(-[a-z]+){1,3}-[0-9]{1,2}$"
ROLE_ARN_PATTERN = r"^arn:aws[a-z\-]*:iam::[0-9]{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$"
SAGEMAKER_NAME_PATTERN = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"
DNS_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
GATE_METRIC_PATTERN = r"^[A-Za-z0-9_.@/-]+(:[A-Za-z0-9_.@/-]+)*$"
ECR_IMAGE_PATTERN = (
    r"^[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[a-z0-9]+([._/-][a-z0-9]+)*"
    r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[a-f0-9]{64})?$"
)


def ecma_search(pattern: str, text: str) -> bool:
    """JSON Schema (ECMA-262) semantics: ``$`` is the true end and ``\\d`` is ASCII-only.

    Python's ``$`` also matches before a final newline, which would let ``"us-west-2\\n"`` through.
    """
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.search(pattern, text, flags=re.ASCII) is not None
