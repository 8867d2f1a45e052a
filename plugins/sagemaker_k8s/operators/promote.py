"""Promotion as an in-place update of the pipeline's one serving CR, verified live; its record; and
the rollback to the champion when the promoted model fails its smoke test or its rollout."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from sagemaker_k8s.links.console import SageMakerEndpointLink, SageMakerEndpointLogsLink
from sagemaker_k8s.operators.serving import ServingEndpointMixin


class _ServingTask(ServingEndpointMixin, BaseOperator):
    template_fields: Sequence[str] = ("config",)

    def __init__(
        self,
        *,
        config: dict | Any,
        gate_task_id: str,
        template: str = "hostingdeployment.yaml",
        kubernetes_conn_id: str = "kubernetes_default",
        aws_conn_id: str | None = "aws_default",
        poll_interval: float = 10.0,
        ack_timeout: float = 120.0,
        reconciling_timeout: float = 600.0,
        wait_timeout: float = 5400.0,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.config = config
        self.gate_task_id = gate_task_id
        self.template = template
        self.kubernetes_conn_id = kubernetes_conn_id
        self.aws_conn_id = aws_conn_id
        self.poll_interval = poll_interval
        self.ack_timeout = ack_timeout
        self.reconciling_timeout = reconciling_timeout
        self.wait_timeout = wait_timeout

    def _owned_serving(self, dag_id: str) -> dict | None:
        from sagemaker_k8s.promotion.ownership import owner_of

        endpoint, cr_name = self.names(dag_id)
        serving = self.hook.find(self.serving_kind, cr_name, self.cfg.namespace)
        if serving is not None and owner_of(serving) != dag_id:
            raise AirflowFailException(
                f"{self.serving_kind.kind} {self.cfg.namespace}/{cr_name} (endpoint {endpoint}) is not this "
                f"pipeline's (it belongs to {owner_of(serving) or 'no Airflow DAG'}); see the preflight's fix"
            )
        return serving


class SageMakerK8sPromoteOperator(_ServingTask):
    """Serve the challenger: create the endpoint (first promotion) or update it in place.

    The spec change and the ``candidate`` record (with the live config before the change) are one
    patch, so a retry finds both and waits for the same rollout instead of starting another. Done
    when SageMaker serves the challenger's model on the config the CR wants; an update SageMaker
    rolls back fails with its reason (the champion keeps serving and stays recorded).
    Returns ``{"name", "namespace", "endpoint_name", "endpoint_url", "region", "endpoint_config",
    "model_uri", "challenger", "champion"}``.
    """

    operator_extra_links = (SageMakerEndpointLink(), SageMakerEndpointLogsLink())
    ui_color = "#d8f0d8"

    def execute(self, context) -> dict | None:
        from sagemaker_k8s.constants import LABEL_DAG_ID
        from sagemaker_k8s.manifests.images import partition
        from sagemaker_k8s.operators.gate import pull_decision
        from sagemaker_k8s.operators.serving import champion_records
        from sagemaker_k8s.promotion.record import ModelRecord, promotion_patch
        from sagemaker_k8s.promotion.rollout import Baseline

        dag_id = context["dag"].dag_id
        decision = pull_decision(context, self.gate_task_id)
        if decision["action"] != "promote":
            raise AirflowFailException(f"the gate decided {decision['action']!r}; nothing to promote")
        challenger = ModelRecord(**decision["challenger"])
        endpoint, cr_name = self.names(dag_id)
        for link in (SageMakerEndpointLink, SageMakerEndpointLogsLink):
            link.persist(context=context, operator=self, region_name=self.cfg.region,
                         aws_partition=partition(self.cfg.region), endpoint_name=endpoint)  # fmt: skip
        serving = self._owned_serving(dag_id)
        _, _, candidate = champion_records(serving)
        if serving is None:
            if self.aws.live_endpoint(endpoint) is not None:
                raise AirflowFailException(
                    f"SageMaker endpoint {endpoint} exists but no {self.serving_kind.kind} manages it; "
                    f"refusing to take it over (aws sagemaker delete-endpoint --endpoint-name {endpoint}, "
                    "or choose another endpoint_name)"
                )
            candidate = challenger.as_candidate()
            annotations = {LABEL_DAG_ID: dag_id, **promotion_patch(candidate)["metadata"]["annotations"]}
            self.create_serving(dag_id, challenger.model_uri, annotations)
            self.log.info("creating endpoint %s (%s %s) for %s", endpoint, self.serving_kind.kind, cr_name,
                          challenger.model_uri)  # fmt: skip
        elif (
            candidate
            and candidate.model_uri == challenger.model_uri
            and self.wanted_model(serving) == challenger.model_uri
        ):
            self.log.info("reattaching to the promotion of %s already under way", challenger.model_uri)
        elif self.wanted_model(serving) == challenger.model_uri:  # a rerun after it was recorded: verify only
            self.log.info("%s already asks for %s; verifying that it is live", cr_name, challenger.model_uri)
            candidate = _with_baseline(decision["challenger"], Baseline.of(self.aws.live_endpoint(endpoint)))
        else:
            baseline = Baseline.of(self.aws.live_endpoint(endpoint))
            self.log.info(
                "endpoint %s serves %s on %s now", endpoint, baseline.model_url, baseline.config_name
            )
            candidate = _with_baseline(decision["challenger"], baseline)
            self.change_model(dag_id, serving, challenger.model_uri, promotion_patch(candidate))
        self.defer_rollout(dag_id, challenger.model_uri, _baseline_of(candidate))
        return None

    def execute_complete(self, context, event: dict[str, Any]) -> dict:
        from sagemaker_k8s.operators.gate import pull_decision

        decision = pull_decision(context, self.gate_task_id)
        target = decision["challenger"]["model_uri"]
        live = self.live_after(context, event, target)
        endpoint, cr_name = self.names(context["dag"].dag_id)
        self.log.info("endpoint %s serves %s live (config %s)", endpoint, live.model_url, live.config_name)
        return {
            "name": cr_name,
            "namespace": self.cfg.namespace,
            "endpoint_name": endpoint,
            "endpoint_url": (event.get("object_status") or {}).get("endpointUrl"),
            "region": self.cfg.region,
            "endpoint_config": live.config_name,
            "model_uri": live.model_url,
            "challenger": decision["challenger"],
            "champion": decision.get("champion"),
        }


def _with_baseline(challenger: dict, baseline):
    from sagemaker_k8s.promotion.record import ModelRecord

    return ModelRecord(
        **{
            **challenger,
            "baseline_config": baseline.config_name,
            "baseline_modified": baseline.last_modified,
            "baseline_failure": baseline.failure_reason,
            "baseline_model": baseline.model_url,
        }
    )


def _baseline_of(record):
    from sagemaker_k8s.promotion.rollout import Baseline

    return Baseline(
        record.baseline_config, record.baseline_modified, record.baseline_failure, record.baseline_model
    )


class SageMakerK8sRecordChampionOperator(_ServingTask):
    """The promoted model passed its smoke test: record it as the champion on the serving CR, and
    update the model and endpoint Assets (``outlets``) with the metric, job and model in the extra."""

    template_fields: Sequence[str] = ("config", "promoted", "smoke")
    ui_color = "#d8f0d8"

    def __init__(self, *, promoted: dict | Any, smoke: dict | Any, **kwargs) -> None:
        super().__init__(**kwargs)
        self.promoted = promoted
        self.smoke = smoke

    def execute(self, context) -> dict:
        from sagemaker_k8s.operators.serving import champion_records
        from sagemaker_k8s.promotion.record import ModelRecord, recorded_patch

        dag_id = context["dag"].dag_id
        serving = self._owned_serving(dag_id)
        if serving is None:
            raise AirflowFailException(f"the serving {self.serving_kind.kind} is gone; nothing to record")
        previous, _, _ = champion_records(serving)
        challenger = ModelRecord(**self.promoted["challenger"])
        champion = challenger.as_champion(
            promoted_at=datetime.now(UTC).isoformat(timespec="seconds"), accuracy=self.smoke.get("accuracy")
        )
        meta = serving["metadata"]
        self.hook.patch(
            self.serving_kind, meta["name"], meta["namespace"], recorded_patch(champion, previous)
        )
        self.prune_revisions(dag_id, keep={champion.model_uri})
        extra = {
            "endpoint_name": self.promoted["endpoint_name"],
            "endpoint_config": self.promoted["endpoint_config"],
            "model_uri": champion.model_uri,
            "training_job": champion.training_job,
            "metric_name": champion.metric_name,
            "metric_value": champion.metric_value,
            "accuracy": champion.accuracy,
            "test_accuracy": champion.test_accuracy,
            "tuning_job": champion.tuning_job,
            "previous_model_uri": previous.model_uri if previous else None,
            "run_id": context["run_id"],
        }
        for asset in self.outlets:
            context["outlet_events"][asset].extra = extra
        self.log.info("champion of endpoint %s is now %s (%s)", extra["endpoint_name"], champion.training_job,
                      champion.model_uri)  # fmt: skip
        return {"promoted": True, **extra}
