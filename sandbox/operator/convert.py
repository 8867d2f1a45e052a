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


def model_request(model: dict, sagemaker_name: str) -> dict:
    """CreateModel from one entry of HostingDeployment ``spec.models``."""
    containers = [to_api(c) for c in model.get("containers", [])]
    request: dict = {"ModelName": sagemaker_name, "ExecutionRoleArn": model["executionRoleArn"]}
    if len(containers) == 1:
        request["PrimaryContainer"] = containers[0]
    else:  # the operator ignores spec primaryContainer when there are several containers
        request["Containers"] = containers
    if model.get("enableNetworkIsolation") is not None:
        request["EnableNetworkIsolation"] = model["enableNetworkIsolation"]
    if model.get("vpcConfig"):
        request["VpcConfig"] = to_api(model["vpcConfig"])
    return request


def endpoint_config_request(variants: list[dict], model_names: dict[str, str], config_name: str) -> dict:
    out = []
    for variant in variants:
        item = to_api(variant)
        item["ModelName"] = model_names[variant["modelName"]]
        out.append(item)
    return {"EndpointConfigName": config_name, "ProductionVariants": out}
