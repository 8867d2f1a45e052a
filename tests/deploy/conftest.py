"""Fixtures for the deployment's EKS helpers (``deploy/``) as the image installs them."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
CLUSTER = "my-cluster"
REGION = "us-west-2"
CLUSTER_ARN = f"arn:aws:eks:{REGION}:123456789012:cluster/{CLUSTER}"
#: The exec args ``aws eks update-kubeconfig --name my-cluster --region us-west-2`` writes.
AWS_EXEC_ARGS = ["--region", REGION, "eks", "get-token", "--cluster-name", CLUSTER, "--output", "json"]


def installed_scripts() -> dict[str, str]:
    """{command in the image: repository path} of the Dockerfile's ``COPY deploy/... /usr/local/bin/...``."""
    copies = re.findall(r"^COPY\s+(deploy/\S+)\s+/usr/local/bin/(\S+)$", DOCKERFILE.read_text(), flags=re.M)
    return {name: src for src, name in copies}


def load_script(src: str) -> ModuleType:
    """A deploy/ script imported as a module (its ``main`` and helpers), without running it."""
    path = ROOT / src
    spec = importlib.util.spec_from_file_location(f"deploy_{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def aws_stand_in() -> ModuleType:
    return load_script(installed_scripts()["aws"])


@pytest.fixture(scope="session")
def check_kubeconfig() -> ModuleType:
    return load_script(installed_scripts()["check-kubeconfig"])


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A temporary directory every uid can traverse (pytest's tmp_path is 0700, root's)."""
    path = Path(tempfile.mkdtemp(prefix="deploy-tests-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def image_bin(shared_dir) -> Path:
    """The Dockerfile's /usr/local/bin additions: each deploy/ script copied under its command name."""
    bin_dir = shared_dir / "bin"
    bin_dir.mkdir(mode=0o755)
    for name, src in installed_scripts().items():
        shutil.copyfile(ROOT / src, bin_dir / name)
        (bin_dir / name).chmod(0o755)
    return bin_dir


def kubeconfig_text(command: str = "aws", args: list[str] | None = None, **exec_extra: Any) -> str:
    """A kubeconfig shaped like ``aws eks update-kubeconfig``'s, with its exec plugin overridable."""
    exec_block = {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "args": AWS_EXEC_ARGS if args is None else args,
        "command": command,
        **exec_extra,
    }
    config = {
        "apiVersion": "v1",
        "clusters": [
            {
                "cluster": {
                    "certificate-authority-data": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==",
                    "server": "https://ABCDEF0123456789.gr7.us-west-2.eks.amazonaws.com",
                },
                "name": CLUSTER_ARN,
            }
        ],
        "contexts": [{"context": {"cluster": CLUSTER_ARN, "user": CLUSTER_ARN}, "name": CLUSTER_ARN}],
        "current-context": CLUSTER_ARN,
        "kind": "Config",
        "preferences": {},
        "users": [{"name": CLUSTER_ARN, "user": {"exec": exec_block}}],
    }
    return yaml.safe_dump(config, sort_keys=True)


@pytest.fixture
def write_kubeconfig(shared_dir) -> Callable[..., Path]:
    """``write_kubeconfig(uid=, gid=, mode=, text=)``: the kubeconfig at ``shared_dir/kubeconfig``."""

    def write(
        uid: int | None = None, gid: int | None = None, mode: int = 0o600, text: str | None = None
    ) -> Path:
        path = shared_dir / "kubeconfig"
        path.write_text(kubeconfig_text() if text is None else text)
        if uid is not None or gid is not None:  # root only
            os.chown(path, -1 if uid is None else uid, -1 if gid is None else gid)
        path.chmod(mode)
        assert stat.S_IMODE(path.stat().st_mode) == mode
        return path

    return write
