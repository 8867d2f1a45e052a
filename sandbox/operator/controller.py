"""The operator emulator's control loop: the legacy controller-manager, in a thread.

Like the real manager it watches TrainingJobs, HyperparameterTuningJobs (and their child TrainingJobs),
HostingDeployments, the Models and EndpointConfigs (a HostingDeployment's children, or stand-alone) and
BatchTransformJobs in every namespace, or only in ``--namespace=X`` as the namespaced installer configures
it, and requeues non-terminal objects every ``poll_interval`` seconds (5 s in the real operator). A
HyperparameterTuningJob or BatchTransformJob whose reconciler reported it settled (terminal: the real
controller returns NoRequeue and filters status-only events) is reconciled again only when its
``metadata.generation`` changes, it is deleted, or the operator's pod restarts. It runs only while its
Deployment has a Running pod (see ``sandbox/cluster.py``), so scaling the Deployment to zero or
crash-looping it stops reconciliation exactly as it would on a cluster.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from ..common.aws import client
from ..common.credentials import CredentialChecker
from ..common.faults import Fault, FaultRules
from ..common.loop import ControllerLoop
from ..common.pods import PodState
from . import batchtransform, endpointconfig, hosting, hpo, model, training
from .kube import (
    BATCH_TRANSFORM_JOBS,
    ENDPOINT_CONFIGS,
    HOSTING_DEPLOYMENTS,
    HYPERPARAMETER_TUNING_JOBS,
    MODELS,
    TRAINING_JOBS,
    Gone,
    Kube,
)

__all__ = ["SUBJECT", "OperatorEmulator", "PodState"]

log = logging.getLogger(__name__)

SUBJECT = "system:serviceaccount:sagemaker-k8s-operator-system:sagemaker-k8s-operator-default"


class OperatorEmulator(ControllerLoop):
    thread_name = "sagemaker-operator-emulator"

    def __init__(
        self,
        kube_url: str,
        aws_endpoint_url: str,
        *,
        region: str,
        cluster_name: str,
        pod_state: Callable[[], PodState],
        inject_sagemaker_fault: Callable[[str, Fault], None] = lambda name, fault: None,
        withdraw_sagemaker_fault: Callable[[str, str], None] = lambda name, action: None,
        poll_interval: float = 0.25,
        faults: FaultRules | None = None,
    ) -> None:
        super().__init__(poll_interval)
        self.kube = Kube(kube_url)
        self.default_region = region
        self.faults = faults if faults is not None else FaultRules()
        self._endpoint = aws_endpoint_url
        self._pod_state = pod_state
        self._inject = inject_sagemaker_fault
        self._withdraw = withdraw_sagemaker_fault
        self._credentials = CredentialChecker(aws_endpoint_url, region, cluster_name)
        self._clients: dict[str, object] = {}
        self._state = PodState(False)
        self._settled: dict[str, int] = {}  # uid -> generation of CRs the controller does not requeue

    # -- what reconcilers use -------------------------------------------------------------
    def sagemaker(self, region: str):
        if region not in self._clients:
            self._clients[region] = client("sagemaker", self._endpoint, region)
        return self._clients[region]

    def credential_problem(self, action: str) -> str | None:
        return self._credentials.problem(self._state.role_arn, self._state.subject or SUBJECT, action)

    def forget_credentials(self) -> None:
        """IAM changed (a misconfiguration, a restore): evaluate the role again on the next call."""
        self._credentials.forget()

    def inject_sagemaker_fault(self, name: str, fault: Fault) -> None:
        """Make SageMaker misbehave for the resource ``name`` (a job or an endpoint) as ``fault`` says."""
        self._inject(name, fault)

    def withdraw_sagemaker_fault(self, name: str, action: str) -> None:
        """Undo what ``inject_sagemaker_fault`` armed for ``name`` with this fault action, if anything."""
        self._withdraw(name, action)

    # -- the loop ------------------------------------------------------------------------------
    def close(self) -> None:
        self.kube.close()

    def reconcile_all(self) -> None:
        self._state = self._pod_state()
        if not self._state.running:
            self._settled.clear()  # a restarted manager reconciles every object once
            return
        for res, reconcile in (
            (HYPERPARAMETER_TUNING_JOBS, hpo.reconcile),
            (TRAINING_JOBS, training.reconcile),
            (HOSTING_DEPLOYMENTS, hosting.reconcile),
            (MODELS, model.reconcile),
            (ENDPOINT_CONFIGS, endpointconfig.reconcile),
            (BATCH_TRANSFORM_JOBS, batchtransform.reconcile),
        ):
            for cr in self.kube.list(res, self._state.watch_namespace):
                meta = cr["metadata"]
                if self._skip(res, cr) or (
                    self._settled.get(meta["uid"]) == meta.get("generation")
                    and not meta.get("deletionTimestamp")
                ):
                    continue
                try:
                    if reconcile(self, cr) is True:
                        self._settled[meta["uid"]] = meta.get("generation")
                    else:
                        self._settled.pop(meta["uid"], None)
                except Gone:
                    continue  # changed or deleted meanwhile: the next pass sees the new version
                except (ApiException, HTTPError) as e:
                    log.warning("kube API error reconciling %s: %s", cr["metadata"].get("name"), e)

    @staticmethod
    def _skip(res, cr: dict) -> bool:
        """Terminal TrainingJobs are not requeued (unless being deleted), as in the real operator."""
        if res is not TRAINING_JOBS or cr["metadata"].get("deletionTimestamp"):
            return False
        status = (cr.get("status") or {}).get("trainingJobStatus")
        synced = (cr.get("status") or {}).get("sageMakerTrainingJobName") == cr.get("spec", {}).get(
            "trainingJobName"
        )
        return status in training.TERMINAL and synced
