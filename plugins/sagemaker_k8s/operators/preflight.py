"""Preflight: is the account and the cluster set up the way the walkthrough leaves them?

Reads facts through the hooks, judges them with the pure checks, logs one table, pushes the
summary to XCom and fails (no retry) if any check failed — each failed row names its fix.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from sagemaker_k8s.constants import (
    LABEL_DAG_ID,
    LABEL_TASK_ID,
    OPERATOR_DEPLOYMENT,
    OPERATOR_NAMESPACE,
)
from sagemaker_k8s.resource_task import AwsHookMixin, CustomResourceTaskMixin

if TYPE_CHECKING:
    from sagemaker_k8s.config.run_config import RunConfig
    from sagemaker_k8s.preflight.cluster import Controller
    from sagemaker_k8s.preflight.report import Finding

# Imported at DAG parse time: the checks, the report and the hooks are imported where they are used.


class SageMakerK8sPreflightOperator(AwsHookMixin, CustomResourceTaskMixin, BaseOperator):
    template_fields: Sequence[str] = ("config",)
    ui_color = "#fff3c4"

    def __init__(
        self,
        *,
        config: dict | Any,
        kubernetes_conn_id: str = "kubernetes_default",
        aws_conn_id: str | None = "aws_default",
        **kwargs,
    ) -> None:
        kwargs.setdefault("retries", 0)  # a misconfiguration does not fix itself
        super().__init__(**kwargs)
        self.config = config
        self.kubernetes_conn_id = kubernetes_conn_id
        self.aws_conn_id = aws_conn_id

    def execute(self, context) -> dict:
        from sagemaker_k8s.config.run_config import RunConfig
        from sagemaker_k8s.preflight.report import failed, render_table, summarize

        cfg = RunConfig.from_dict(self.config)
        findings = run_checks(cfg, self.aws, self.hook, dag_id=context["dag"].dag_id)
        self.log.info("preflight checks:\n%s", render_table(findings))
        summary = summarize(findings)
        if failed(findings):
            context["ti"].xcom_push(key="preflight", value=summary)
            raise AirflowFailException(
                f"preflight failed: {summary['failed']} of {summary['total']} checks\n"
                + render_table(findings)
            )
        return summary


def _unreadable(check: str, error: Exception) -> Finding:
    from sagemaker_k8s.exceptions import KubeForbidden
    from sagemaker_k8s.preflight.report import FAIL, Finding

    fix = "check the connection and the permissions of Airflow's identity"
    if isinstance(error, KubeForbidden):
        fix = (
            "grant Airflow's identity what the pipeline reads: kubectl apply -f include/manifests/rbac.yaml "
            "(on the ACK flavour: include/manifests/rbac-ack.yaml)"
        )
    return Finding(check, FAIL, f"could not read: {type(error).__name__}: {str(error)[:300]}", fix)


def _guard(check: str, gather: Callable[[], list[Finding]]) -> list[Finding]:
    """A check whose facts cannot be read is a failed row, not a crashed task."""
    try:
        return gather()
    except Exception as e:
        return [_unreadable(check, e)]


def _read(check: str, read: Callable[[], Any]) -> tuple[Any, list[Finding]]:
    try:
        return read(), []
    except Exception as e:
        return None, [_unreadable(check, e)]


def run_checks(cfg: RunConfig, aws, kube, *, dag_id: str | None = None) -> list[Finding]:
    """Every check of the run's flavour. A config still at flavour ``auto`` (one that did not pass
    through resolve_config, e.g. built by hand) gets the legacy operator's checks, as before flavours."""
    from sagemaker_k8s.preflight import cluster

    ack = cfg.flavour == "ack"
    findings: list[Finding] = []
    if ack:
        controller, deployment, unread_deployment = _ack_deployment(cfg, kube)
    else:
        controller = cluster.LEGACY_OPERATOR
        deployment, unread_deployment = _read(
            "operator pod running", lambda: kube.deployment(OPERATOR_NAMESPACE, OPERATOR_DEPLOYMENT)
        )
    service_account, unread_account = _read(
        f"{controller.label} service account",
        lambda: kube.service_account(controller.namespace, controller.service_account),
    )
    operator_role = cfg.operator_role_arn or cluster.service_account_role(service_account)
    if ack:  # the install fix names the role, once it is known
        controller = cluster.ack_controller(cfg.region, operator_role, controller.deployment)

    needs = {"tuning": cfg.tuning is not None, "batch_scoring": cfg.batch_scoring, "ack": ack}
    findings += _guard(
        f"{controller.label} CRDs installed",
        lambda: cluster.check_crds(kube.crd_names(), cluster.required_crds(**needs), controller),
    )
    if unread_deployment:
        findings += unread_deployment
    else:
        selector = controller.pod_selector or cluster.pod_selector(deployment)  # "": no Deployment
        findings += _guard(
            f"{controller.label} pod running",
            lambda: cluster.check_operator_pod(
                kube.pods(controller.namespace, selector) if selector else [], deployment, controller
            ),
        )
        if ack:
            if deployment is not None:
                findings += cluster.check_ack_watched_namespace(deployment, cfg.namespace)
                findings += _guard(
                    f"ACK controller region for namespace {cfg.namespace}",
                    lambda: cluster.check_ack_region(
                        deployment, kube.namespace(cfg.namespace), cfg.namespace, cfg.region
                    ),
                )
        else:
            findings += cluster.check_watched_namespace(deployment, cfg.namespace)
    findings += unread_account or cluster.check_service_account(
        service_account, cfg.operator_role_arn, controller
    )
    findings += _guard(
        f"IAM OIDC provider / {controller.label} role",
        lambda: _iam_checks(cfg, aws, operator_role, controller),
    )
    findings += _guard("execution role", lambda: _execution_role_checks(cfg, aws))
    findings += _guard(
        "S3 bucket reachable",
        lambda: cluster.check_bucket(cfg.bucket, cfg.region, aws.bucket_error(cfg.bucket)),
    )
    if dag_id is not None:
        if ack:
            findings += _guard(
                "serving endpoint", lambda: _ack_ownership_check(cfg, aws, kube, dag_id, controller)
            )
        else:
            findings += _guard("serving endpoint", lambda: _ownership_check(cfg, aws, kube, dag_id))
    return findings


def _ack_deployment(cfg: RunConfig, kube):
    """(the ACK controller, its Deployment or None, the failed row if it could not be read): the
    Deployment is looked for under each name the chart gives it."""
    from sagemaker_k8s.preflight import cluster

    controller = cluster.ack_controller(cfg.region, cfg.operator_role_arn)
    for name in controller.deployment_names:
        deployment, unread = _read(
            f"{controller.label} pod running", lambda name=name: kube.deployment(controller.namespace, name)
        )
        if unread or deployment is not None:
            return cluster.ack_controller(cfg.region, cfg.operator_role_arn, name), deployment, unread
    return controller, None, []


def _ack_ownership_check(cfg: RunConfig, aws, kube, dag_id: str, controller: Controller) -> list[Finding]:
    """ACK: the pipeline's endpoint and its ``Endpoint`` CR are its own, or free (never taken over)."""
    from sagemaker_k8s.exceptions import KubeNotFound
    from sagemaker_k8s.manifests.flavours import ACK_ENDPOINT
    from sagemaker_k8s.manifests.naming import serving_cr_name, serving_endpoint_name
    from sagemaker_k8s.preflight.report import FAIL, PASS, Finding
    from sagemaker_k8s.promotion.ownership import check_ownership

    endpoint = serving_endpoint_name(dag_id, cfg.endpoint_name)
    cr_name = serving_cr_name(endpoint)
    try:
        endpoints = kube.list(ACK_ENDPOINT, cfg.namespace)
    except KubeNotFound:  # no such resource: the CRD is missing (its own row says so)
        crd = f"{ACK_ENDPOINT.plural}.{ACK_ENDPOINT.group}"
        return [
            Finding(
                "serving endpoint",
                FAIL,
                f"cannot list Endpoints: CRD {crd} not installed",
                controller.crd_fix,
            )
        ]
    verdict = check_ownership(
        dag_id=dag_id,
        endpoint_name=endpoint,
        serving=next((e for e in endpoints if e["metadata"]["name"] == cr_name), None),
        claimants=[e for e in endpoints if (e.get("spec") or {}).get("endpointName") == endpoint],
        endpoint_exists=aws.live_endpoint(endpoint) is not None,
        kind=ACK_ENDPOINT,
    )
    return [Finding("serving endpoint", PASS if verdict.ok else FAIL, verdict.detail, verdict.fix or "")]


def _ownership_check(cfg: RunConfig, aws, kube, dag_id: str) -> list[Finding]:
    """The pipeline's endpoint and its HostingDeployment are its own, or free (never taken over)."""
    from sagemaker_k8s.manifests.flavours import LEGACY_HOSTING_DEPLOYMENT
    from sagemaker_k8s.manifests.naming import label_value, serving_cr_name, serving_endpoint_name
    from sagemaker_k8s.preflight.report import FAIL, PASS, WARN, Finding
    from sagemaker_k8s.promotion.ownership import check_ownership

    endpoint = serving_endpoint_name(dag_id, cfg.endpoint_name)
    cr_name = serving_cr_name(endpoint)
    deployments = kube.list(LEGACY_HOSTING_DEPLOYMENT, cfg.namespace)
    verdict = check_ownership(
        dag_id=dag_id,
        endpoint_name=endpoint,
        serving=next((d for d in deployments if d["metadata"]["name"] == cr_name), None),
        claimants=[d for d in deployments if (d.get("spec") or {}).get("endpointName") == endpoint],
        endpoint_exists=aws.live_endpoint(endpoint) is not None,
    )
    findings = [Finding("serving endpoint", PASS if verdict.ok else FAIL, verdict.detail, verdict.fix or "")]
    legacy = [d["metadata"]["name"] for d in deployments if is_per_run_deployment(d, dag_id)]
    if legacy:
        findings.append(
            Finding(
                "per-run endpoints",
                WARN,
                f"{len(legacy)} HostingDeployment(s) left by an earlier version of this DAG, one billed "
                f"endpoint each: {', '.join(sorted(legacy)[:5])}{' ...' if len(legacy) > 5 else ''}",
                f"kubectl delete hostingdeployments -n {cfg.namespace} -l {LABEL_TASK_ID}=deploy_endpoint,"
                f"{LABEL_DAG_ID}={label_value(dag_id)}",
            )
        )
    return findings


def is_per_run_deployment(obj: dict, dag_id: str) -> bool:
    """A HostingDeployment an earlier version of this DAG made for one run (task deploy_endpoint)."""
    from sagemaker_k8s.manifests.naming import label_value

    labels = obj["metadata"].get("labels") or {}
    return labels.get(LABEL_TASK_ID) == "deploy_endpoint" and labels.get(LABEL_DAG_ID) == label_value(dag_id)


def _iam_checks(
    cfg: RunConfig, aws, operator_role: str | None, controller: Controller | None = None
) -> list[Finding]:
    """The cluster's OIDC provider, and the controller's IRSA role: trusted by exactly its service
    account's subject, allowed the SageMaker calls (``controller``: the legacy operator by default)."""
    from sagemaker_k8s.manifests.images import partition
    from sagemaker_k8s.preflight.cluster import LEGACY_OPERATOR
    from sagemaker_k8s.preflight.irsa import oidc_provider_arn
    from sagemaker_k8s.preflight.report import FAIL, WARN, Finding
    from sagemaker_k8s.preflight.trust import (
        check_operator_trust,
        check_sagemaker_permissions,
        create_role_fix,
        oidc_provider_fix,
        operator_trust_policy,
    )

    controller = controller or LEGACY_OPERATOR
    label = controller.label

    if not cfg.cluster_name:
        return [
            Finding(
                "IAM OIDC provider",
                WARN,
                "no cluster_name given: OIDC checks skipped",
                "set the param cluster_name or the Airflow Variable sagemaker_k8s_cluster_name",
            )
        ]
    issuer = aws.oidc_issuer(cfg.cluster_name)
    if not issuer:
        return [
            Finding(
                "IAM OIDC provider",
                FAIL,
                f"EKS cluster {cfg.cluster_name} has no OIDC issuer",
                oidc_provider_fix(cfg.cluster_name, cfg.region),
            )
        ]
    if not operator_role:
        return [
            Finding(
                f"{label} role",
                FAIL,
                f"no {label} role: neither the param nor the service account names one",
                f"set operator_role_arn, or annotate the {label}'s service account (see above)",
            )
        ]
    account = operator_role.split(":")[4]
    arn_partition = partition(cfg.region)  # aws, aws-cn or aws-us-gov: the provider is the region's
    provider_arn = oidc_provider_arn(account, issuer, arn_partition)
    findings = []
    if provider_arn in aws.oidc_provider_arns():
        findings.append(Finding("IAM OIDC provider", "pass", provider_arn))
    else:
        findings.append(
            Finding(
                "IAM OIDC provider",
                FAIL,
                f"no IAM OIDC provider for {issuer}",
                oidc_provider_fix(cfg.cluster_name, cfg.region),
            )
        )
    role_name = operator_role.rsplit("/", 1)[-1]
    trust = aws.role_trust_policy(role_name)
    if trust is None:
        findings.append(
            Finding(
                f"{label} role exists",
                FAIL,
                f"role {role_name} does not exist",
                create_role_fix(
                    role_name,
                    operator_trust_policy(
                        provider_arn, issuer, controller.namespace, controller.service_account
                    ),
                ),
            )
        )
        return findings
    findings += check_operator_trust(
        trust,
        provider_arn=provider_arn,
        issuer_url=issuer,
        namespace=controller.namespace,
        service_account=controller.service_account,
        role_name=role_name,
        label=label,
    )
    from sagemaker_k8s.preflight.permissions import operator_actions

    actions = operator_actions(
        tuning=cfg.tuning is not None, batch_scoring=cfg.batch_scoring, ack=controller.flavour == "ack"
    )
    findings += check_sagemaker_permissions(
        *aws.role_permissions(role_name),
        role_name=role_name,
        partition=arn_partition,
        actions=actions,
        label=label,
    )
    return findings


def _execution_role_checks(cfg: RunConfig, aws) -> list[Finding]:
    from sagemaker_k8s.preflight.report import FAIL, Finding
    from sagemaker_k8s.preflight.trust import check_execution_role_trust

    role_name = cfg.execution_role_arn.rsplit("/", 1)[-1]
    trust = aws.role_trust_policy(role_name)
    if trust is None:
        return [
            Finding(
                "execution role exists",
                FAIL,
                f"role {role_name} does not exist",
                f"aws iam create-role --role-name {role_name} --path /service-role/ "
                "--assume-role-policy-document file://sagemaker-trust.json   "
                '# Principal {"Service": "sagemaker.amazonaws.com"}, Action sts:AssumeRole',
            )
        ]
    return check_execution_role_trust(trust, role_name)
