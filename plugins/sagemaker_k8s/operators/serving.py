"""What every task acting on the pipeline's serving endpoint shares.

The endpoint and its serving CR are named for the pipeline (the DAG id, or the ``endpoint_name``
param), not for the run, so every task finds the same CR; a promotion or a rollback is a spec
change of that CR, waited for until the model is live (``SageMakerK8sRolloutTrigger``).

Legacy: the serving CR is a HostingDeployment, which owns its models and configs. ACK: it is an
``Endpoint``; each served model is a *revision*, a ``Model`` and an ``EndpointConfig`` CR named for
the endpoint and the model (``manifests.ack.serving_revision``), created and waited for (until
synced) before the Endpoint's ``spec.endpointConfigName`` points at it. Revisions that serve
nothing any more are deleted once the endpoint is confirmed on another (``prune_revisions``).
"""

from __future__ import annotations

import copy
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sagemaker_k8s.operators.submit import submit_or_reattach
from sagemaker_k8s.resource_task import AwsHookMixin, CustomResourceTaskMixin

#: ACK serving templates under include/manifests/ack/, by role.
ACK_TEMPLATES = {"model": "model", "endpoint_config": "endpointconfig", "endpoint": "endpoint"}

if TYPE_CHECKING:
    from sagemaker_k8s.config.run_config import RunConfig
    from sagemaker_k8s.promotion.record import ModelRecord
    from sagemaker_k8s.promotion.rollout import Baseline


class ServingEndpointMixin(AwsHookMixin, CustomResourceTaskMixin):
    config: Any
    aws_conn_id: str | None
    poll_interval: float
    wait_timeout: float
    template: str

    @cached_property
    def cfg(self) -> RunConfig:
        from sagemaker_k8s.config.run_config import RunConfig

        return RunConfig.from_dict(self.config)

    @property
    def aws_region(self) -> str:
        return self.cfg.region

    @property
    def serving_kind(self):
        from sagemaker_k8s.manifests.flavours import kind_of

        return kind_of("serving", self.flavour)

    def names(self, dag_id: str) -> tuple[str, str]:
        """(SageMaker endpoint name, HostingDeployment name) of this pipeline."""
        from sagemaker_k8s.manifests.naming import serving_cr_name, serving_endpoint_name

        endpoint = serving_endpoint_name(dag_id, self.cfg.endpoint_name)
        return endpoint, serving_cr_name(endpoint)

    def hosting_spec(self, dag_id: str, model_uri: str, annotations: dict[str, str]):
        """This run's hosting values for ``model_uri`` (``manifests.specs.HostingDeploymentSpec``)."""
        from sagemaker_k8s.manifests.build import HostingDeploymentSpec
        from sagemaker_k8s.manifests.images import xgboost_image
        from sagemaker_k8s.manifests.naming import serving_labels

        cfg = self.cfg
        endpoint, cr_name = self.names(dag_id)
        return HostingDeploymentSpec(
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

    def build(self, dag_id: str, model_uri: str, annotations: dict[str, str]) -> dict:
        """The serving CR's full manifest for ``model_uri``: the HostingDeployment, or ACK's Endpoint."""
        from sagemaker_k8s.manifests.build import build_hosting_deployment
        from sagemaker_k8s.manifests.load import load_template

        if self.cfg.is_ack:
            return self.ack_serving(dag_id, model_uri, annotations).endpoint
        return build_hosting_deployment(
            load_template(self.template), self.hosting_spec(dag_id, model_uri, annotations)
        )

    def ack_serving(self, dag_id: str, model_uri: str, annotations: dict[str, str]):
        """ACK: the revision's Model and EndpointConfig and the Endpoint (``manifests.ack.AckServing``)."""
        from sagemaker_k8s.manifests.ack import build_ack_serving
        from sagemaker_k8s.manifests.load import load_template

        templates = {role: load_template(f"ack/{name}") for role, name in ACK_TEMPLATES.items()}
        return build_ack_serving(
            templates, self.hosting_spec(dag_id, model_uri, {}), endpoint_annotations=annotations
        )

    def wanted_model(self, serving: dict) -> str | None:
        """The model URL the serving CR's spec asks for (ACK: its revision's Model CR's)."""
        if not self.cfg.is_ack:
            return model_of(serving)
        from sagemaker_k8s.manifests.flavours import ACK_MODEL

        revision = (serving.get("spec") or {}).get("endpointConfigName")
        model = self.hook.find(ACK_MODEL, revision, self.cfg.namespace) if revision else None
        return ((model or {}).get("spec") or {}).get("primaryContainer", {}).get("modelDataURL")

    def ensure_revision(self, dag_id: str, model_uri: str) -> None:
        """ACK: create (or find) the Model and EndpointConfig serving ``model_uri`` and, until the
        EndpointConfig is synced, defer to ``resume`` (which runs ``execute`` again). Legacy: nothing."""
        if not self.cfg.is_ack:
            return
        from sagemaker_k8s.manifests.flavours import ACK_ENDPOINT_CONFIG, ACK_MODEL
        from sagemaker_k8s.manifests.status import Phase, interpret
        from sagemaker_k8s.resource_task.events import make_trigger

        revision = self.ack_serving(dag_id, model_uri, {})
        submit_or_reattach(self.hook, ACK_MODEL, revision.model)
        config, _ = submit_or_reattach(self.hook, ACK_ENDPOINT_CONFIG, revision.endpoint_config)
        if interpret(ACK_ENDPOINT_CONFIG, config).phase is Phase.SUCCEEDED:
            return
        self.log.info("waiting for Model and EndpointConfig %s (serving %s) to be created", revision.revision,
                      model_uri)  # fmt: skip
        trigger = make_trigger(ACK_ENDPOINT_CONFIG, revision.revision, self.cfg.namespace,
                               self.kubernetes_conn_id, self.poll_interval, self.policy)  # fmt: skip
        self.defer(trigger=trigger, method_name="resume", timeout=timedelta(seconds=self.wait_timeout))

    def resume(self, context, event: Any) -> Any:
        """After ``ensure_revision``'s wait: check its event strictly, then run ``execute`` again."""
        from sagemaker_k8s.manifests.flavours import ACK_ENDPOINT_CONFIG
        from sagemaker_k8s.resource_task.events import check_event

        name = event.get("name") if isinstance(event, dict) else None
        check_event(event, ACK_ENDPOINT_CONFIG, str(name), self.cfg.namespace)
        return self.execute(context)

    def create_serving(self, dag_id: str, model_uri: str, annotations: dict[str, str]) -> None:

        self.ensure_revision(dag_id, model_uri)
        submit_or_reattach(self.hook, self.serving_kind, self.build(dag_id, model_uri, annotations))

    def change_model(self, dag_id: str, serving: dict, model_uri: str, metadata_patch: dict) -> None:
        """Merge-patch the serving CR to ``model_uri`` (validated against the CRD schema first); on ACK
        after ``ensure_revision`` (which may defer and come back here through ``execute``)."""
        from sagemaker_k8s.manifests.validate import validate_resource

        self.ensure_revision(dag_id, model_uri)
        desired = self.build(dag_id, model_uri, {})
        meta = serving["metadata"]
        validate_resource(
            self.serving_kind,
            {**desired, "metadata": {"name": meta["name"], "namespace": meta["namespace"]}},
        )
        patch = {**copy.deepcopy(metadata_patch), "spec": desired["spec"]}
        self.log.info(
            "updating %s %s/%s to serve %s",
            self.serving_kind.kind,
            meta["namespace"],
            meta["name"],
            model_uri,
        )
        self.hook.patch(self.serving_kind, meta["name"], meta["namespace"], patch)

    def prune_revisions(self, dag_id: str, keep: set[str]) -> list[str]:
        """ACK: delete this endpoint's Model and EndpointConfig CRs whose model URL is not in ``keep``
        (the controller then deletes them in SageMaker). Legacy: nothing (the HostingDeployment does it)."""
        if not self.cfg.is_ack:
            return []
        from sagemaker_k8s.manifests.ack import revision_stem, serving_revision
        from sagemaker_k8s.manifests.flavours import ACK_ENDPOINT_CONFIG, ACK_MODEL
        from sagemaker_k8s.manifests.naming import serving_labels

        endpoint, _ = self.names(dag_id)
        keep_names = {serving_revision(endpoint, uri) for uri in keep}
        selector = ",".join(f"{k}={v}" for k, v in serving_labels(dag_id).items())
        deleted = []
        for kind in (ACK_ENDPOINT_CONFIG, ACK_MODEL):
            for obj in self.hook.list(kind, self.cfg.namespace, selector):
                name = obj["metadata"]["name"]
                if name.startswith(revision_stem(endpoint) + "-") and name not in keep_names:
                    self.hook.delete(kind, name, self.cfg.namespace)
                    deleted.append(f"{kind.kind}/{name}")
        if deleted:
            self.log.info("deleted revisions that serve nothing any more: %s", ", ".join(deleted))
        return deleted

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
                api_version=self.serving_kind.api_version,
                kind=self.serving_kind.kind,
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
        check_event(event, self.serving_kind, cr_name, self.cfg.namespace)
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
        from sagemaker_k8s.manifests.flavours import LEGACY_HOSTING_DEPLOYMENT, kind_for

        try:
            kind = kind_for((serving or {}).get("apiVersion", ""), (serving or {}).get("kind", ""))
        except KeyError:
            kind = LEGACY_HOSTING_DEPLOYMENT
        raise AirflowFailException(
            f"{kind.kind} {name}: {e}. Fix or remove the annotation (kubectl annotate "
            f"{kind.kubectl_name} {name} <key>-) and rerun"
        ) from e
