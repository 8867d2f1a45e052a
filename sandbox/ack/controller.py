"""The ACK SageMaker controller emulator's loop: the controller's manager, in a thread.

Like ``ack-sagemaker-controller`` it reconciles TrainingJobs, HyperParameterTuningJobs, TransformJobs,
Models, EndpointConfigs and Endpoints (``sagemaker.services.k8s.aws/v1alpha1``) in every namespace, or in
``--watch-namespace`` (a comma-separated list), only while its Deployment has a Running pod, as its service
account's IRSA role (``sandbox/common/credentials.py``), in the region of the CR's
``services.k8s.aws/region`` annotation, else its Namespace's ``services.k8s.aws/default-region``, else the
controller's ``--aws-region`` (once created, the region in ``status.ackResourceMetadata``).

Requeues, as the runtime's ``handleRequeues``/``HandleReconcileError``: a CR that is not synced or whose
reconcile failed is reconciled again every pass (30 s in the real controller); a synced one after
``resync_seconds`` (the real resync: 300 s for TrainingJob, 30 s for Endpoint, the chart's 10 h for the
rest); a Terminal one only when its generation or annotations change, it is deleted, or the controller's pod
restarts (which also forgets what the controller remembered: the synced specs, rule evaluation passes).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from ..common.aws import client
from ..common.credentials import CredentialChecker, Denial
from ..common.faults import Fault, FaultRules
from ..common.kube import Gone, Kube
from ..common.loop import ControllerLoop
from ..common.pods import PodState
from . import resources as R
from .endpoint import EndpointManager
from .managers import JobManager, Manager, TuningJobManager
from .reconcile import reconcile
from .training import TrainingJobManager

log = logging.getLogger(__name__)

FEATURE_GATE_DEFAULTS = {"ResourceAdoption": True, "ReadOnlyResources": True}  # runtime featuregate defaults


class AckControllerEmulator(ControllerLoop):
    thread_name = "ack-sagemaker-controller-emulator"

    def __init__(
        self,
        kube_url: str,
        aws_endpoint_url: str,
        *,
        region: str,
        account: str,
        cluster_name: str,
        pod_state: Callable[[], PodState],
        inject_sagemaker_fault: Callable[[str, Fault], None] = lambda name, fault: None,
        withdraw_sagemaker_fault: Callable[[str, str], None] = lambda name, action: None,
        faults: FaultRules | None = None,
        poll_interval: float = 0.25,
        resync_seconds: float = 5.0,
        rule_passes: int = 3,
    ) -> None:
        super().__init__(poll_interval)
        self.kube = Kube(kube_url)
        self.default_region, self.account = region, account
        self.faults = faults if faults is not None else FaultRules()
        self.resync_seconds, self.rule_passes = resync_seconds, rule_passes
        self._endpoint = aws_endpoint_url
        self._pod_state = pod_state
        self._inject, self._withdraw = inject_sagemaker_fault, withdraw_sagemaker_fault
        self._credentials = CredentialChecker(aws_endpoint_url, region, cluster_name)
        self._clients: dict[str, object] = {}
        self._managers: dict[str, Manager] = {
            k.kind: cls(k)
            for k, cls in (
                (R.TRAINING_JOB, TrainingJobManager),
                (R.HYPERPARAMETER_TUNING_JOB, TuningJobManager),
                (R.TRANSFORM_JOB, JobManager),
                (R.MODEL, Manager),
                (R.ENDPOINT_CONFIG, Manager),
                (R.ENDPOINT, EndpointManager),
            )
        }
        self.state = PodState(False)
        self.baselines: dict[str, dict] = {}  # uid -> the spec last created/adopted/updated from
        self.rule_passes_seen: dict[str, int] = {}  # uid -> reconciles since the job completed
        self._requeue: dict[str, tuple] = {}  # uid -> (generation, annotations, not before | None = never)
        self._namespaces: dict[str, dict[str, str]] = {}

    # -- what reconciles use ----------------------------------------------------------------------
    def manager(self, kind: R.AckKind) -> Manager:
        return self._managers[kind.kind]

    def sagemaker(self, region: str):
        if region not in self._clients:
            self._clients[region] = client("sagemaker", self._endpoint, region)
        return self._clients[region]

    def denial(self, action: str) -> Denial | None:
        return self._credentials.denial(self.state.role_arn, self.state.subject, action)

    def forget_credentials(self) -> None:
        """IAM changed (a misconfiguration, a restore): evaluate the role again on the next call."""
        self._credentials.forget()

    def inject_sagemaker_fault(self, name: str, fault: Fault) -> None:
        self._inject(name, fault)

    def withdraw_sagemaker_fault(self, name: str, action: str) -> None:
        self._withdraw(name, action)

    def namespace_annotations(self, namespace: str) -> dict[str, str]:
        if namespace not in self._namespaces:
            self._namespaces[namespace] = self.kube.namespace_annotations(namespace)
        return self._namespaces[namespace]

    def region_for(self, cr: dict) -> str:
        metadata = (cr.get("status") or {}).get("ackResourceMetadata") or {}
        annotations = cr["metadata"].get("annotations") or {}
        return (
            metadata.get("region")
            or annotations.get(R.REGION)
            or self.namespace_annotations(cr["metadata"]["namespace"]).get(R.DEFAULT_REGION)
            or self.state.flags.get("--aws-region")
            or self.default_region
        )

    def deletion_policy(self, cr: dict) -> str:
        annotations = cr["metadata"].get("annotations") or {}
        namespace = self.namespace_annotations(cr["metadata"]["namespace"])
        return (
            annotations.get(R.DELETION_POLICY)
            or namespace.get(R.NAMESPACE_DELETION_POLICY)
            or self.state.flags.get("--deletion-policy")
            or "delete"
        )

    def gate(self, name: str) -> bool:
        gates = dict(FEATURE_GATE_DEFAULTS)
        for item in (self.state.flags.get("--feature-gates") or "").split(","):
            key, _, value = item.partition("=")
            if key.strip():
                gates[key.strip()] = value.strip().lower() == "true"
        return gates.get(name, False)

    def forget(self, uid: str) -> None:
        for memory in (self.baselines, self.rule_passes_seen, self._requeue):
            memory.pop(uid, None)

    # -- the loop ------------------------------------------------------------------------------------
    def close(self) -> None:
        self.kube.close()

    def reconcile_all(self) -> None:
        self.state = self._pod_state()
        if not self.state.running:  # a restarted controller remembers nothing
            self._requeue.clear()
            self.baselines.clear()
            self.rule_passes_seen.clear()
            return
        self._namespaces = {}
        seen = set()
        for kind in R.KINDS:
            for namespace in self.state.watch_namespaces:
                for cr in self.kube.list(kind.resource, namespace):
                    seen.add(cr["metadata"]["uid"])
                    self._reconcile(kind, cr)
        for uid in set(self._requeue) | set(self.baselines) | set(self.rule_passes_seen):
            if uid not in seen:  # the CR is gone (or no longer watched)
                self.forget(uid)

    def _reconcile(self, kind: R.AckKind, cr: dict) -> None:
        meta = cr["metadata"]
        key = (meta.get("generation"), json.dumps(meta.get("annotations") or {}, sort_keys=True))
        memo = self._requeue.get(meta["uid"])
        waiting = memo is not None and memo[:2] == key and (memo[2] is None or time.monotonic() < memo[2])
        if waiting and not meta.get("deletionTimestamp"):
            return
        try:
            outcome = reconcile(self, kind, cr)
        except Gone:
            return  # changed or deleted meanwhile: the next pass sees the new version
        except (ApiException, HTTPError) as e:
            log.warning("kube API error reconciling %s %s: %s", kind.kind, meta.get("name"), e)
            return
        if outcome == "settled":
            self._requeue[meta["uid"]] = (*key, None)
        elif outcome == "synced":
            self._requeue[meta["uid"]] = (*key, time.monotonic() + self.resync_seconds)
        else:
            self._requeue.pop(meta["uid"], None)
