"""Resource types: the static table of built-in kinds (CRD-defined types are built in ``crd.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
SUB_VERBS = ("get", "patch", "update")


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    status_subresource: bool = False
    scale_subresource: bool = False
    has_generation: bool = True
    # "subdomain" (DNS-1123 subdomain), "label" (DNS-1123 label) or "path" (path segment name)
    name_rule: str = "subdomain"
    return_deleted: bool = True
    custom: bool = False
    schema: dict | None = field(default=None, compare=False, hash=False)
    printer_columns: tuple = field(default=(), compare=False, hash=False)
    selectable_fields: tuple[str, ...] = ()
    crd_name: str = ""

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    api_version = group_version

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def storage_key(self) -> tuple[str, str]:
        return (self.group, self.plural)

    @property
    def group_resource(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def group_kind(self) -> str:
        return f"{self.kind}.{self.group}" if self.group else self.kind

    @property
    def path_prefix(self) -> str:
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"


def _t(group, version, plural, kind, namespaced, short=(), **kw) -> ResourceType:
    return ResourceType(group, version, plural, kind.lower(), kind, namespaced, tuple(short), **kw)


BUILTINS: tuple[ResourceType, ...] = (
    _t(
        "",
        "v1",
        "namespaces",
        "Namespace",
        False,
        ("ns",),
        status_subresource=True,
        has_generation=False,
        name_rule="label",
        verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
    ),
    _t(
        "",
        "v1",
        "pods",
        "Pod",
        True,
        ("po",),
        categories=("all",),
        status_subresource=True,
        has_generation=False,
    ),
    _t("", "v1", "configmaps", "ConfigMap", True, ("cm",), has_generation=False, return_deleted=False),
    _t("", "v1", "secrets", "Secret", True, has_generation=False, return_deleted=False),
    _t(
        "",
        "v1",
        "serviceaccounts",
        "ServiceAccount",
        True,
        ("sa",),
        has_generation=False,
        return_deleted=False,
    ),
    _t("", "v1", "events", "Event", True, ("ev",), has_generation=False, return_deleted=False),
    _t(
        "",
        "v1",
        "services",
        "Service",
        True,
        ("svc",),
        categories=("all",),
        status_subresource=True,
        has_generation=False,
        name_rule="label",
    ),
    _t("", "v1", "endpoints", "Endpoints", True, ("ep",), has_generation=False, return_deleted=False),
    _t(
        "",
        "v1",
        "persistentvolumeclaims",
        "PersistentVolumeClaim",
        True,
        ("pvc",),
        status_subresource=True,
        has_generation=False,
    ),
    _t(
        "",
        "v1",
        "persistentvolumes",
        "PersistentVolume",
        False,
        ("pv",),
        status_subresource=True,
        has_generation=False,
    ),
    _t("", "v1", "nodes", "Node", False, ("no",), status_subresource=True, has_generation=False),
    _t(
        "apps",
        "v1",
        "deployments",
        "Deployment",
        True,
        ("deploy",),
        categories=("all",),
        status_subresource=True,
        scale_subresource=True,
    ),
    _t(
        "apps",
        "v1",
        "replicasets",
        "ReplicaSet",
        True,
        ("rs",),
        categories=("all",),
        status_subresource=True,
        scale_subresource=True,
    ),
    _t(
        "apps",
        "v1",
        "statefulsets",
        "StatefulSet",
        True,
        ("sts",),
        categories=("all",),
        status_subresource=True,
        scale_subresource=True,
    ),
    _t("apps", "v1", "daemonsets", "DaemonSet", True, ("ds",), categories=("all",), status_subresource=True),
    _t("batch", "v1", "jobs", "Job", True, categories=("all",), status_subresource=True),
    _t("batch", "v1", "cronjobs", "CronJob", True, ("cj",), categories=("all",), status_subresource=True),
    _t("coordination.k8s.io", "v1", "leases", "Lease", True, has_generation=False, return_deleted=False),
    _t(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        False,
        ("crd", "crds"),
        categories=("api-extensions",),
        status_subresource=True,
    ),
    _t(
        "rbac.authorization.k8s.io",
        "v1",
        "roles",
        "Role",
        True,
        has_generation=False,
        name_rule="path",
        return_deleted=False,
    ),
    _t(
        "rbac.authorization.k8s.io",
        "v1",
        "rolebindings",
        "RoleBinding",
        True,
        has_generation=False,
        name_rule="path",
        return_deleted=False,
    ),
    _t(
        "rbac.authorization.k8s.io",
        "v1",
        "clusterroles",
        "ClusterRole",
        False,
        has_generation=False,
        name_rule="path",
        return_deleted=False,
    ),
    _t(
        "rbac.authorization.k8s.io",
        "v1",
        "clusterrolebindings",
        "ClusterRoleBinding",
        False,
        has_generation=False,
        name_rule="path",
        return_deleted=False,
    ),
)

CRD_TYPE = next(t for t in BUILTINS if t.kind == "CustomResourceDefinition")
NAMESPACE_TYPE = BUILTINS[0]
