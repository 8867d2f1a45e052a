"""Wait for the tuning job CR to finish: deferrable by default, also poke/reschedule.

Every poll logs the tuning job's progress (training jobs completed / in progress / errors / stopped,
the best job so far): from the legacy CR's ``status.trainingJobStatusCounters``; ACK's status has no
counters, so there they come from DescribeHyperParameterTuningJob. Success pushes the best training
job as the challenger, with exactly the keys of the training sensor's result (``name``: the best
SageMaker training job's name -- on legacy also its child TrainingJob CR's, while ACK creates no
child CRs; ``model_path``; ``metrics``), plus ``tuning``: the tuning job, its objective value (from
SageMaker, for both flavours), the tuned hyperparameters and the counters -- the same dict on both
flavours. ``Failed``/``Stopped`` raise `TerminalStateError` (no retry) with SageMaker's reason;
``Completed`` without a best job fails too. The overall timeout is the submit task's
``max_runtime_seconds`` (the whole tuning job) plus ``timeout_slack``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk.exceptions import AirflowFailException

from sagemaker_k8s.resource_task import FlavourKind
from sagemaker_k8s.sensors.resource import CustomResourceWaitSensor

# Imported at DAG parse time: the tuning helpers and the hooks are imported where used.


class SageMakerK8sTuningSensor(CustomResourceWaitSensor):
    """:param tuning: the submit task's XCom (``{"name", "namespace", "job_name", "region",
    "max_runtime_seconds", "s3_output_path", "objective", ...}``)."""

    template_fields: Sequence[str] = ("tuning",)
    kind = FlavourKind("tuning")
    kill_effect = "the controller stops the tuning job and its training jobs"

    def __init__(self, *, tuning: dict | Any, **kwargs) -> None:
        super().__init__(**kwargs)
        self.tuning = tuning

    @property
    def submitted(self) -> dict:
        return self.tuning

    def progress(self, status: dict) -> str:
        return self._render(status, self._described_counters() if self.flavour == "ack" else None)

    def _render(self, status: dict, counters: dict | None) -> str:
        """The progress line; ``counters`` (DescribeHyperParameterTuningJob's) are used on ACK only."""
        from sagemaker_k8s.manifests.tuning import render_ack_progress, render_progress

        return render_ack_progress(status, counters) if self.flavour == "ack" else render_progress(status)

    def _described_counters(self) -> dict | None:
        """SageMaker's counters for the progress line (None before the job exists or if it cannot say)."""
        from sagemaker_k8s.exceptions import SageMakerApiError, SageMakerJobNotFound

        try:
            return self.aws.tuning_result(self.tuning["job_name"])["counters"]
        except SageMakerJobNotFound:
            return None
        except SageMakerApiError as e:
            self.log.warning("no training job counters this poll: %s", e)
            return None

    def _finish(self, status: dict) -> dict:
        """The best training job as the challenger, from the Completed CR's status and SageMaker."""
        from sagemaker_k8s.manifests.tuning import best_model_uri

        name, namespace = self._target
        job_name = status.get("sageMakerHyperParameterTuningJobName") or self.tuning["job_name"]
        result = self.aws.tuning_result(job_name)
        self.log.info(
            "%s %s/%s: %s", self.kind.kind, namespace, name, self._render(status, result["counters"])
        )
        cr_best = (status.get("bestTrainingJob") or {}).get("trainingJobName")
        best = result["best_training_job"] or cr_best
        if not best:
            raise AirflowFailException(
                f"tuning job {job_name} is {result['status']} but has no best training job: no training job "
                f"reported the objective metric {result['objective']['name']!r} "
                f"(training jobs: {result['counters']})"
            )
        metrics = self.aws.final_metrics(best)
        known = {k: v for k, v in result["objective"].items() if v is not None}
        objective = {**(self.tuning.get("objective") or {}), **known}
        if objective.get("value") is None:
            objective["value"] = metrics.get(objective.get("name"))
        if objective.get("value") is None:
            raise AirflowFailException(
                f"tuning job {job_name}: best training job {best} has no value for the objective metric "
                f"{objective.get('name')!r} (its final metrics: {sorted(metrics)})"
            )
        tuning = {
            "name": name,
            "job_name": job_name,
            "objective": {
                "name": objective.get("name"),
                "type": objective.get("type"),
                "value": objective["value"],
            },
            "hyperparameters": result["hyperparameters"],
            "counters": result["counters"],
            "best_training_job": best,
        }
        challenger = {
            "name": best,  # legacy: the child TrainingJob CR, named after the job; ACK has no child CRs
            "namespace": namespace,
            "job_name": best,
            "model_path": best_model_uri(self.tuning["s3_output_path"], best),
            "metrics": metrics,
            "tuning": tuning,
        }
        self.log.info(
            "tuning %s completed: best training job %s (%s %s), hyperparameters %s, model %s",
            job_name, best, objective.get("name"), objective["value"], result["hyperparameters"],
            challenger["model_path"],
        )  # fmt: skip
        return challenger
