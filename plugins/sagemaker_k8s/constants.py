"""Names shared by every layer, defined once so a rename is a one-line change.

Values are quoted exactly from the SageMaker operator's installer and the Airflow/Kubernetes
conventions they have to match; do not "tidy" them.
"""

from __future__ import annotations

# --- The legacy operator's installation (release/rolebased/installer.yaml) -------------------------
OPERATOR_NAMESPACE = "sagemaker-k8s-operator-system"
OPERATOR_SERVICE_ACCOUNT = "sagemaker-k8s-operator-default"
OPERATOR_DEPLOYMENT = "sagemaker-k8s-operator-controller-manager"
#: IRSA: the service-account annotation that tells the EKS pod identity webhook which role to assume.
ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"
#: Added by every legacy controller on first reconcile; holds the CR until SageMaker work is stopped.
LEGACY_FINALIZER = "sagemaker-operator-finalizer"
#: ACK finalizers are ``finalizers.sagemaker.services.k8s.aws/<Kind>``.
ACK_FINALIZER_PREFIX = "finalizers.sagemaker.services.k8s.aws/"
#: The ``aud`` claim of projected service-account tokens used for IRSA.
STS_AUDIENCE = "sts.amazonaws.com"

# --- Labels and annotations put on every custom resource this package creates -------------------
# Label values are sanitized (Kubernetes allows only 63 characters of [-A-Za-z0-9_.]);
# annotations with the same keys carry the exact, unsanitized values.
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "airflow"
LABEL_DAG_ID = "airflow.apache.org/dag-id"
LABEL_RUN_ID = "airflow.apache.org/run-id"
LABEL_TASK_ID = "airflow.apache.org/task-id"

# --- Airflow Variables consulted when a run-time param is null -----------------------------------
VAR_REGION = "sagemaker_k8s_region"
VAR_CLUSTER = "sagemaker_k8s_cluster_name"
VAR_BUCKET = "sagemaker_k8s_bucket"
VAR_EXECUTION_ROLE = "sagemaker_k8s_execution_role_arn"
VAR_OPERATOR_ROLE = "sagemaker_k8s_operator_role_arn"
VAR_NAMESPACE = "sagemaker_k8s_namespace"
VAR_DATASET_SOURCE = "sagemaker_k8s_dataset_source"

# --- Files --------------------------------------------------------------------------------------
#: Overrides where ``manifests.load`` looks for ``include/manifests``.
ENV_MANIFESTS_DIR = "SAGEMAKER_K8S_MANIFESTS_DIR"

# --- IAM ----------------------------------------------------------------------------------------
SAGEMAKER_SERVICE_PRINCIPAL = "sagemaker.amazonaws.com"
SAGEMAKER_FULL_ACCESS_POLICY = "AmazonSageMakerFullAccess"
