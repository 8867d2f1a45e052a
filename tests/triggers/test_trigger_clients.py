"""`SageMakerK8sResourceTrigger` waits on the shared client with exec-plugin credentials, against the
sandbox's API emulator over TLS: many triggers in one loop share one client and one token, a token
expiring mid-wait (announced or only discovered by a 401) is replaced without failing the wait, cancelled
triggers leave no connection open, and runs like ``airflow dags test``'s (each trigger under its own
``asyncio.run``) run the plugin the same number of times however long the jobs take."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Iterator

import pytest

from sagemaker_k8s.hooks import client_cache
from sagemaker_k8s.hooks.kubernetes import SageMakerK8sHook
from sagemaker_k8s.manifests.flavours import LEGACY_TRAINING_JOB as TJ
from sagemaker_k8s.manifests.waiting import SUCCESS
from sagemaker_k8s.triggers.resource import SageMakerK8sResourceTrigger
from tests.helpers import wait_for
from tests.hooks.exec_auth import (
    ExecConnection,
    client_sockets,
    cr_requests,
    exec_connection,
    quiet_sandbox,
    set_status,
)

WAITS = 50


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Iterator:
    with quiet_sandbox(tmp_path_factory.mktemp("trigger-clients") / "sandbox") as sb:
        yield sb


@pytest.fixture(autouse=True)
def clean_slate(sandbox) -> Iterator[None]:
    for i in range(WAITS):
        set_status(sandbox, f"wait-{i}")
    sandbox.kube.clear_requests()
    yield
    sandbox.kube.faults.clear()


@pytest.fixture
def conn(sandbox, tmp_path, monkeypatch) -> ExecConnection:
    return exec_connection(sandbox, tmp_path, monkeypatch)


def trigger(
    sandbox, conn: ExecConnection, name: str, poll_interval: float = 0.05
) -> SageMakerK8sResourceTrigger:
    return SageMakerK8sResourceTrigger(
        api_version=TJ.api_version,
        kind=TJ.kind,
        name=name,
        namespace=sandbox.info.namespace,
        kubernetes_conn_id=conn.conn_id,
        poll_interval=poll_interval,
    )


async def first_event(trigger: SageMakerK8sResourceTrigger) -> dict:
    async for event in trigger.run():
        return event.payload
    raise AssertionError("run() ended without an event")


async def until(predicate, timeout: float, what: str) -> None:
    """Poll ``predicate`` (in a thread: it may read the request log) without blocking the loop."""
    await asyncio.to_thread(wait_for, predicate, timeout, 0.02, what)


def polls(sandbox, name: str) -> int:
    return sum(1 for r in cr_requests(sandbox, name) if r.status == 200)


def test_many_triggers_share_one_client_and_one_token(sandbox, conn):
    async def scenario():
        tasks = [asyncio.create_task(first_event(trigger(sandbox, conn, f"wait-{i}"))) for i in range(WAITS)]
        await until(lambda: all(polls(sandbox, f"wait-{i}") >= 3 for i in range(WAITS)), 60, "3 polls each")
        assert not any(task.done() for task in tasks), "every wait is still waiting"
        clients = client_cache.loop_clients()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return clients

    clients = asyncio.run(scenario())
    assert len(clients) == 1
    assert conn.invocations() == 1, f"one token for {len(cr_requests(sandbox))} polls"


def test_cancelled_triggers_leave_no_open_connections(sandbox, conn):
    port, hung = sandbox.kube.secure_port, 20
    sandbox.kube.faults.add(method="GET", path_regex=rf"/{TJ.plural}/wait-", status=None, delay_seconds=60)

    async def scenario():
        tasks = [asyncio.create_task(first_event(trigger(sandbox, conn, f"wait-{i}"))) for i in range(hung)]
        await until(
            lambda: sum(r.status is None for r in cr_requests(sandbox)) == hung, 30, "20 requests in flight"
        )
        (client,) = client_cache.loop_clients()
        assert len(client.connector._acquired) == hung and client_sockets(port) == hung
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        assert not client.connector._acquired, "no connection is left checked out of the pool"
        await until(lambda: client_sockets(port) == 0, 10, "the cancelled requests' sockets to close")
        assert sum(len(idle) for idle in client.connector._conns.values()) == 0

        sandbox.kube.faults.clear()  # the client is still good for the waits that come next
        set_status(sandbox, "wait-0", "Completed")
        event = await first_event(trigger(sandbox, conn, "wait-0"))
        assert client_cache.loop_clients() == [client]
        return event, client

    event, client = asyncio.run(scenario())
    assert event["status"] == SUCCESS
    assert client.api_client.rest_client.pool_manager.closed
    wait_for(lambda: client_sockets(port) == 0, timeout=10, what="the pool's sockets to close with the loop")


@pytest.mark.parametrize("report_expiry", [True, False], ids=["expiry-announced", "expiry-found-by-401"])
def test_token_expiry_mid_wait_is_refreshed_without_failing_the_wait(
    sandbox, tmp_path, monkeypatch, report_expiry
):
    conn = exec_connection(sandbox, tmp_path, monkeypatch, token_ttl=1.0, report_expiry=report_expiry)

    async def scenario():
        started = time.monotonic()
        waiting = asyncio.create_task(first_event(trigger(sandbox, conn, "wait-0")))
        await until(lambda: conn.invocations() >= 4, 30, "three token renewals")
        assert not waiting.done(), "the wait goes on through expired tokens"
        set_status(sandbox, "wait-0", "Completed")
        return await asyncio.wait_for(waiting, 30), time.monotonic() - started

    event, elapsed = asyncio.run(scenario())
    assert event["status"] == SUCCESS, event
    codes = [r.status for r in cr_requests(sandbox, "wait-0")]
    rejected, runs = codes.count(401), conn.invocations()
    if report_expiry:  # replaced shortly before it expires: about one token per lifetime
        assert runs <= elapsed / 0.9 + 2, (runs, elapsed)
    else:  # replaced when the server rejects it: exactly one new token per 401, each call retried once
        assert rejected >= 3 and runs == rejected + 1, (rejected, runs)
        assert all(after == 200 for before, after in itertools.pairwise(codes) if before == 401)
    assert codes.count(200) > runs, "several polls per token"


def test_transient_errors_mid_wait_are_retried_on_the_shared_client(sandbox, conn):
    async def scenario():
        waiting = asyncio.create_task(first_event(trigger(sandbox, conn, "wait-0")))
        await until(lambda: polls(sandbox, "wait-0") >= 2, 30, "two polls")
        rule = sandbox.kube.faults.add(method="GET", path_regex=r"/wait-0$", status=503, count=3)
        await until(
            lambda: sandbox.kube.faults.hits(rule) == 3 and polls(sandbox, "wait-0") >= 3, 30, "3 faults"
        )
        assert not waiting.done()
        set_status(sandbox, "wait-0", "Completed")
        return await asyncio.wait_for(waiting, 30)

    assert asyncio.run(scenario())["status"] == SUCCESS
    assert conn.invocations() == 1


def run_like_dags_test(sandbox, conn: ExecConnection, polls_per_wait: int) -> None:
    """Two waits one after the other, each under its own ``asyncio.run`` as ``airflow dags test`` runs
    triggers (``InProcessTestSupervisor.run_trigger_in_process``), with sync hook calls in between as
    the tasks make; each job completes once its trigger has polled it ``polls_per_wait`` times."""
    namespace = sandbox.info.namespace
    for name in ("wait-0", "wait-1"):
        SageMakerK8sHook(conn.conn_id).get(TJ, name, namespace)  # the task before deferring

        def complete_later(name=name):
            wait_for(lambda: polls(sandbox, name) >= polls_per_wait, 60, 0.01, f"{polls_per_wait} polls")
            set_status(sandbox, name, "Completed")

        finisher = threading.Thread(target=complete_later)
        finisher.start()
        event = asyncio.run(anext(trigger(sandbox, conn, name, poll_interval=0.02).run(), None))
        finisher.join(60)
        assert event is not None and event.payload["status"] == SUCCESS
        SageMakerK8sHook(conn.conn_id).get(TJ, name, namespace)  # execute_complete


@pytest.mark.parametrize("polls_per_wait", [2, 60])
def test_dags_test_style_runs_use_the_plugin_independently_of_job_duration(sandbox, conn, polls_per_wait):
    run_like_dags_test(sandbox, conn, polls_per_wait)
    assert polls(sandbox, "wait-0") >= polls_per_wait and polls(sandbox, "wait-1") >= polls_per_wait
    assert conn.invocations() == 1
