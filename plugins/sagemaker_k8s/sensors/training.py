"""Wait for the TrainingJob CR to finish: deferrable by default, also poke/reschedule.

Success pushes the SageMaker job name, the model artifact and the final metrics to XCom: legacy's
``status.modelPath``, ACK's ``status.modelArtifacts.s3ModelArtifacts`` (SageMaker's own). ACK's
status carries no metrics, so both flavours read them from DescribeTrainingJob.
``Failed``/``Stopped`` raise `TerminalStateError` (no retry) with the failure reason;
no status within ``ack_timeout`` means the operator is not reconciling; ``ReconcilingTrainingJob``
for longer than ``reconciling_timeout`` fails with its message. The overall timeout is the spec's
``maxRuntimeInSeconds`` plus ``timeout_slack``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sagemaker_k8s.resource_task import FlavourKind
from sagemaker_k8s.sensors.resource import CustomResourceWaitSensor


class SageMakerK8sTrainingSensor(CustomResourceWaitSensor):
    """:param training: the submit task's XCom (``{"name", "namespace", "job_name", "region", ...}``)."""

    template_fields: Sequence[str] = ("training",)
    kind = FlavourKind("training")

    def __init__(self, *, training: dict | Any, **kwargs) -> None:
        super().__init__(**kwargs)
        self.training = training

    @property
    def submitted(self) -> dict:
        return self.training

    def progress(self, status: dict) -> str:
        return f"{status.get('trainingJobStatus', '(no status yet)')} {status.get('secondaryStatus', '')}"

    def _finish(self, status: dict) -> dict:
        job_name = status.get("sageMakerTrainingJobName") or self.training["job_name"]
        if self.flavour == "ack":
            model_path = (status.get("modelArtifacts") or {}).get("s3ModelArtifacts")
        else:
            model_path = status.get("modelPath")
        metrics = self.aws.final_metrics(job_name)
        result = {
            "name": self.training["name"],
            "namespace": self.training["namespace"],
            "job_name": job_name,
            "model_path": model_path,
            "metrics": metrics,
        }
        self.log.info("training %s completed: model %s, metrics %s", job_name, result["model_path"], metrics)
        return result
