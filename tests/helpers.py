"""Small helpers shared by test modules (import as ``from helpers import wait_for``)."""

from __future__ import annotations

import functools

#: The tuning branch, skipped by ``choose_training`` in a run without ``tuning`` (its cleanup skips too).
TUNING_BRANCH = ("submit_tuning", "wait_tuning", "cleanup_tuning")
#: What a first, untuned run that promotes skips: the other gate branch, the rollback, the tuning branch.
SKIPPED_IN_A_FIRST_RUN = frozenset({"keep_champion", "rollback_endpoint", *TUNING_BRANCH})


def wait_for(predicate, timeout: float = 60.0, interval: float = 0.05, what: str = "condition"):
    """Poll ``predicate`` until it returns a truthy value; fail with ``what`` after ``timeout``."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def dag_task_ids() -> set[str]:
    """The pipeline DAG's task ids, read from the DAG file itself (parsed once per process)."""
    return set(_parsed_task_ids())


@functools.cache
def _parsed_task_ids() -> frozenset[str]:
    from pathlib import Path

    from airflow.dag_processing.dagbag import DagBag

    from devtools.airflow_runs import DAG_ID

    dags = Path(__file__).resolve().parents[1] / "dags"
    return frozenset(DagBag(dag_folder=str(dags)).dags[DAG_ID].task_ids)


def listening_addresses(pids) -> list[tuple[str, bool]]:
    """(local address as the kernel writes it in hex, is_loopback) of every TCP socket in LISTEN state
    held by the processes ``pids`` (read from /proc: no extra tool needed)."""
    import os
    from pathlib import Path

    inodes = set()
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    found = []
    for table, loopback in (("/proc/net/tcp", _is_loopback_v4), ("/proc/net/tcp6", _is_loopback_v6)):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # TCP_LISTEN
                address = fields[1].split(":")[0].upper()
                found.append((address, loopback(address)))
    return found


def _is_loopback_v4(address: str) -> bool:
    return address.endswith("7F")  # 127.x.x.x, little-endian


def _is_loopback_v6(address: str) -> bool:
    return address in {"00000000000000000000000001000000", "0000000000000000FFFF00000100007F"}


def aws(sandbox, service: str, *, retries: bool = True):
    """A boto3 client for the sandbox's moto server (dummy credentials). ``retries=False``: one
    attempt per call, for tests that must see the first error."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        endpoint_url=sandbox.info.aws_endpoint_url,
        region_name=sandbox.info.region,
        aws_access_key_id="test",
        aws_secret_access_key="test",  # noqa: S106 - moto
        config=None if retries else Config(retries={"total_max_attempts": 1}),
    )
