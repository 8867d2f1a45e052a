"""The parts of a cluster that are not the API server: a deployment controller and a kubelet.

For every Deployment it keeps ``spec.replicas`` pods, marks them Running and Ready (or
``CrashLoopBackOff`` when the Deployment carries the annotation
``sandbox.sagemaker.local/fault: crashloop``) and writes the Deployment's status. Each emulated controller
runs only while its Deployment has a Running, ready pod: ``kubectl scale deployment
sagemaker-k8s-operator-controller-manager --replicas=0 -n sagemaker-k8s-operator-system`` stops the legacy
operator, ``kubectl scale deployment ack-sagemaker-controller --replicas=0 -n ack-system`` the ACK
controller, exactly as on a real cluster. Their flags (legacy ``--namespace=X``; ACK ``--aws-region``,
``--watch-namespace``, ``--deletion-policy``, ``--feature-gates``, with ``$(VAR)`` taken from the container's
env) and service account come from the Deployment (see ``sandbox/common/pods.py``).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from datetime import UTC, datetime

from .common.pods import ROLE_ARN_ANNOTATION, PodState, container_flags

log = logging.getLogger(__name__)

FAULT_ANNOTATION = "sandbox.sagemaker.local/fault"
OPERATOR_NAMESPACE = "sagemaker-k8s-operator-system"
OPERATOR_DEPLOYMENT = "sagemaker-k8s-operator-controller-manager"
OPERATOR_SERVICE_ACCOUNT = "sagemaker-k8s-operator-default"
ACK_NAMESPACE = "ack-system"
ACK_DEPLOYMENT = "ack-sagemaker-controller"
ACK_SERVICE_ACCOUNT = "ack-sagemaker-controller"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pod_for(deployment: dict, index: int, crashloop: bool) -> dict:
    """The pod a ReplicaSet of this Deployment would run, with the status a kubelet reports."""
    meta = deployment["metadata"]
    template = deployment["spec"]["template"]
    digest = hashlib.sha256(f"{meta['uid']}/{index}".encode()).hexdigest()
    name = f"{meta['name']}-{digest[:10]}-{digest[10:15]}"
    containers = template["spec"].get("containers", [])
    started = _now()
    if crashloop:
        states = [
            {
                **_container_ids(c, digest),
                "ready": False,
                "restartCount": 5,
                "started": False,
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting"}},
            }
            for c in containers
        ]
        ready = "False"
    else:
        states = [
            {
                **_container_ids(c, digest),
                "ready": True,
                "restartCount": 0,
                "started": True,
                "state": {"running": {"startedAt": started}},
            }
            for c in containers
        ]
        ready = "True"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": meta["namespace"],
            "labels": dict(template["metadata"].get("labels", {})),
            "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "Deployment", "name": meta["name"], "uid": meta["uid"]}
            ],
        },
        "spec": template["spec"],
        "status": {
            "phase": "Running",
            "startTime": started,
            "conditions": [
                {"type": "Ready", "status": ready, "lastTransitionTime": started},
                {"type": "ContainersReady", "status": ready, "lastTransitionTime": started},
            ],
            "containerStatuses": states,
        },
    }


def _container_ids(container: dict, digest: str) -> dict:
    """The identity fields a kubelet reports for a container (client models require imageID)."""
    image = container.get("image", "")
    return {
        "name": container["name"],
        "image": image,
        "imageID": f"{image.split(':')[0]}@sha256:{hashlib.sha256(image.encode()).hexdigest()}",
        "containerID": f"containerd://{hashlib.sha256((digest + container['name']).encode()).hexdigest()}",
    }


class ClusterEmulator:
    """Deployment controller + kubelet over the API emulator's in-process interface."""

    def __init__(self, api, interval: float = 0.25) -> None:
        self._api = api
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        # sync() runs in the background thread and from Sandbox.misconfigure: one at a time, or a pass
        # that read the old Deployment can re-create a pod the other just deleted
        self._sync_lock = threading.Lock()
        self._operator = PodState(False)
        self._ack = PodState(False)

    def operator_state(self) -> PodState:
        """The legacy operator's pod (``--namespace=X`` is its watch namespace)."""
        with self._lock:
            return self._operator

    def ack_state(self) -> PodState:
        """The ACK controller's pod (``--watch-namespace``; ``flags`` holds ``--aws-region`` and the rest)."""
        with self._lock:
            return self._ack

    def start(self) -> None:
        self.sync()
        self._thread = threading.Thread(target=self._run, name="sandbox-cluster", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.sync()
            except Exception:
                log.exception("cluster emulator pass failed")

    def sync(self) -> None:
        with self._sync_lock:
            for deployment in self._api.list_objects("apps/v1", "deployments"):
                self._sync_deployment(deployment)
            self._refresh_operator_state()

    def _sync_deployment(self, deployment: dict) -> None:
        meta = deployment["metadata"]
        replicas = deployment["spec"].get("replicas", 1)
        crashloop = (meta.get("annotations") or {}).get(FAULT_ANNOTATION) == "crashloop"
        wanted = {}
        for i in range(replicas):
            pod = pod_for(deployment, i, crashloop)
            wanted[pod["metadata"]["name"]] = pod
        owned = [
            p
            for p in self._api.list_objects("v1", "pods", namespace=meta["namespace"])
            if any(o.get("uid") == meta["uid"] for o in p["metadata"].get("ownerReferences", []))
        ]
        for pod in owned:
            current = wanted.pop(pod["metadata"]["name"], None)
            if current is None:
                self._api.delete("v1", "pods", pod["metadata"]["name"], namespace=meta["namespace"])
            elif _pod_ready(pod) != _pod_ready(current):
                self._api.apply(current)
        for pod in wanted.values():
            self._api.apply(pod)
        ready = 0 if crashloop else replicas
        status = {
            "observedGeneration": meta.get("generation", 1),
            "replicas": replicas,
            "updatedReplicas": replicas,
            "readyReplicas": ready,
            "availableReplicas": ready,
        }
        if {k: v for k, v in (deployment.get("status") or {}).items() if k in status} != status:
            self._api.apply({**deployment, "status": status})

    def _refresh_operator_state(self) -> None:
        legacy = self._controller_state(OPERATOR_NAMESPACE, OPERATOR_DEPLOYMENT, "manager", "--namespace")
        ack = self._controller_state(ACK_NAMESPACE, ACK_DEPLOYMENT, "controller", "--watch-namespace")
        with self._lock:
            self._operator, self._ack = legacy, ack

    def _controller_state(self, namespace: str, name: str, container: str, watch_flag: str) -> PodState:
        deployment = self._api.get("apps/v1", "deployments", name, namespace=namespace)
        if deployment is None:
            return PodState(False)
        pods = [
            p
            for p in self._api.list_objects("v1", "pods", namespace=namespace)
            if any(
                o.get("uid") == deployment["metadata"]["uid"]
                for o in p["metadata"].get("ownerReferences", [])
            )
        ]
        flags = container_flags(deployment, container)
        account_name = deployment["spec"]["template"]["spec"].get("serviceAccountName") or "default"
        account = self._api.get("v1", "serviceaccounts", account_name, namespace=namespace)
        role_arn = ((account or {}).get("metadata", {}).get("annotations") or {}).get(ROLE_ARN_ANNOTATION)
        return PodState(
            running=any(_pod_ready(p) for p in pods),
            watch_namespace=flags.get(watch_flag) or None,
            role_arn=role_arn,
            subject=f"system:serviceaccount:{namespace}:{account_name}",
            flags=flags,
        )


def _pod_ready(pod: dict) -> bool:
    status = pod.get("status") or {}
    return status.get("phase") == "Running" and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions", [])
    )
