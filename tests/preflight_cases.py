"""What the preflight must say for each misconfiguration of the sandbox (``sandbox.stack.MISCONFIGURATIONS``).

``EXPECTED_FIX``: the misconfigurations that fail the preflight, with (part of) the fix its failed row
names, whitespace collapsed. ``WARN_ONLY``: the ones that only warn. Shared by the in-process matrix
(``tests/operators/test_preflight_sandbox.py``) and the end-to-end preflight failure case.
"""

from __future__ import annotations

EXPECTED_FIX = {
    "no-oidc-provider": (
        "eksctl utils associate-iam-oidc-provider --cluster sagemaker-sandbox --region us-west-2"
    ),
    "wrong-sub": "aws iam update-assume-role-policy --role-name sagemaker-k8s-operator-irsa",
    "wrong-aud": "aws iam update-assume-role-policy --role-name sagemaker-k8s-operator-irsa",
    "wildcard-principal": "aws iam update-assume-role-policy --role-name sagemaker-k8s-operator-irsa",
    "policy-missing": (
        "aws iam attach-role-policy --role-name sagemaker-k8s-operator-irsa "
        "--policy-arn arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"
    ),
    "execution-role-trust": "aws iam update-assume-role-policy --role-name AmazonSageMaker-ExecutionRole",
    "no-bucket": "aws s3 mb s3://sagemaker-sandbox-123456789012 --region us-west-2",
    "crds-missing": "kubectl apply -f include/manifests/crds/legacy/",
    "operator-not-running": (
        "kubectl -n sagemaker-k8s-operator-system scale deployment "
        "sagemaker-k8s-operator-controller-manager --replicas=1"
    ),
    "operator-crashloop": "rollout restart deployment sagemaker-k8s-operator-controller-manager",
    "operator-wrong-namespace": "run the pipeline with namespace=sagemaker-jobs",
    "sa-annotation-missing": (
        "kubectl -n sagemaker-k8s-operator-system annotate serviceaccount sagemaker-k8s-operator-default "
        "eks.amazonaws.com/role-arn="
    ),
}
WARN_ONLY = {"trust-too-broad"}
#: The warning ``trust-too-broad`` gives.
BROAD_TRUST_WARNING = "broader than one service account"
