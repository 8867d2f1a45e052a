"""A trigger that waits until the serving CR's model is really live (promotion or rollback): a
legacy HostingDeployment or an ACK Endpoint (``api_version``/``kind``).

Polls the CR through the Kubernetes API and the endpoint through SageMaker's (DescribeEndpoint →
EndpointConfig → Model), and lets ``promotion.rollout.assess_rollout`` judge both. No side
effects; exactly one event: the waiting outcome plus ``live`` (what SageMaker serves). Unlike the
job waits it never deletes anything on kill: the serving CR outlives every run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from sagemaker_k8s.exceptions import KubeApiError, KubeNotFound
from sagemaker_k8s.manifests.flavours import LEGACY_HOSTING_DEPLOYMENT, kind_for
from sagemaker_k8s.manifests.waiting import ERROR, WaitPolicy, WaitState, deleted
from sagemaker_k8s.promotion.rollout import Baseline, assess_rollout


class SageMakerK8sRolloutTrigger(BaseTrigger):
    def __init__(
        self,
        *,
        name: str,
        namespace: str,
        endpoint_name: str,
        region: str,
        target_model: str,
        baseline: dict[str, Any],
        kubernetes_conn_id: str = "kubernetes_default",
        aws_conn_id: str | None = "aws_default",
        poll_interval: float = 10.0,
        ack_timeout: float = 120.0,
        reconciling_timeout: float = 600.0,
        api_version: str = LEGACY_HOSTING_DEPLOYMENT.api_version,
        kind: str = LEGACY_HOSTING_DEPLOYMENT.kind,
    ) -> None:
        super().__init__()
        self.api_version = api_version
        self.kind = kind
        self.name = name
        self.namespace = namespace
        self.endpoint_name = endpoint_name
        self.region = region
        self.target_model = target_model
        self.baseline = dict(baseline)
        self.kubernetes_conn_id = kubernetes_conn_id
        self.aws_conn_id = aws_conn_id
        self.poll_interval = poll_interval
        self.ack_timeout = ack_timeout
        self.reconciling_timeout = reconciling_timeout

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "name": self.name,
                "namespace": self.namespace,
                "endpoint_name": self.endpoint_name,
                "region": self.region,
                "target_model": self.target_model,
                "baseline": self.baseline,
                "kubernetes_conn_id": self.kubernetes_conn_id,
                "aws_conn_id": self.aws_conn_id,
                "poll_interval": self.poll_interval,
                "ack_timeout": self.ack_timeout,
                "reconciling_timeout": self.reconciling_timeout,
                "api_version": self.api_version,
                "kind": self.kind,
            },
        )

    def _event(self, payload: dict) -> TriggerEvent:
        return TriggerEvent({**payload, "name": self.name, "namespace": self.namespace, "kind": self.kind})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from botocore.exceptions import BotoCoreError, ClientError

        from sagemaker_k8s.hooks.aws import SageMakerK8sAwsHook
        from sagemaker_k8s.hooks.kubernetes import AsyncSageMakerK8sHook

        serving = kind_for(self.api_version, self.kind)
        kube = AsyncSageMakerK8sHook(self.kubernetes_conn_id)
        aws = SageMakerK8sAwsHook(self.aws_conn_id, self.region)
        policy = WaitPolicy(self.ack_timeout, self.reconciling_timeout)
        baseline = Baseline(**self.baseline)
        state = WaitState()
        last = None
        while True:
            try:
                obj = await kube.get(serving, self.name, self.namespace)
            except KubeNotFound:
                yield self._event(deleted(self.kind, self.namespace, self.name).to_event())
                return
            except KubeApiError as e:
                yield self._event({"status": ERROR, "message": str(e)})
                return
            try:  # boto3 is synchronous: keep the triggerer's event loop free
                live = await asyncio.to_thread(aws.live_endpoint, self.endpoint_name)
            except (ClientError, BotoCoreError) as e:
                yield self._event({"status": ERROR, "message": f"SageMaker: {e}"})
                return
            outcome = assess_rollout(
                obj, live, target_model=self.target_model, baseline=baseline,
                now=time.time(), state=state, policy=policy, kind=serving,
            )  # fmt: skip
            if outcome is not None:
                yield self._event(
                    outcome.to_event(
                        object_status=obj.get("status") or {}, live=live.to_dict() if live else None
                    )
                )
                return
            seen = (
                (obj.get("status") or {}).get("endpointStatus"),
                live and (live.status, live.config_name, live.model_url),
            )
            if seen != last:
                self.log.info(
                    "%s %s/%s: %s; SageMaker: %s",
                    self.kind, self.namespace, self.name, seen[0] or "(no status yet)",
                    f"{live.status} on {live.config_name} ({live.model_url})" if live else "no endpoint yet",
                )  # fmt: skip
                last = seen
            await asyncio.sleep(self.poll_interval)
