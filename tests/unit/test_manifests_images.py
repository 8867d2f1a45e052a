"""The built-in XGBoost image table and partition helpers."""

from __future__ import annotations

import re

import pytest

from sagemaker_k8s.exceptions import ConfigError
from sagemaker_k8s.manifests.images import XGBOOST_ACCOUNTS, ecr_domain, partition, xgboost_image
from sagemaker_k8s.patterns import ECR_IMAGE_PATTERN, REGION_PATTERN


@pytest.mark.parametrize(
    ("region", "account"),
    [
        ("us-west-2", "433757028032"),
        ("us-east-1", "811284229777"),
        ("us-east-2", "825641698319"),
        ("eu-west-1", "685385470294"),
        ("ap-northeast-1", "501404015308"),
        ("us-gov-west-1", "226302683700"),
    ],
)
def test_known_accounts(region: str, account: str) -> None:
    assert XGBOOST_ACCOUNTS[region] == account
    assert xgboost_image(region).startswith(f"{account}.dkr.ecr.{region}.")


@pytest.mark.parametrize("region", sorted(XGBOOST_ACCOUNTS))
def test_every_image_is_well_formed(region: str) -> None:
    assert re.fullmatch(REGION_PATTERN, region)
    assert re.fullmatch(r"\d{12}", XGBOOST_ACCOUNTS[region])
    assert re.fullmatch(ECR_IMAGE_PATTERN, xgboost_image(region))
    assert xgboost_image(region).endswith("/xgboost:1")


@pytest.mark.parametrize(
    ("region", "part", "domain"),
    [
        ("us-west-2", "aws", "amazonaws.com"),
        ("cn-north-1", "aws-cn", "amazonaws.com.cn"),
        ("cn-northwest-1", "aws-cn", "amazonaws.com.cn"),
        ("us-gov-east-1", "aws-us-gov", "amazonaws.com"),
        ("us-gov-west-1", "aws-us-gov", "amazonaws.com"),
        ("eu-west-1", "aws", "amazonaws.com"),
    ],
)
def test_partition_and_domain(region: str, part: str, domain: str) -> None:
    assert partition(region) == part
    assert ecr_domain(region) == domain


@pytest.mark.parametrize("region", ["us-iso-east-1", "xx-nowhere-1", "us-west-2 ", 42])
def test_unknown_region(region: object) -> None:
    with pytest.raises(ConfigError, match="region") as e:
        xgboost_image(region)  # type: ignore[arg-type]
    assert e.value.param == "region"


def test_one_partition_rule() -> None:
    """Every module that needs a region's partition uses this one (there used to be two copies)."""
    from sagemaker_k8s.config import run_config
    from sagemaker_k8s.operators import training
    from sagemaker_k8s.preflight import cluster as preflight_cluster

    assert "partition" not in vars(training)  # imported where it is used, not redefined
    assert run_config.partition is preflight_cluster.partition is partition
