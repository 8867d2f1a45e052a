"""Train once or tune: the branch after the dataset upload, visible in the UI graph."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.bases.branch import BranchMixIn


class SageMakerK8sTrainingModeOperator(BaseOperator, BranchMixIn):
    """Branch to ``train_task_id`` when the run's ``tuning`` param is null, else to ``tune_task_id``."""

    template_fields: Sequence[str] = ("config",)
    inherits_from_skipmixin = True
    ui_color = "#e8dcf5"

    def __init__(self, *, config: dict | Any, train_task_id: str, tune_task_id: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.config = config
        self.train_task_id = train_task_id
        self.tune_task_id = tune_task_id

    def execute(self, context) -> Any:
        from sagemaker_k8s.config.run_config import RunConfig

        tuning = RunConfig.from_dict(self.config).tuning
        if tuning is None:
            self.log.info("tuning is null: training one model")
            return self.do_branch(context, self.train_task_id)
        ranges = ", ".join(f"{k} [{v['min']:g}, {v['max']:g}]" for k, v in sorted(tuning["ranges"].items()))
        self.log.info(
            "tuning: %s training jobs, %s at a time, %s search, %s %s; ranges %s",
            tuning["max_jobs"], tuning["max_parallel"], tuning["strategy"], tuning["objective_type"],
            tuning["objective_metric"], ranges,
        )  # fmt: skip
        return self.do_branch(context, self.tune_task_id)
