"""Find and read the project's own YAML data under ``include/manifests``.

Templates and CRDs are data shipped with the DAG, so they are looked up next to the package
(repository checkout), then under ``$AIRFLOW_HOME`` and the official image's ``/opt/airflow``.
Parsed files are cached per (directory, file, mtime); callers always get a fresh deep copy so
building one manifest can never leak into the next.
"""

from __future__ import annotations

import copy
import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sagemaker_k8s.constants import ENV_MANIFESTS_DIR
from sagemaker_k8s.exceptions import ConfigError

if TYPE_CHECKING:
    from sagemaker_k8s.manifests.flavours import ResourceKind

_PACKAGE_DIR = Path(__file__).resolve().parent.parent  # plugins/sagemaker_k8s
_SUBDIR = Path("include", "manifests")


def candidate_dirs() -> list[Path]:
    """Where ``manifests_dir`` looks, in order (the env override is handled separately)."""
    candidates = [_PACKAGE_DIR.parent.parent / _SUBDIR]
    airflow_home = os.environ.get("AIRFLOW_HOME")
    if airflow_home:
        candidates.append(Path(airflow_home) / _SUBDIR)
    candidates.append(Path("/opt/airflow") / _SUBDIR)
    return candidates


def manifests_dir() -> Path:
    """The ``include/manifests`` directory to read from.

    ``$SAGEMAKER_K8S_MANIFESTS_DIR`` wins and must exist: silently falling back when an operator
    set it on purpose would run the pipeline with the wrong templates.
    """
    override = os.environ.get(ENV_MANIFESTS_DIR)
    if override:
        path = Path(override)
        if not path.is_dir():
            raise ConfigError(
                f"${ENV_MANIFESTS_DIR} is set to {override!r}, which is not a directory; "
                "point it at the project's include/manifests or unset it",
                param=ENV_MANIFESTS_DIR,
            )
        return path
    tried = candidate_dirs()
    for path in tried:
        if path.is_dir():
            return path
    raise ConfigError(
        "Cannot find include/manifests; looked in "
        + ", ".join(str(p) for p in tried)
        + f". Deploy include/ next to dags/ and plugins/, or set ${ENV_MANIFESTS_DIR}",
        param=ENV_MANIFESTS_DIR,
    )


def _resolve(relative: str) -> Path:
    """``relative`` under ``manifests_dir()``; refuses absolute paths and ``..`` escapes."""
    base = manifests_dir().resolve()
    rel = Path(relative)
    if not relative or rel.is_absolute() or ".." in rel.parts:
        raise ConfigError(
            f"manifest file name {relative!r} must be a relative path inside {base}", param="name"
        )
    path = (base / rel).resolve()
    if not path.is_relative_to(base):
        raise ConfigError(f"manifest file {relative!r} resolves outside {base}", param="name")
    if not path.is_file():
        raise ConfigError(f"manifest file {path} does not exist", param="name")
    return path


@functools.lru_cache(maxsize=64)
def _parse(path: str, mtime_ns: int) -> tuple[Any, ...]:
    import yaml  # deferred: keeps DAG parsing cheap

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path, encoding="utf-8") as handle:
        try:
            return tuple(doc for doc in yaml.load_all(handle, Loader=loader) if doc is not None)
        except yaml.YAMLError as e:
            raise ConfigError(f"{path} is not valid YAML: {e}", param="name") from e


def _documents(relative: str) -> tuple[Any, ...]:
    path = _resolve(relative)
    return _parse(str(path), path.stat().st_mtime_ns)


def load_template(name: str) -> dict[str, Any]:
    """A CR template such as ``trainingjob.yaml`` (the ``.yaml`` suffix may be omitted).

    Must hold exactly one mapping: a second document would be silently ignored otherwise.
    """
    relative = name if name.endswith((".yaml", ".yml")) else f"{name}.yaml"
    docs = _documents(relative)
    if len(docs) != 1 or not isinstance(docs[0], dict):
        raise ConfigError(
            f"template {relative!r} must contain exactly one YAML mapping, found {len(docs)} document(s)",
            param="name",
        )
    return copy.deepcopy(docs[0])


def load_crd(kind: ResourceKind) -> dict[str, Any]:
    """The CustomResourceDefinition object for ``kind`` (apiextensions.k8s.io/v1)."""
    for doc in _documents(kind.crd_file):
        if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
            continue
        spec = doc.get("spec") or {}
        if spec.get("group") == kind.group and (spec.get("names") or {}).get("plural") == kind.plural:
            return copy.deepcopy(doc)
    raise ConfigError(f"{kind.crd_file} has no CRD for {kind.plural}.{kind.group}", param="crd_file")


def load_crd_schema(kind: ResourceKind) -> dict[str, Any]:
    """The ``openAPIV3Schema`` of ``kind.version`` in its CRD."""
    crd = load_crd(kind)
    for version in crd["spec"].get("versions") or ():
        if version.get("name") == kind.version:
            schema = (version.get("schema") or {}).get("openAPIV3Schema")
            if isinstance(schema, dict):
                return schema
    raise ConfigError(
        f"{kind.crd_file} has no openAPIV3Schema for version {kind.version} of {kind.plural}.{kind.group}",
        param="crd_file",
    )
