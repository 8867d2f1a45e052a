"""The TrainingJob resource manager (``pkg/resource/training_job/hooks.go``, ``custom_update.go`` and the
generated ``sdkUpdate``).

Status: ``trainingJobStatus``, ``secondaryStatus``, ``failureReason``, ``modelArtifacts.s3ModelArtifacts``,
``creationTime``, ``lastModifiedTime``, ``warmPoolStatus``, ``profilingStatus`` and the Debugger/Profiler rule
evaluation statuses, all from DescribeTrainingJob. ResourceSynced (``customSetOutput``): False while the job
is InProgress ("TrainingJob is in InProgress status."); else False while a Debugger rule evaluation is
InProgress/Stopping ("DebugRule is in InProgress status."), or a Profiler rule's while profiling is not
Disabled ("ProfilerRule is ..."); else from the job's status (True for Completed, Failed, Stopped).

The simulator runs no rule evaluations, so the emulator reports them: each configured rule is InProgress
while the job runs and for ``rule_passes`` reconciles after it completed (then NoIssuesFound; Stopped if the
job did not complete). The ``rules-pending`` fault keeps them InProgress (adding SageMaker's default
``ProfilerReport`` rule to a job that configures none).

Updates (``sdkUpdate``): only the warm pool (``resourceConfig.keepAlivePeriodInSeconds``) or the profiler
(``profilerConfig``, ``profilerRuleConfigurations``) -- anything else is Terminal "only Warm Pool or
Profiler can be updated", both at once "cannot update Warm pool and Profiler at the same time"; while the
secondary status is Starting it requeues; a warm pool needs one configured at creation and a Completed job
(``isWarmPoolUpdatable``), a profiler an InProgress one (``isProfilerUpdatable``). The simulator has no
UpdateTrainingJob: an update that passes those checks gets moto's answer.
"""

from __future__ import annotations

from .convert import now, request
from .errors import RequeueError, TerminalError
from .managers import JobManager
from .reconcile import Pass

RULE_ACTIVE = frozenset({"InProgress", "Stopping"})
TERMINAL_FOR_PROFILER = frozenset({"Completed", "Failed", "Stopping", "Stopped"})
WARM_POOL = "resourceConfig.keepAlivePeriodInSeconds"
PROFILER = ("profilerConfig", "profilerRuleConfigurations")


class TrainingJobManager(JobManager):
    def observe(self, p: Pass, described: dict) -> None:
        super().observe(p, described)
        self._rules(p, described)
        self.set_synced(p, described)  # again, now that the rule statuses are known

    def set_synced(self, p: Pass, described: dict) -> None:
        status = p.status.get("trainingJobStatus")
        if status == "InProgress":
            p.conds.synced_by_status("TrainingJob", status, self.kind.modifying)
            return
        for rule in p.status.get("debugRuleEvaluationStatuses") or []:
            if rule.get("ruleEvaluationStatus") in RULE_ACTIVE:
                p.conds.synced_by_status("DebugRule", rule["ruleEvaluationStatus"], RULE_ACTIVE)
                return
        if p.status.get("profilingStatus") not in (None, "Disabled"):
            for rule in p.status.get("profilerRuleEvaluationStatuses") or []:
                if rule.get("ruleEvaluationStatus") in RULE_ACTIVE:
                    p.conds.synced_by_status("ProfilerRule", rule["ruleEvaluationStatus"], RULE_ACTIVE)
                    return
        p.conds.synced_by_status("TrainingJob", status, self.kind.modifying)

    def _rules(self, p: Pass, described: dict) -> None:
        """The rule evaluation statuses SageMaker would report (see the module docstring)."""
        debug = [r["ruleConfigurationName"] for r in p.spec.get("debugRuleConfigurations") or []]
        profiler = [r["ruleConfigurationName"] for r in p.spec.get("profilerRuleConfigurations") or []]
        pending = p.fault is not None and p.fault.action == "rules-pending"
        if pending and not debug and not profiler:
            profiler = ["ProfilerReport"]
        if not debug and not profiler:
            return
        job = described.get("TrainingJobStatus")
        if job in ("InProgress", "Stopping") or pending:
            rule_status = "InProgress"
        elif job == "Completed":
            seen = p.ctl.rule_passes_seen[p.uid] = p.ctl.rule_passes_seen.get(p.uid, 0) + 1
            rule_status = "InProgress" if seen <= p.ctl.rule_passes else "NoIssuesFound"
        else:
            rule_status = "Stopped"
        stamp = p.status.get("lastModifiedTime") or now()
        region, account = p.region, p.ctl.account

        def statuses(names: list[str], kind: str) -> list[dict]:
            return [
                {
                    "ruleConfigurationName": name,
                    "ruleEvaluationJobARN": f"arn:aws:sagemaker:{region}:{account}:processing-job/"
                    f"{p.name[:26]}-{name[:10]}-{kind}".lower(),
                    "ruleEvaluationStatus": rule_status,
                    "lastModifiedTime": stamp,
                }
                for name in names
            ]

        if debug:
            p.status["debugRuleEvaluationStatuses"] = statuses(debug, "debug")
        if profiler:
            p.status["profilerRuleEvaluationStatuses"] = statuses(profiler, "profiler")
            disabled = (p.spec.get("profilerConfig") or {}).get("disableProfiler")
            p.status["profilingStatus"] = "Disabled" if disabled else "Enabled"

    def update(self, p: Pass, latest: dict, paths: list[str]) -> None:
        warm_pool = any(x == WARM_POOL or x.startswith(WARM_POOL + ".") for x in paths)
        profiler = any(x.split(".")[0] in PROFILER for x in paths)
        if warm_pool and profiler:
            raise TerminalError("cannot update Warm pool and Profiler at the same time")
        if not warm_pool and not profiler:
            raise TerminalError("only Warm Pool or Profiler can be updated")
        status, secondary = latest.get("TrainingJobStatus"), latest.get("SecondaryStatus")
        if secondary == "Starting":
            raise RequeueError("training job cannot be updated while secondary status is in Starting state.")
        if warm_pool:
            self._check_warm_pool(p, latest)
        elif status in TERMINAL_FOR_PROFILER:
            raise TerminalError("profiler can only be updated when Training Job is in InProgress state")
        body = {k: v for k, v in p.spec.items() if k in ("trainingJobName", "resourceConfig", *PROFILER)}
        p.call("UpdateTrainingJob", **request("UpdateTrainingJob", body))
        p.remember_spec()
        raise RequeueError("training job is updating")

    @staticmethod
    def _check_warm_pool(p: Pass, latest: dict) -> None:
        """``isWarmPoolUpdatable``."""
        before = p.ctl.baselines.get(p.uid, {}).get("resourceConfig") or {}
        if before.get("keepAlivePeriodInSeconds") is None:
            raise TerminalError("warm pool does not exist and can only be configured at creation time")
        waiting = RequeueError(
            "warm pool cannot be updated while TrainingJob status is InProgress, "
            "requeuing until TrainingJob completes."
        )
        status = latest.get("TrainingJobStatus")
        if status == "InProgress":
            raise waiting
        if status == "Completed":
            pool = (latest.get("WarmPoolStatus") or {}).get("Status")
            if pool is None:
                raise waiting
            if pool not in ("Available", "InUse"):
                raise TerminalError("warm pool cannot be updated if has been terminated or reused")
            return
        raise TerminalError(
            "warm pool can only be updated if TrainingJob status is Completed. Warm pool will be terminated "
            "automatically if trainingjob has not completed successfully"
        )
