"""Authorization as kube-apiserver's ``--authorization-mode=RBAC`` (plus its privileged-group bypass).

``system:masters`` may do anything. Everyone else gets the union of the rules of every ClusterRole bound
to them by a ClusterRoleBinding, and, for a namespaced request, of every Role or ClusterRole bound to them
by a RoleBinding in that namespace. Subjects: ``User`` (by name), ``Group`` (by group) and
``ServiceAccount`` (``system:serviceaccount:<ns>:<name>``; a RoleBinding's namespace when the subject has
none). A rule allows a request when its verbs, apiGroups, resources (``resource/subresource``, ``*``,
``*/subresource``) and resourceNames (none: any) match, or, for non-resource paths, its verbs and
nonResourceURLs (exact or ``prefix*``). Missing roles make a binding grant nothing (the 403 then says so).

The bootstrap policy is built in rather than stored: ``system:authenticated`` gets ``system:discovery``
(GET on /api, /apis, /openapi, /version, health paths), ``system:basic-user`` (self subject access/rules
reviews, SelfSubjectReview) and with ``system:unauthenticated`` ``system:public-info-viewer``. Not
emulated: ClusterRole aggregation and the escalate/bind checks on writing RBAC objects.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sandbox.kube import errors as E
from sandbox.kube.auth import AUTHENTICATED, SA_PREFIX, UNAUTHENTICATED, UserInfo
from sandbox.kube.errors import KubeApiError, go_quote
from sandbox.kube.requestinfo import RequestInfo
from sandbox.kube.store import Store

RBAC = "rbac.authorization.k8s.io"
ROLES, ROLE_BINDINGS = (RBAC, "roles"), (RBAC, "rolebindings")
CLUSTER_ROLES, CLUSTER_ROLE_BINDINGS = (RBAC, "clusterroles"), (RBAC, "clusterrolebindings")
ALL = "*"

PUBLIC_INFO_URLS = ["/healthz", "/livez", "/readyz", "/version", "/version/"]
DISCOVERY_URLS = ["/api", "/api/*", "/apis", "/apis/*", "/openapi", "/openapi/*", *PUBLIC_INFO_URLS]
BOOTSTRAP_ROLES: dict[str, list[dict]] = {
    "system:discovery": [{"verbs": ["get"], "nonResourceURLs": DISCOVERY_URLS}],
    "system:basic-user": [
        {
            "verbs": ["create"],
            "apiGroups": ["authorization.k8s.io"],
            "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
        },
        {"verbs": ["create"], "apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"]},
    ],
    "system:public-info-viewer": [{"verbs": ["get"], "nonResourceURLs": PUBLIC_INFO_URLS}],
}


def _group(name: str) -> dict:
    return {"kind": "Group", "apiGroup": RBAC, "name": name}


BOOTSTRAP_BINDINGS = [
    {
        "metadata": {"name": role},
        "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": role},
        "subjects": [_group(g) for g in groups],
    }
    for role, groups in (
        ("system:discovery", [AUTHENTICATED]),
        ("system:basic-user", [AUTHENTICATED]),
        ("system:public-info-viewer", [AUTHENTICATED, UNAUTHENTICATED]),
    )
]
PRIVILEGED_RULES = [
    {"verbs": [ALL], "apiGroups": [ALL], "resources": [ALL]},
    {"verbs": [ALL], "nonResourceURLs": [ALL]},
]


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""  # "RBAC: allowed by RoleBinding ..." / "RBAC: role... not found" / ""


# -- rule matching (k8s.io/component-helpers/auth/rbac/validation) ------------------------------------
def _resource_matches(resources: list[str], full: str, subresource: str) -> bool:
    for r in resources:
        if r in (ALL, full):
            return True
        if subresource and r == f"*/{subresource}":
            return True
    return False


def rule_allows(info: RequestInfo, rule: dict) -> bool:
    verbs = rule.get("verbs") or []
    if ALL not in verbs and info.verb not in verbs:
        return False
    if not info.resource_request:
        urls = rule.get("nonResourceURLs") or []
        return any(
            u in (ALL, info.path) or (u.endswith("*") and info.path.startswith(u.rstrip("*"))) for u in urls
        )
    groups = rule.get("apiGroups") or []
    if ALL not in groups and info.api_group not in groups:
        return False
    if not _resource_matches(rule.get("resources") or [], info.full_resource, info.subresource):
        return False
    names = rule.get("resourceNames") or []
    return not names or info.name in names


def _applies(subject: dict, user: UserInfo, binding_namespace: str) -> bool:
    kind, name = subject.get("kind"), subject.get("name")
    if kind == "User":
        return user.name == name
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        namespace = subject.get("namespace") or binding_namespace
        return bool(namespace) and user.name == f"{SA_PREFIX}{namespace}:{name}"
    return False


def _describe_subject(subject: dict, binding_namespace: str) -> str:
    if subject.get("kind") == "ServiceAccount":
        namespace = subject.get("namespace") or binding_namespace
        return f"ServiceAccount {go_quote(subject.get('name', '') + '/' + namespace)}"
    return f"{subject.get('kind')} {go_quote(subject.get('name', ''))}"


class RbacAuthorizer:
    def __init__(self, store: Store) -> None:
        self.store = store

    def _role_rules(self, ref: dict, namespace: str) -> tuple[list[dict], str | None]:
        kind, name = ref.get("kind"), ref.get("name", "")
        if kind == "ClusterRole":
            if not namespace and name in BOOTSTRAP_ROLES:
                return BOOTSTRAP_ROLES[name], None
            role = self.store.get(CLUSTER_ROLES, "", name)
            missing = f"clusterrole.{RBAC} {go_quote(name)} not found"
        elif kind == "Role" and namespace:
            role = self.store.get(ROLES, namespace, name)
            missing = f"role.{RBAC} {go_quote(name)} not found"
        else:
            return [], f"unsupported role reference kind: {go_quote(str(kind))}"
        return ((role.get("rules") or []), None) if role is not None else ([], missing)

    def _visit(self, user: UserInfo, namespace: str) -> Iterator[tuple[str, list[dict], str | None]]:
        """(who granted it, rules, resolution error) for every binding of ``user`` that applies."""
        for binding in [*BOOTSTRAP_BINDINGS, *self.store.list(CLUSTER_ROLE_BINDINGS)]:
            for subject in binding.get("subjects") or []:
                if _applies(subject, user, ""):
                    ref = binding.get("roleRef") or {}
                    source = (
                        f"ClusterRoleBinding {go_quote(binding['metadata']['name'])} of ClusterRole "
                        f"{go_quote(ref.get('name', ''))} to {_describe_subject(subject, '')}"
                    )
                    yield (source, *self._role_rules(ref, ""))
                    break
        if not namespace:
            return
        for binding in self.store.list(ROLE_BINDINGS, namespace):
            for subject in binding.get("subjects") or []:
                if _applies(subject, user, namespace):
                    ref = binding.get("roleRef") or {}
                    kind = ref.get("kind")
                    source = (
                        f"RoleBinding {go_quote(binding['metadata']['name'] + '/' + namespace)} of {kind} "
                        f"{go_quote(ref.get('name', ''))} to {_describe_subject(subject, namespace)}"
                    )
                    rules, error = self._role_rules(ref, namespace if kind == "Role" else "")
                    yield source, rules, error
                    break

    def authorize(self, user: UserInfo, info: RequestInfo) -> Decision:
        if user.privileged:
            return Decision(True, 'allowed: member of group "system:masters"')
        errors: list[str] = []
        for source, rules, error in self._visit(user, info.namespace):
            if error:
                errors.append(error)
            if any(rule_allows(info, rule) for rule in rules):
                return Decision(True, f"RBAC: allowed by {source}")
        if not errors:
            return Decision(False, "")
        return Decision(False, "RBAC: " + (errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"))

    def rules_for(self, user: UserInfo, namespace: str) -> tuple[list[dict], list[str]]:
        """Every rule that applies to ``user`` in ``namespace`` (SelfSubjectRulesReview) and the errors."""
        if user.privileged:
            return list(PRIVILEGED_RULES), []
        rules: list[dict] = []
        errors: list[str] = []
        for _source, found, error in self._visit(user, namespace):
            rules += found
            if error:
                errors.append(error)
        return rules, errors


def forbidden(user: UserInfo, info: RequestInfo, reason: str) -> KubeApiError:
    """The apiserver's 403 for a denied request (responsewriters.Forbidden, apierrors.NewForbidden)."""
    who = f"User {go_quote(user.name)} cannot {info.verb}"
    if not info.resource_request:
        why = f"{who} path {go_quote(info.path)}"
    else:
        why = f"{who} resource {go_quote(info.full_resource)} in API group {go_quote(info.api_group)} "
        why += f"in the namespace {go_quote(info.namespace)}" if info.namespace else "at the cluster scope"
    if reason:
        why += f": {reason}"
    if not info.resource_request:
        return KubeApiError(403, f"forbidden: {why}", "Forbidden", {})
    return E.forbidden(info.api_group, info.resource, info.name, why)
