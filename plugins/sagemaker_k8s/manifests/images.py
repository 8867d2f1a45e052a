"""The SageMaker built-in XGBoost image (legacy ``xgboost:1``) for each region.

The walkthrough's TrainingJob uses ``433757028032.dkr.ecr.us-west-2.amazonaws.com/xgboost:1``;
the account differs per region. Table copied from the SageMaker Python SDK,
``src/sagemaker/image_uri_config/xgboost.json`` -> ``training``/``inference`` -> ``versions`` ->
``"1"`` -> ``registries`` (repository ``xgboost``), github.com/aws/sagemaker-python-sdk at commit
02ed3cbfd8f1c519f8a829b545bb78a47a538546 (same accounts for training and inference). The
``us-iso*`` regions are left out: their ECR domains differ and SageMaker-on-EKS is not offered there.
"""

from __future__ import annotations

from sagemaker_k8s.exceptions import ConfigError

XGBOOST_REPOSITORY = "xgboost"
XGBOOST_TAG = "1"

XGBOOST_ACCOUNTS: dict[str, str] = {
    "af-south-1": "455444449433",
    "ap-east-1": "286214385809",
    "ap-northeast-1": "501404015308",
    "ap-northeast-2": "306986355934",
    "ap-northeast-3": "867004704886",
    "ap-south-1": "991648021394",
    "ap-south-2": "628508329040",
    "ap-southeast-1": "475088953585",
    "ap-southeast-2": "544295431143",
    "ap-southeast-3": "951798379941",
    "ap-southeast-4": "106583098589",
    "ca-central-1": "469771592824",
    "cn-north-1": "390948362332",
    "cn-northwest-1": "387376663083",
    "eu-central-1": "813361260812",
    "eu-central-2": "680994064768",
    "eu-north-1": "669576153137",
    "eu-south-1": "257386234256",
    "eu-south-2": "104374241257",
    "eu-west-1": "685385470294",
    "eu-west-2": "644912444149",
    "eu-west-3": "749696950732",
    "me-central-1": "272398656194",
    "me-south-1": "249704162688",
    "sa-east-1": "855470959533",
    "us-east-1": "811284229777",
    "us-east-2": "825641698319",
    "us-gov-east-1": "237065988967",
    "us-gov-west-1": "226302683700",
    "us-west-1": "632365934929",
    "us-west-2": "433757028032",
}


def ecr_domain(region: str) -> str:
    """``amazonaws.com``, or ``amazonaws.com.cn`` in the China partition."""
    return "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"


def partition(region: str) -> str:
    """The ARN partition a region belongs to (``aws``, ``aws-cn``, ``aws-us-gov``)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def xgboost_image(region: str) -> str:
    """The built-in XGBoost image URI for ``region``; ``ConfigError`` naming ``region`` if unknown."""
    account = XGBOOST_ACCOUNTS.get(region) if isinstance(region, str) else None
    if account is None:
        raise ConfigError(
            f"region {str(region)[:40]!r} has no known SageMaker XGBoost image; use one of "
            f"{', '.join(sorted(XGBOOST_ACCOUNTS))} or set the training_image param",
            param="region",
        )
    return f"{account}.dkr.ecr.{region}.{ecr_domain(region)}/{XGBOOST_REPOSITORY}:{XGBOOST_TAG}"
