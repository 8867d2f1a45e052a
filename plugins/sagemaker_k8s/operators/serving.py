"""What every task acting on the pipeline's serving endpoint shares.

The endpoint and its HostingDeployment are named for the pipeline (the DAG id, or the
``endpoint_name`` param), not for the run, so every task finds the same CR; a promotion or a
rollback is a spec change of that CR, waited for until the model is live (``SageMakerK8sRolloutTrigger``).
"""

from __future__ import annotations

import copy
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sagemaker_k8s.resource_task import CustomResourceTaskMixin

if TYPE_CHECKING:
    from sagemaker_k8s.promotion.record import ModelRecord
    from sagemaker_k8s.promotion.rollout import Baseline
    from sagemaker_k8s.run_config import RunConfig


class ServingEndpointMixin(CustomResourceTaskMixin):
    config: Any
    aws_conn_id: str | None
    poll_interval: float
    wait_timeout: float
    template: str

    @cached_property
    def cfg(self) -> RunConfig:
        from sagemaker_k8s.run_config import RunConfig

        return RunConfig.from_dict(self.config)

    @cached_property
    def aws(self):
        from sagemaker_k8s.hooks.aws import SageMakerK8sAwsHook

        return SageMakerK8sAwsHook(self.aws_conn_id, self.cfg.region)

    @property
    def hd(self):
        from sagemaker_k8s.manifests.flavours import LEGACY_HOSTING_DEPLOYMENT

        return LEGACY_HOSTING_DEPLOYMENT

    def names(self, dag_id: str) -> tuple[str, str]:
        """(SageMaker endpoint name, HostingDeployment name) of this pipeline."""
        from sagemaker_k8s.manifests.naming import serving_cr_name, serving_endpoint_name

        endpoint = serving_endpoint_name(dag_id, self.cfg.endpoint_name)
        return endpoint, serving_cr_name(endpoint)

    def build(self, dag_id: str, model_uri: str, annotations: dict[str, str]) -> dict:
        """The full serving manifest for ``model_uri`` with this run's hosting params."""
        from sagemaker_k8s.manifests.build import HostingDeploymentSpec, build_hosting_deployment
        from sagemaker_k8s.manifests.images import xgboost_image
        from sagemaker_k8s.manifests.load import load_template
        from sagemaker_k8s.manifests.naming import serving_labels

        cfg = self.cfg
        endpoint, cr_name = self.names(dag_id)
        spec = HostingDeploymentSpec(
            cr_name=cr_name,
            namespace=cfg.namespace,
            endpoint_name=endpoint,
            region=cfg.region,
            role_arn=cfg.execution_role_arn,
            image=cfg.training_image or xgboost_image(cfg.region),
            model_data_url=model_uri,
            instance_type=cfg.hosting_instance_type,
            instance_count=1,
            labels=serving_labels(dag_id),
            annotations=annotations,
        )
        return build_hosting_deployment(load_template(self.template), spec)

    def change_model(self, dag_id: str, serving: dict, model_uri: str, metadata_patch: dict) -> None:
        """Merge-patch the serving CR to ``model_uri`` (validated against the CRD schema first)."""
        from sagemaker_k8s.manifests.validate import validate_resource

        desired = self.build(dag_id, model_uri, {})
        meta = serving["metadata"]
        validate_resource(
            self.hd,
            {**desired, "metadata": {"name": meta["name"], "namespace": meta["namespace"]}},
        )
        patch = {**copy.deepcopy(metadata_patch), "spec": desired["spec"]}
        self.log.info(
            "updating HostingDeployment %s/%s to serve %s", meta["namespace"], meta["name"], model_uri
        )
        self.hook.patch(self.hd, meta["name"], meta["namespace"], patch)

    def defer_rollout(self, dag_id: str, target_model: str, baseline: Baseline) -> None:
        from dataclasses import asdict

        from sagemaker_k8s.triggers.rollout import SageMakerK8sRolloutTrigger

        endpoint, cr_name = self.names(dag_id)
        self.defer(
            trigger=SageMakerK8sRolloutTrigger(
                name=cr_name,
                namespace=self.cfg.namespace,
                endpoint_name=endpoint,
                region=self.cfg.region,
                target_model=target_model,
                baseline=asdict(baseline),
                kubernetes_conn_id=self.kubernetes_conn_id,
                aws_conn_id=self.aws_conn_id,
                poll_interval=self.poll_interval,
                ack_timeout=self.ack_timeout,
                reconciling_timeout=self.reconciling_timeout,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.wait_timeout),
        )

    def live_after(self, context, event: Any, target_model: str):
        """The rollout event checked strictly: the ``LiveEndpoint`` serving ``target_model``, or raise."""
        from airflow.sdk.exceptions import AirflowException

        from sagemaker_k8s.promotion.rollout import LiveEndpoint
        from sagemaker_k8s.resource_task.events import check_event

        _, cr_name = self.names(context["dag"].dag_id)
        check_event(event, self.hd, cr_name, self.cfg.namespace)
        live = event.get("live")
        if not isinstance(live, dict):
            raise AirflowException(f"rollout event without the live endpoint: {event!r}")
        live = LiveEndpoint.from_dict(live)
        if live.model_url != target_model or live.status != "InService":
            raise AirflowException(f"rollout event does not show {target_model} live: {live}")
        return live


def model_of(serving: dict) -> str | None:
    """The model URL the serving CR's spec asks for (its first model's primary container)."""
    models = (serving.get("spec") or {}).get("models") or [{}]
    model = models[0]
    containers = model.get("containers") or [{}]
    primary = model.get("primaryContainer")
    container = next((c for c in containers if c.get("containerHostname") == primary), containers[0])
    return container.get("modelDataUrl")


def champion_records(
    serving: dict | None,
) -> tuple[ModelRecord | None, ModelRecord | None, ModelRecord | None]:
    """(champion, previous champion, candidate) from the serving CR's annotations; unreadable → fail."""
    from airflow.sdk.exceptions import AirflowFailException

    from sagemaker_k8s.promotion.record import CANDIDATE, CHAMPION, PREVIOUS_CHAMPION, RecordError, read

    annotations = ((serving or {}).get("metadata") or {}).get("annotations") or {}
    try:
        return (
            read(annotations, CHAMPION),
            read(annotations, PREVIOUS_CHAMPION),
            read(annotations, CANDIDATE),
        )
    except RecordError as e:
        name = ((serving or {}).get("metadata") or {}).get("name")
        raise AirflowFailException(
            f"HostingDeployment {name}: {e}. Fix or remove the annotation (kubectl annotate "
            f"hostingdeployment {name} <key>-) and rerun"
        ) from e
