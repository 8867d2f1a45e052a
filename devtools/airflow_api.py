"""A small client of Airflow 3's public REST API (``/api/v2``) for the runtime tests and scripts.

Authenticates with the simple auth manager (``POST /auth/token`` → JWT). Only the calls the tests
and ``make airflow`` need: DAG lookup/pause, trigger, runs, task instances, log text.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

TERMINAL_RUN_STATES = frozenset({"success", "failed"})


class AirflowApiError(RuntimeError):
    def __init__(self, status: int, method: str, path: str, body: str) -> None:
        super().__init__(f"{method} {path} -> HTTP {status}: {body[:500]}")
        self.status = status
        self.body = body


class AirflowApi:
    def __init__(self, base_url: str, username: str, password: str) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be http(s)://…, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self._username = username
        self._password = password
        self._token: str | None = None

    def _request(self, method: str, path: str, body: Any = None, *, auth: bool = True) -> Any:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token()}"
        data = None if body is None else json.dumps(body).encode()
        url = self.base_url + path
        req = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - base_url is http(s)
                raw = resp.read().decode()
        except urllib.error.HTTPError as e:
            raise AirflowApiError(e.code, method, path, e.read().decode(errors="replace")) from None
        ctype = resp.headers.get("Content-Type", "")
        return json.loads(raw) if raw and "json" in ctype else raw

    def token(self) -> str:
        if self._token is None:
            answer = self._request(
                "POST", "/auth/token", {"username": self._username, "password": self._password}, auth=False
            )
            self._token = answer["access_token"]
        return self._token

    # -- DAGs ------------------------------------------------------------------------------------
    def dag(self, dag_id: str) -> dict:
        return self._request("GET", f"/api/v2/dags/{dag_id}")

    def wait_dag(self, dag_id: str, timeout: float = 120) -> dict:
        """Wait until the dag-processor has parsed and serialized ``dag_id``."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.dag(dag_id)
            except AirflowApiError as e:
                if e.status != 404 or time.monotonic() > deadline:
                    raise
            time.sleep(0.5)

    def set_paused(self, dag_id: str, paused: bool) -> dict:
        return self._request("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": paused})

    # -- runs ------------------------------------------------------------------------------------
    def trigger(self, dag_id: str, conf: dict | None = None, run_id: str | None = None) -> dict:
        body: dict[str, Any] = {"logical_date": None, "conf": conf or {}}
        if run_id:
            body["dag_run_id"] = run_id
        return self._request("POST", f"/api/v2/dags/{dag_id}/dagRuns", body)

    def runs(self, dag_id: str) -> list[dict]:
        return self._request("GET", f"/api/v2/dags/{dag_id}/dagRuns?limit=100&order_by=id")["dag_runs"]

    def run(self, dag_id: str, run_id: str) -> dict:
        return self._request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id, safe='')}")

    def wait_run(self, dag_id: str, run_id: str, timeout: float = 600, interval: float = 1) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            run = self.run(dag_id, run_id)
            if run["state"] in TERMINAL_RUN_STATES:
                return run
            if time.monotonic() > deadline:
                raise TimeoutError(f"run {run_id} still {run['state']} after {timeout}s")
            time.sleep(interval)

    def set_run_state(self, dag_id: str, run_id: str, state: str) -> dict:
        """Mark a run ``failed`` or ``success``, as the UI's Mark as … buttons do (its unfinished task
        instances with it)."""
        quoted = urllib.parse.quote(run_id, safe="")
        return self._request("PATCH", f"/api/v2/dags/{dag_id}/dagRuns/{quoted}", {"state": state})

    def task_instances(self, dag_id: str, run_id: str) -> dict[str, dict]:
        quoted = urllib.parse.quote(run_id, safe="")
        answer = self._request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{quoted}/taskInstances?limit=100")
        return {ti["task_id"]: ti for ti in answer["task_instances"]}

    def set_task_state(self, dag_id: str, run_id: str, task_id: str, state: str) -> Any:
        quoted = urllib.parse.quote(run_id, safe="")
        return self._request(
            "PATCH", f"/api/v2/dags/{dag_id}/dagRuns/{quoted}/taskInstances/{task_id}", {"new_state": state}
        )

    def clear(self, dag_id: str, run_id: str, task_ids: list[str], *, include_downstream: bool = True) -> Any:
        """Clear task instances of one run, as the UI's Clear button does (running ones included)."""
        body = {
            "dry_run": False,
            "dag_run_id": run_id,
            "task_ids": task_ids,
            "only_failed": False,
            "include_downstream": include_downstream,
            "reset_dag_runs": True,
        }
        return self._request("POST", f"/api/v2/dags/{dag_id}/clearTaskInstances", body)

    def hitl_detail(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> dict:
        """What a human-in-the-loop task asks (subject, body, options) and any answer it got."""
        quoted = urllib.parse.quote(run_id, safe="")
        path = f"/api/v2/dags/{dag_id}/dagRuns/{quoted}/taskInstances/{task_id}/{map_index}/hitlDetails"
        return self._request("GET", path)

    def respond(
        self, dag_id: str, run_id: str, task_id: str, options: list[str], map_index: int = -1
    ) -> dict:
        """Answer a human-in-the-loop task, as a person does with the UI's buttons."""
        quoted = urllib.parse.quote(run_id, safe="")
        path = f"/api/v2/dags/{dag_id}/dagRuns/{quoted}/taskInstances/{task_id}/{map_index}/hitlDetails"
        return self._request("PATCH", path, {"chosen_options": options, "params_input": {}})

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        quoted = urllib.parse.quote(run_id, safe="")
        path = f"/api/v2/dags/{dag_id}/dagRuns/{quoted}/taskInstances/{task_id}/xcomEntries/{key}"
        return self._request("GET", path + "?deserialize=true&stringify=false")["value"]

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
        quoted = urllib.parse.quote(run_id, safe="")
        answer = self._request(
            "GET", f"/api/v2/dags/{dag_id}/dagRuns/{quoted}/taskInstances/{task_id}/logs/{try_number}"
        )
        content = answer.get("content", []) if isinstance(answer, dict) else answer
        if isinstance(content, list):
            return "\n".join(_log_line(c) for c in content)
        return str(content)


def _log_line(entry: Any) -> str:
    """One structured log entry as the UI shows it: the event, then any exception's type and message."""
    if not isinstance(entry, dict):
        return str(entry)
    errors = [e for e in entry.get("error_detail") or [] if isinstance(e, dict)]
    return "\n".join(
        [entry.get("event", ""), *(f"{e.get('exc_type')}: {e.get('exc_value')}" for e in errors)]
    )
