"""What the cluster says about a controller's pod: is it running, as which service account, with which
flags. The cluster emulator (``sandbox/cluster.py``) reads it off the controller's Deployment and pods; the
emulated controllers act only while ``running``, with the flags their container was started with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"
_VAR = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


@dataclass(frozen=True)
class PodState:
    running: bool
    watch_namespace: str | None = None  # None: every namespace; "a,b": several
    role_arn: str | None = None  # the service account's eks.amazonaws.com/role-arn annotation
    subject: str = ""  # system:serviceaccount:<namespace>:<service account>
    flags: dict[str, str] = field(default_factory=dict, compare=False)  # the container's flags, resolved

    @property
    def watch_namespaces(self) -> list[str | None]:
        """The namespaces to list: ``[None]`` (all) or each of a comma-separated list."""
        names = [n.strip() for n in (self.watch_namespace or "").split(",") if n.strip()]
        return names or [None]


def container_flags(deployment: dict, container: str) -> dict[str, str]:
    """The ``--flag value`` / ``--flag=value`` arguments of one container, with ``$(VAR)`` resolved from its
    ``env`` as the kubelet expands them (a flag without a value is ``"true"``)."""
    spec = next(
        (c for c in deployment["spec"]["template"]["spec"].get("containers", []) if c["name"] == container),
        None,
    )
    if spec is None:
        return {}
    env = {}
    for var in spec.get("env") or []:
        if "value" in var:
            env[var["name"]] = _VAR.sub(lambda m: env.get(m.group(1), m.group(0)), str(var["value"]))
        elif (var.get("valueFrom") or {}).get("fieldRef", {}).get("fieldPath") == "metadata.namespace":
            env[var["name"]] = deployment["metadata"]["namespace"]
    args = [_VAR.sub(lambda m: env.get(m.group(1), m.group(0)), str(a)) for a in spec.get("args") or []]
    flags: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if not arg.startswith("--"):
            continue
        name, eq, value = arg.partition("=")
        if not eq:
            if i < len(args) and not args[i].startswith("--"):
                value, i = args[i], i + 1
            else:
                value = "true"
        flags[name] = value
    return flags
