"""``devtools.airflow_api`` without a server: how structured task-log entries read as text. The REST
calls themselves are exercised by every test in ``tests/runtime``."""

from __future__ import annotations

import pytest

from devtools.airflow_api import _log_line


@pytest.mark.parametrize(
    ("entry", "text"),
    [
        ({"event": "Trigger fired event", "level": "info"}, "Trigger fired event"),
        ("a plain line", "a plain line"),
        (
            {
                "event": "Task failed with exception",
                "error_detail": [
                    {"exc_type": "AirflowFailException", "exc_value": "TrainingJob ns/tj was deleted"},
                    {"exc_type": "KubeNotFound", "exc_value": "404", "is_cause": True},
                ],
            },
            "Task failed with exception\n"
            "AirflowFailException: TrainingJob ns/tj was deleted\n"
            "KubeNotFound: 404",
        ),
        ({"event": "x", "error_detail": None}, "x"),
        ({"level": "info"}, ""),
    ],
)
def test_log_line(entry, text):
    assert _log_line(entry) == text
