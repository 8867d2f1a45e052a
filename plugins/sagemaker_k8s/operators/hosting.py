"""Deploy the trained model with a HostingDeployment CR and wait until the endpoint is InService."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from sagemaker_k8s.links.console import SageMakerEndpointLink, SageMakerEndpointLogsLink
from sagemaker_k8s.operators import CustomResourceTaskMixin, FlavourAttribute

if TYPE_CHECKING:
    from sagemaker_k8s.params import RunConfig

# Imported at DAG parse time: manifests, params, the trigger and the hooks are imported where used.


class SageMakerK8sHostingOperator(CustomResourceTaskMixin, BaseOperator):
    """Serve ``training["model_path"]`` from a SageMaker endpoint through a HostingDeployment CR.

    Idempotent like training: the CR name is deterministic per DAG run and task, a retry reattaches.
    Returns ``{"name", "namespace", "endpoint_name", "endpoint_url", "region"}``.
    """

    template_fields: Sequence[str] = ("config", "training", "template")
    operator_extra_links = (SageMakerEndpointLink(), SageMakerEndpointLogsLink())
    ui_color = "#d8f0d8"
    kind = FlavourAttribute("LEGACY_HOSTING_DEPLOYMENT")

    def __init__(
        self,
        *,
        config: dict | Any,
        training: dict | Any,
        template: str = "hostingdeployment.yaml",
        kubernetes_conn_id: str = "kubernetes_default",
        deferrable: bool = True,
        poll_interval: float = 10.0,
        ack_timeout: float = 120.0,
        reconciling_timeout: float = 600.0,
        wait_timeout: float = 5400.0,
        delete_on_kill: bool = True,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.config = config
        self.training = training
        self.template = template
        self.kubernetes_conn_id = kubernetes_conn_id
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.ack_timeout = ack_timeout
        self.reconciling_timeout = reconciling_timeout
        self.wait_timeout = wait_timeout
        self.delete_on_kill = delete_on_kill
        self._submitted: tuple[str, str] | None = None

    def build(self, cfg: RunConfig, dag_id: str, run_id: str) -> dict:
        from sagemaker_k8s.manifests.build import HostingDeploymentSpec, build_hosting_deployment
        from sagemaker_k8s.manifests.images import xgboost_image
        from sagemaker_k8s.manifests.load import load_template
        from sagemaker_k8s.manifests.naming import airflow_annotations, airflow_labels, resource_name

        model_path = self.training.get("model_path") if isinstance(self.training, dict) else None
        if not model_path:
            raise AirflowFailException("the training result has no model_path: nothing to deploy")
        name = resource_name(dag_id, run_id, self.task_id)
        spec = HostingDeploymentSpec(
            cr_name=name,
            namespace=cfg.namespace,
            endpoint_name=cfg.endpoint_name or name,
            region=cfg.region,
            role_arn=cfg.execution_role_arn,
            image=cfg.training_image or xgboost_image(cfg.region),
            model_data_url=model_path,
            instance_type=cfg.hosting_instance_type,
            instance_count=1,
            labels=airflow_labels(dag_id, run_id, self.task_id),
            annotations=airflow_annotations(dag_id, run_id, self.task_id),
        )
        return build_hosting_deployment(load_template(self.template), spec)

    def execute(self, context) -> dict | None:
        from sagemaker_k8s.operators.submit import submit_or_reattach
        from sagemaker_k8s.operators.training import partition
        from sagemaker_k8s.operators.waiting import make_trigger, poll_until_done
        from sagemaker_k8s.params import RunConfig

        cfg = RunConfig.from_dict(self.config)
        body = self.build(cfg, context["dag"].dag_id, context["run_id"])
        name, namespace = body["metadata"]["name"], body["metadata"]["namespace"]
        self._submitted = (name, namespace)
        submit_or_reattach(self.hook, self.kind, body)
        endpoint = body["spec"]["endpointName"]
        for link in (SageMakerEndpointLink, SageMakerEndpointLogsLink):
            link.persist(
                context=context,
                operator=self,
                region_name=cfg.region,
                aws_partition=partition(cfg.region),
                endpoint_name=endpoint,
            )
        if not self.deferrable:
            status = poll_until_done(
                self.hook,
                self.kind,
                name,
                namespace,
                poll_interval=self.poll_interval,
                policy=self.policy,
                timeout=self.wait_timeout,
                log=self.log,
            )
            return self._result(status, name, namespace, cfg.region)
        self.defer(
            trigger=make_trigger(
                self.kind,
                name,
                namespace,
                self.kubernetes_conn_id,
                self.poll_interval,
                self.policy,
                delete_on_kill=self.delete_on_kill,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.wait_timeout),
        )
        return None

    def execute_complete(self, context, event: dict[str, Any]) -> dict:
        from sagemaker_k8s.manifests.naming import resource_name
        from sagemaker_k8s.operators.waiting import check_event
        from sagemaker_k8s.params import RunConfig

        cfg = RunConfig.from_dict(self.config)
        name = resource_name(context["dag"].dag_id, context["run_id"], self.task_id)
        status = check_event(event, self.kind, name, cfg.namespace)
        return self._result(status, name, cfg.namespace, cfg.region)

    def _result(self, status: dict, name: str, namespace: str, region: str) -> dict:
        self.log.info("endpoint %s is %s", status.get("endpointName"), status.get("endpointStatus"))
        return {
            "name": name,
            "namespace": namespace,
            "endpoint_name": status.get("endpointName"),
            "endpoint_url": status.get("endpointUrl"),
            "region": region,
        }

    def on_kill(self) -> None:
        if self.delete_on_kill and self._submitted:
            name, namespace = self._submitted
            self.log.info("task killed: deleting HostingDeployment %s/%s", namespace, name)
            self.hook.delete(self.kind, name, namespace)
