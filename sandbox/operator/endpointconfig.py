"""EndpointConfig reconciler: the legacy operator's controllers/endpointconfig (see standalone.py).

Its production variants name *SageMaker* models (a HostingDeployment resolves them from its child
Models' ``status.sageMakerModelName``). CreateEndpointConfig as ``<cr name>-<cr uid hex>``; status
``status``, ``sageMakerEndpointConfigName``, ``endpointConfigArn``, ``additional``, ``lastUpdateTime``.
"""

from __future__ import annotations

from . import standalone
from .convert import comparable_endpoint_config, endpoint_config_request
from .kube import ENDPOINT_CONFIGS

KIND = standalone.Kind(
    name="EndpointConfig",
    noun="endpointConfig",
    resource=ENDPOINT_CONFIGS,
    name_field="sageMakerEndpointConfigName",
    arn_field="endpointConfigArn",
    name_key="EndpointConfigName",
    arn_key="EndpointConfigArn",
    not_found="Could not find endpoint configuration",
    describe=lambda sm, name: sm.describe_endpoint_config(EndpointConfigName=name),
    create=lambda sm, spec, name: sm.create_endpoint_config(**endpoint_config_request(spec, name)),
    delete=lambda sm, name: sm.delete_endpoint_config(EndpointConfigName=name),
    matches=lambda spec, described: (
        comparable_endpoint_config(endpoint_config_request(spec, "")) == comparable_endpoint_config(described)
    ),
)


def reconcile(ctx, cr: dict) -> None:
    standalone.reconcile(KIND, ctx, cr)
