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

# --- The ACK SageMaker controller's installation (its Helm chart, as the ACK docs install it) -------
ACK_NAMESPACE = "ack-system"
#: The chart's ``serviceAccount.name``; IRSA goes on it through ``serviceAccount.annotations``.
ACK_SERVICE_ACCOUNT = "ack-sagemaker-controller"
#: The Helm release name the ACK docs use (``helm install -n ack-system ack-sagemaker-controller ...``).
ACK_RELEASE = "ack-sagemaker-controller"
#: The Deployment: the chart names it ``<release>-<chart name>`` (``sagemaker-chart``), and a release
#: installed with ``fullnameOverride`` (or from plain manifests) may call it by the release name.
ACK_DEPLOYMENT = "ack-sagemaker-controller-sagemaker-chart"
ACK_DEPLOYMENT_NAMES = (ACK_DEPLOYMENT, ACK_RELEASE)
#: The controller's container in that Deployment.
ACK_CONTAINER = "controller"
ACK_CHART = "oci://public.ecr.aws/aws-controllers-k8s/sagemaker-chart"
ACK_CHART_VERSION = "1.9.1"
#: The IRSA subject the controller's role must trust, exactly.
ACK_SUBJECT = f"system:serviceaccount:{ACK_NAMESPACE}:{ACK_SERVICE_ACCOUNT}"
#: The region of one CR; else of every CR of a namespace (on the Namespace); else ``--aws-region``.
ACK_REGION_ANNOTATION = "services.k8s.aws/region"
ACK_DEFAULT_REGION_ANNOTATION = "services.k8s.aws/default-region"

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
