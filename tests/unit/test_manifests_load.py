"""Locating include/manifests and reading templates/CRDs (no mocks: real files under tmp_path)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sagemaker_k8s.constants import ENV_MANIFESTS_DIR
from sagemaker_k8s.exceptions import ConfigError
from sagemaker_k8s.manifests import load
from sagemaker_k8s.manifests.flavours import ALL_KINDS, LEGACY_TRAINING_JOB, ResourceKind

REPO_MANIFESTS = Path(__file__).resolve().parents[2] / "include" / "manifests"


@pytest.fixture
def tmp_manifests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "manifests"
    directory.mkdir()
    monkeypatch.setenv(ENV_MANIFESTS_DIR, str(directory))
    return directory


def test_default_is_the_repository_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_MANIFESTS_DIR, raising=False)
    assert load.manifests_dir().resolve() == REPO_MANIFESTS


def test_candidates_include_airflow_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    candidates = load.candidate_dirs()
    assert candidates[0].resolve() == REPO_MANIFESTS
    assert tmp_path / "include" / "manifests" in candidates
    assert candidates[-1] == Path("/opt/airflow/include/manifests")


def test_env_override_must_exist(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(ENV_MANIFESTS_DIR, str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match=ENV_MANIFESTS_DIR) as e:
        load.manifests_dir()
    assert e.value.param == ENV_MANIFESTS_DIR


@pytest.mark.parametrize("name", ["trainingjob", "trainingjob.yaml", "hostingdeployment"])
def test_load_repo_templates(name: str) -> None:
    template = load.load_template(name)
    assert template["apiVersion"] == "sagemaker.aws.amazon.com/v1"
    assert isinstance(template["spec"], dict)


def test_templates_are_fresh_copies() -> None:
    first = load.load_template("trainingjob")
    first["spec"]["region"] = "mutated"
    first["spec"]["hyperParameters"].clear()
    second = load.load_template("trainingjob")
    assert second["spec"]["region"] == "us-west-2"
    assert second["spec"]["hyperParameters"]


@pytest.mark.parametrize("kind", ALL_KINDS, ids=str)
def test_load_crd_schema(kind: ResourceKind) -> None:
    schema = load.load_crd_schema(kind)
    assert schema["properties"]["spec"]["type"] == "object"
    schema["properties"].clear()  # a copy: the next call is unaffected
    assert load.load_crd_schema(kind)["properties"]


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("a: 1\n---\nb: 2\n", "exactly one"),
        ("", "exactly one"),
        ("- a\n- b\n", "exactly one"),
        ("a: [1,\n", "not valid YAML"),
        ("!!python/object/apply:os.system ['echo pwned']\n", "not valid YAML"),
    ],
)
def test_bad_templates(tmp_manifests: Path, content: str, match: str) -> None:
    (tmp_manifests / "bad.yaml").write_text(content)
    with pytest.raises(ConfigError, match=match):
        load.load_template("bad")


@pytest.mark.parametrize("name", ["../secrets", "/etc/passwd", "crds/../../x", ""])
def test_path_escapes_are_refused(name: str) -> None:
    with pytest.raises(ConfigError):
        load.load_template(name)


def test_missing_template(tmp_manifests: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load.load_template("nope")


def test_cache_sees_edits(tmp_manifests: Path) -> None:
    path = tmp_manifests / "t.yaml"
    path.write_text("a: 1\n")
    assert load.load_template("t") == {"a": 1}
    path.write_text("a: 2\nb: 3\n")
    import os

    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert load.load_template("t") == {"a": 2, "b": 3}


def test_crd_for_another_kind(tmp_manifests: Path) -> None:
    (tmp_manifests / "crds" / "legacy").mkdir(parents=True)
    (tmp_manifests / "crds" / "legacy" / "trainingjobs.yaml").write_text(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
        "spec: {group: other.example.com, names: {plural: trainingjobs}, versions: []}\n"
    )
    with pytest.raises(ConfigError, match="no CRD for trainingjobs"):
        load.load_crd(LEGACY_TRAINING_JOB)


def test_crd_without_version(tmp_manifests: Path) -> None:
    (tmp_manifests / "crds" / "legacy").mkdir(parents=True)
    (tmp_manifests / "crds" / "legacy" / "trainingjobs.yaml").write_text(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
        "spec: {group: sagemaker.aws.amazon.com, names: {plural: trainingjobs}, versions: [{name: v2}]}\n"
    )
    with pytest.raises(ConfigError, match="version v1"):
        load.load_crd_schema(LEGACY_TRAINING_JOB)
