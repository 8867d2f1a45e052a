"""Fixtures for the Kubernetes API emulator's contract suite: a fresh server per test with the legacy and
ACK CRDs installed, checked for leftover threads and sockets when it stops."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.kube import KubeApiServer
from tests.sandbox.kube.kube_helpers import ACK_CRDS, LEGACY_CRDS, Http, cached_crd, port_closed


@pytest.fixture
def kube() -> Iterator[KubeApiServer]:
    """A started server with the legacy and ACK CRDs installed; stopped (and checked) afterwards."""
    srv = KubeApiServer(host="127.0.0.1", port=0, bookmark_interval=0.2)
    for path in sorted(LEGACY_CRDS.glob("*.yaml")) + sorted(ACK_CRDS.glob("*.yaml")):
        srv.apply(cached_crd(path))  # apply never mutates its argument
    srv.start()
    yield srv
    port = srv.port
    srv.stop()
    assert not srv._thread.is_alive(), "server thread left running"
    assert port_closed("127.0.0.1", port), "listening socket left open"


@pytest.fixture
def api(kube: KubeApiServer) -> Http:
    return Http(kube.url)
