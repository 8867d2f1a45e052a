"""Model reconciler: the legacy operator's controllers/model (see standalone.py for the state machine).

A HostingDeployment's child Models and stand-alone Model CRs (the ``testfiles-xgboost-model.yaml``
sample) alike: CreateModel from the spec as ``<cr name>-<cr uid hex>``; status ``status``,
``sageMakerModelName``, ``modelArn``, ``additional``, ``lastUpdateTime``.
"""

from __future__ import annotations

from . import standalone
from .convert import comparable_model, model_request
from .kube import MODELS

KIND = standalone.Kind(
    name="Model",
    noun="model",
    resource=MODELS,
    name_field="sageMakerModelName",
    arn_field="modelArn",
    name_key="ModelName",
    arn_key="ModelArn",
    not_found="Could not find model",
    describe=lambda sm, name: sm.describe_model(ModelName=name),
    create=lambda sm, spec, name: sm.create_model(**model_request(spec, name)),
    delete=lambda sm, name: sm.delete_model(ModelName=name),
    matches=lambda spec, described: comparable_model(model_request(spec, "")) == comparable_model(described),
)


def reconcile(ctx, cr: dict) -> None:
    standalone.reconcile(KIND, ctx, cr)
