"""Turn a legacy CR spec into the SageMaker API request the real operator sends.

The CRD spells fields in lowerCamelCase; the SageMaker API in UpperCamelCase. Name/value lists
(hyperparameters, environment) become maps; tags become ``{Key, Value}``. Fields that only steer
the operator (``region``, ``sageMakerEndpoint``) are dropped.
"""

from __future__ import annotations

OPERATOR_ONLY = frozenset({"region", "sageMakerEndpoint"})
NAME_VALUE_MAPS = frozenset(
    {"hyperParameters", "environment", "staticHyperParameters", "collectionParameters", "ruleParameters"}
)


def _upper(key: str) -> str:
    return key[:1].upper() + key[1:]


def to_api(value, key: str | None = None):
    if key in NAME_VALUE_MAPS and isinstance(value, list):
        return {item["name"]: str(item.get("value", "")) for item in value}
    if key == "tags" and isinstance(value, list):
        return [{"Key": t["key"], "Value": t["value"]} for t in value]
    if isinstance(value, dict):
        return {_upper(k): to_api(v, k) for k, v in value.items() if k not in OPERATOR_ONLY}
    if isinstance(value, list):
        return [to_api(item) for item in value]
    return value


def training_request(spec: dict, job_name: str) -> dict:
    request = to_api({k: v for k, v in spec.items() if k != "trainingJobName"})
    request["TrainingJobName"] = job_name
    return request


def model_request(spec: dict, sagemaker_name: str) -> dict:
    """CreateModel from a Model CR's spec (CreateCreateModelInputFromSpec)."""
    return {**to_api(spec), "ModelName": sagemaker_name}


def endpoint_config_request(spec: dict, sagemaker_name: str) -> dict:
    """CreateEndpointConfig from an EndpointConfig CR's spec (its variants name SageMaker models)."""
    return {**to_api(spec), "EndpointConfigName": sagemaker_name}


# -- spec vs. description (sdkutil/spec_comparison.go): tags, region and endpoint are ignored; empty
# values equal missing ones, a missing bool equals false, environment order does not matter.
MODEL_FIELDS = ("PrimaryContainer", "Containers", "ExecutionRoleArn", "EnableNetworkIsolation", "VpcConfig")
VARIANT_FIELDS = (
    "VariantName",
    "ModelName",
    "InitialInstanceCount",
    "InstanceType",
    "InitialVariantWeight",
    "AcceleratorType",
)


def _pruned(value):
    if isinstance(value, dict):
        value = {k: _pruned(v) for k, v in value.items()}
        return {k: v for k, v in value.items() if v not in (None, "", [], {}, False)}
    if isinstance(value, list):
        return [_pruned(v) for v in value]
    return value


def _container(container: dict) -> dict:
    return {"Mode": "SingleModel", **container}  # the Model controller defaults Mode before comparing


def comparable_model(model: dict) -> dict:
    """The compared fields of a CreateModel request or a DescribeModel response."""
    out = _pruned({k: model.get(k) for k in MODEL_FIELDS})
    if "PrimaryContainer" in out:
        out["PrimaryContainer"] = _container(out["PrimaryContainer"])
    if "Containers" in out:
        out["Containers"] = [_container(c) for c in out["Containers"]]
    return out


def comparable_endpoint_config(config: dict) -> dict:
    """The compared fields of a CreateEndpointConfig request or a DescribeEndpointConfig response."""
    variants = []
    for variant in config.get("ProductionVariants") or []:
        item = {k: variant.get(k) for k in VARIANT_FIELDS}
        if item["InitialVariantWeight"] is not None:  # a float in SageMaker, an int64 in the CRD
            item["InitialVariantWeight"] = float(item["InitialVariantWeight"])
        variants.append(item)
    return _pruned({"ProductionVariants": variants, "KmsKeyId": config.get("KmsKeyId")})
