"""Watching a DAG run through the REST API while it runs (what the UI shows, polled)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from devtools.airflow_api import TERMINAL_RUN_STATES, AirflowApi
from devtools.airflow_runs import DAG_ID

ARTIFACTS = Path(__file__).resolve().parents[2] / ".artifacts" / "runtime"


@dataclass
class Watched:
    run: dict
    # every (task_id, state, triggerer_job_id) seen while polling, in order of first sight
    seen: list[tuple[str, str, int | None]] = field(default_factory=list)

    def states(self, task_id: str) -> list[str]:
        return [state for task, state, _ in self.seen if task == task_id]

    def triggerer_jobs(self, task_id: str) -> set[int]:
        return {job for task, state, job in self.seen if task == task_id and job is not None}


def watch_run(
    api: AirflowApi,
    run_id: str,
    timeout: float = 600,
    interval: float = 0.3,
    on_poll: Callable[[Watched], None] | None = None,
) -> Watched:
    """Poll the run and its task instances until the run ends; ``on_poll`` sees every observation."""
    deadline = time.monotonic() + timeout
    watched = Watched(run={})
    while True:
        run = api.run(DAG_ID, run_id)
        for task_id, ti in api.task_instances(DAG_ID, run_id).items():
            job = (ti.get("triggerer_job") or {}).get("id")
            key = (task_id, ti["state"], job)
            if key not in watched.seen:
                watched.seen.append(key)
        if on_poll is not None:
            on_poll(watched)
        if run["state"] in TERMINAL_RUN_STATES:
            watched.run = run
            return watched
        if time.monotonic() > deadline:
            raise TimeoutError(f"run {run_id} still {run['state']} after {timeout}s; seen {watched.seen}")
        time.sleep(interval)
