"""Resolve the run's configuration first: params, then Airflow Variables, then the AWS connection.

Everything is validated here, before any task touches S3, IAM or Kubernetes; the result goes to
XCom as a plain dict that every later task re-validates with ``RunConfig.from_dict``. With
``flavour: auto`` this is also where the controller is chosen, from the CRDs on the cluster (one read;
both or neither installed fails here, with the fix), so every later task sees ``legacy`` or ``ack``.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperator

from sagemaker_k8s.config.params import PARAM_SPECS
from sagemaker_k8s.resource_task import AwsHookMixin, CustomResourceTaskMixin


class SageMakerK8sResolveConfigOperator(AwsHookMixin, CustomResourceTaskMixin, BaseOperator):
    ui_color = "#eeeeee"
    aws_region = None  # the region is what this task resolves: the hook reads the connection's

    def __init__(
        self,
        *,
        aws_conn_id: str | None = "aws_default",
        kubernetes_conn_id: str = "kubernetes_default",
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.aws_conn_id = aws_conn_id
        self.kubernetes_conn_id = kubernetes_conn_id

    def _installed_crds(self) -> set[str]:
        return self.hook.crd_names()

    def _connection_region(self) -> str | None:
        from airflow.sdk.exceptions import AirflowNotFoundException

        try:
            return self.aws.connection_region
        except AirflowNotFoundException:
            return None

    def execute(self, context) -> dict[str, Any]:
        from airflow.sdk import Variable

        from sagemaker_k8s.config.run_config import check_conf_keys, resolve_run_config

        # context["params"] already has every conf key merged in; the DAG's declared params do not.
        declared = self.dag.params.keys() if self.has_dag() else PARAM_SPECS.keys()
        check_conf_keys(getattr(context.get("dag_run"), "conf", None) or {}, known=declared)
        params = {name: context["params"].get(name, spec.default) for name, spec in PARAM_SPECS.items()}
        variables = {
            spec.variable: Variable.get(spec.variable, default=None)
            for spec in PARAM_SPECS.values()
            if spec.variable
        }
        cfg = resolve_run_config(params, variables=variables, connection_region=self._connection_region())
        if cfg.flavour == "auto":
            from sagemaker_k8s.manifests.flavours import choose_flavour

            cfg = cfg.with_flavour(choose_flavour("auto", self._installed_crds()))
            self.log.info("flavour auto: the cluster has the %s controller's CRDs", cfg.flavour)
        for key, value in cfg.to_dict().items():
            if key != "origins":
                self.log.info("%-22s %-55s (%s)", key, value, cfg.origins.get(key, "param"))
        return cfg.to_dict()
