"""Kubernetes API emulator over HTTP for the sandbox (see ``server.KubeApiServer``).

from sandbox.kube import KubeApiServer, write_kubeconfig
srv = KubeApiServer().start()
write_kubeconfig(path, srv.url)
...
srv.stop()
"""

from sandbox.kube.errors import KubeApiError
from sandbox.kube.faults import FaultRule, Faults, RequestRecord
from sandbox.kube.kubeconfig import (
    exec_invocations,
    kubeconfig_dict,
    write_exec_kubeconfig,
    write_kubeconfig,
)
from sandbox.kube.server import KubeApiServer

__all__ = [
    "FaultRule",
    "Faults",
    "KubeApiError",
    "KubeApiServer",
    "RequestRecord",
    "exec_invocations",
    "kubeconfig_dict",
    "write_exec_kubeconfig",
    "write_kubeconfig",
]
