"""Does the operator's role allow the SageMaker calls its controllers make?

Passes outright when ``AmazonSageMakerFullAccess`` is attached (what the walkthrough does);
otherwise evaluates the given policy documents: an action counts as allowed when an Allow covers
it (wildcards such as ``sagemaker:*`` or ``sagemaker:Describe*`` honoured) and no unconditional
Deny on all resources does. Resource scoping is not evaluated: an Allow limited to some ARNs is
reported as allowing the action, since the ARNs of jobs not yet created cannot be known here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sagemaker_k8s.constants import SAGEMAKER_FULL_ACCESS_POLICY
from sagemaker_k8s.preflight.policy import (
    PolicyParseError,
    action_matches,
    as_list,
    effect,
    parse_policy,
    statements,
)
from sagemaker_k8s.preflight.report import FAIL, PASS, Finding

#: What the legacy controllers call (TrainingJob, HostingDeployment and its Model/EndpointConfig children).
OPERATOR_SAGEMAKER_ACTIONS = (
    "sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob",
    "sagemaker:CreateModel", "sagemaker:DeleteModel", "sagemaker:DescribeModel",
    "sagemaker:CreateEndpointConfig", "sagemaker:DeleteEndpointConfig", "sagemaker:DescribeEndpointConfig",
    "sagemaker:CreateEndpoint", "sagemaker:DeleteEndpoint", "sagemaker:DescribeEndpoint",
    "sagemaker:UpdateEndpoint",
)  # fmt: skip
#: What the HyperparameterTuningJob controller adds (tuning mode), and BatchTransformJob (batch scoring;
#: its Model CR needs only the Model actions above).
TUNING_SAGEMAKER_ACTIONS = (
    "sagemaker:CreateHyperParameterTuningJob", "sagemaker:DescribeHyperParameterTuningJob",
    "sagemaker:StopHyperParameterTuningJob", "sagemaker:ListTrainingJobsForHyperParameterTuningJob",
)  # fmt: skip
TRANSFORM_SAGEMAKER_ACTIONS = (
    "sagemaker:CreateTransformJob", "sagemaker:DescribeTransformJob", "sagemaker:StopTransformJob",
)  # fmt: skip
#: What the ACK controller calls for the same kinds (``pkg/resource/<kind>/sdk.go``): it also updates a
#: TrainingJob (warm pool, profiler) and creates everything with its resource tags, which SageMaker
#: authorizes as ``AddTags``. Its HyperParameterTuningJob lists no training jobs.
ACK_SAGEMAKER_ACTIONS = (
    "sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob",
    "sagemaker:UpdateTrainingJob",
    "sagemaker:CreateModel", "sagemaker:DeleteModel", "sagemaker:DescribeModel",
    "sagemaker:CreateEndpointConfig", "sagemaker:DeleteEndpointConfig", "sagemaker:DescribeEndpointConfig",
    "sagemaker:CreateEndpoint", "sagemaker:DeleteEndpoint", "sagemaker:DescribeEndpoint",
    "sagemaker:UpdateEndpoint", "sagemaker:AddTags",
)  # fmt: skip
ACK_TUNING_SAGEMAKER_ACTIONS = (
    "sagemaker:CreateHyperParameterTuningJob", "sagemaker:DescribeHyperParameterTuningJob",
    "sagemaker:StopHyperParameterTuningJob",
)  # fmt: skip
PASS_ROLE_ACTION = "iam:PassRole"  # noqa: S105 - an IAM action, not a secret


def operator_actions(
    *, tuning: bool = False, batch_scoring: bool = False, ack: bool = False
) -> tuple[str, ...]:
    """The SageMaker actions the operator (``ack``: the ACK controller) needs for a run that tunes
    and/or scores in batch."""
    return (
        *(ACK_SAGEMAKER_ACTIONS if ack else OPERATOR_SAGEMAKER_ACTIONS),
        *((ACK_TUNING_SAGEMAKER_ACTIONS if ack else TUNING_SAGEMAKER_ACTIONS) if tuning else ()),
        *(TRANSFORM_SAGEMAKER_ACTIONS if batch_scoring else ()),
    )


def full_access_arn(partition: str = "aws") -> str:
    return f"arn:{partition}:iam::aws:policy/{SAGEMAKER_FULL_ACCESS_POLICY}"


def _is_full_access(arn: str) -> bool:
    head, _, name = arn.partition(":iam::aws:policy/")
    return head.startswith("arn:aws") and name == SAGEMAKER_FULL_ACCESS_POLICY


def allowed_actions(
    documents: Iterable[Mapping[str, Any] | str], wanted: Iterable[str]
) -> tuple[set[str], list[str]]:
    """(the ``wanted`` actions the documents allow, notes about documents that could not be read)."""
    allows, denies, notes = [], [], []
    for n, document in enumerate(documents, 1):
        try:
            stmts = statements(parse_policy(document))
        except PolicyParseError as e:
            notes.append(f"policy document #{n} ignored: {e}")
            continue
        for s in stmts:
            if effect(s) == "Allow":
                allows.append(s)
            elif effect(s) == "Deny" and not s.get("Condition") and "*" in as_list(s.get("Resource")):
                denies.append(s)
    granted = {
        a
        for a in wanted
        if any(action_matches(s, a) for s in allows) and not any(action_matches(s, a) for s in denies)
    }
    return granted, notes


def check_sagemaker_permissions(
    attached_policy_arns: list[str],
    policy_documents: list[dict[str, Any]],
    *,
    role_name: str | None = None,
    partition: str = "aws",
    actions: tuple[str, ...] = OPERATOR_SAGEMAKER_ACTIONS,
    label: str = "operator",
) -> list[Finding]:
    """Findings for the SageMaker actions and ``iam:PassRole`` the ``label`` (operator, ACK controller)
    needs; the fix attaches the managed policy of the role's ``partition`` (``aws``, ``aws-cn``,
    ``aws-us-gov``)."""
    check_sm, check_pass = f"{label} permissions: SageMaker API", f"{label} permissions: iam:PassRole"
    fix = (
        f"aws iam attach-role-policy --role-name {role_name or '<role-name>'} "
        f"--policy-arn {full_access_arn(partition)}"
    )
    if any(isinstance(a, str) and _is_full_access(a) for a in attached_policy_arns):
        detail = f"{SAGEMAKER_FULL_ACCESS_POLICY} is attached"
        return [Finding(check_sm, PASS, detail), Finding(check_pass, PASS, detail)]
    granted, notes = allowed_actions(policy_documents, (*actions, PASS_ROLE_ACTION))
    suffix = f" ({'; '.join(notes)})" if notes else ""
    missing = [a for a in actions if a not in granted]
    findings = [
        Finding(check_sm, FAIL, f"not allowed: {', '.join(missing)}{suffix}", fix)
        if missing
        else Finding(check_sm, PASS, f"all {len(actions)} SageMaker actions allowed{suffix}"),
    ]
    if PASS_ROLE_ACTION in granted:
        findings.append(
            Finding(check_pass, PASS, "iam:PassRole allowed (needed to hand the execution role to SageMaker)")
        )
    else:
        findings.append(
            Finding(
                check_pass,
                FAIL,
                f"iam:PassRole is not allowed; SageMaker cannot receive the execution role{suffix}",
                fix,
            )
        )
    return findings
