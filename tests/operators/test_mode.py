"""The train-or-tune branch on its config alone (no servers)."""

from __future__ import annotations

import pytest

from sagemaker_k8s.exceptions import ConfigError
from sagemaker_k8s.operators.mode import SageMakerK8sTrainingModeOperator
from tests.operators.fakes import config, context


@pytest.mark.parametrize(
    ("tuning", "branch"),
    [
        (None, "submit_training"),
        ({}, "submit_tuning"),
        ({"max_jobs": 2, "strategy": "Random"}, "submit_tuning"),
    ],
)
def test_branches_on_the_tuning_param(tuning, branch, caplog):
    op = SageMakerK8sTrainingModeOperator(
        task_id="choose_training",
        config=config(tuning=tuning),
        train_task_id="submit_training",
        tune_task_id="submit_tuning",
    )
    op.do_branch = lambda context, chosen: chosen  # the real one skips through the task runner
    assert op.execute(context()) == branch


def test_an_invalid_config_from_xcom_is_refused_before_branching():
    bad = {**config(), "tuning": {"max_jobs": 0}}
    op = SageMakerK8sTrainingModeOperator(
        task_id="choose_training", config=bad, train_task_id="t", tune_task_id="u"
    )
    with pytest.raises(ConfigError, match="tuning"):
        op.execute(context())
