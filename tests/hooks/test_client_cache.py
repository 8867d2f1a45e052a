"""The hooks' shared clients (``hooks/client_cache.py``) and exec-plugin tokens (``hooks/credentials.py``)
against the sandbox's API emulator over TLS, with kubeconfigs whose tokens come from an exec plugin (the
sandbox's token command, which logs every run): one token per lifetime per process, exactly one refresh
per 401 and one retry, one client per configuration and event loop, closed with its loop."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator

import pytest
import yaml
from airflow.providers.cncf.kubernetes.hooks.kubernetes import AsyncKubernetesHook, KubernetesHook
from airflow.sdk.exceptions import AirflowException

from sagemaker_k8s.exceptions import KubeUnauthorized
from sagemaker_k8s.hooks import client_cache
from sagemaker_k8s.hooks.kubernetes import AsyncSageMakerK8sHook, SageMakerK8sHook
from sagemaker_k8s.hooks.retry import Backoff
from sagemaker_k8s.manifests.flavours import LEGACY_TRAINING_JOB as TJ
from tests.helpers import wait_for
from tests.hooks.exec_auth import (
    ExecConnection,
    client_sockets,
    cr_requests,
    exec_connection,
    quiet_sandbox,
    set_status,
)

FAST = Backoff(attempts=4, base=0.01, cap=0.05)
JOBS = 20


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Iterator:
    with quiet_sandbox(tmp_path_factory.mktemp("client-cache") / "sandbox") as sb:
        for i in range(JOBS):
            set_status(sb, f"job-{i}")
        yield sb


@pytest.fixture(autouse=True)
def clean_slate(sandbox) -> Iterator[None]:
    sandbox.kube.clear_requests()
    yield
    sandbox.kube.faults.clear()
    sandbox.kube.auth.clock = time.time


@pytest.fixture
def conn(sandbox, tmp_path, monkeypatch) -> ExecConnection:
    return exec_connection(sandbox, tmp_path, monkeypatch)


def statuses(sandbox, name: str | None = None) -> list[int | None]:
    return [r.status for r in cr_requests(sandbox, name)]


def async_hook(conn: ExecConnection) -> AsyncSageMakerK8sHook:
    return AsyncSageMakerK8sHook(conn.conn_id, backoff=FAST)


# -- sharing ---------------------------------------------------------------------------------------------


def test_async_hooks_share_one_client_and_one_token(sandbox, conn):
    namespace = sandbox.info.namespace

    async def scenario():
        hooks = [async_hook(conn) for _ in range(JOBS)]
        for _ in range(3):
            await asyncio.gather(*(hook.get(TJ, f"job-{i}", namespace) for i, hook in enumerate(hooks)))
        return {id(await hook.client()) for hook in hooks}, client_cache.loop_clients()

    ids, clients = asyncio.run(scenario())
    assert len(ids) == 1 and len(clients) == 1
    assert conn.invocations() == 1, "one token for 60 calls"
    assert statuses(sandbox) == [200] * 3 * JOBS


def test_sync_hooks_reuse_the_process_token(sandbox, conn):
    namespace = sandbox.info.namespace
    hook = SageMakerK8sHook(conn.conn_id, backoff=FAST)
    for _ in range(10):
        hook.get(TJ, "job-0", namespace)
    SageMakerK8sHook(conn.conn_id, backoff=FAST).get(TJ, "job-1", namespace)
    asyncio.run(async_hook(conn).get(TJ, "job-2", namespace))
    assert conn.invocations() == 1, "one token for the sync hooks, the async hook and all their calls"


def test_a_token_is_minted_again_only_when_it_expires(sandbox, tmp_path, monkeypatch):
    # The kubernetes library re-runs the plugin on every request once a token is within 5 minutes of
    # its expiry (so on every request for short-lived tokens); here only when it is about to expire.
    conn = exec_connection(sandbox, tmp_path, monkeypatch, token_ttl=1.5)
    hook = SageMakerK8sHook(conn.conn_id, backoff=FAST)
    namespace = sandbox.info.namespace
    for _ in range(10):
        hook.get(TJ, "job-0", namespace)
    assert conn.invocations() == 1
    calls = 0

    def reminted() -> bool:
        nonlocal calls
        hook.get(TJ, "job-0", namespace)
        calls += 1
        return conn.invocations() == 2

    wait_for(reminted, timeout=15, interval=0.02, what="a second token")
    assert calls > 5
    assert 401 not in statuses(sandbox), "refreshed before the API server rejected it"


# -- 401: exactly one refresh, one retry --------------------------------------------------------------


def test_a_401_forces_exactly_one_refresh_and_one_retry(sandbox, conn):
    namespace = sandbox.info.namespace

    async def scenario():
        hook = async_hook(conn)
        await hook.get(TJ, "job-0", namespace)
        rule = sandbox.kube.faults.add(method="GET", path_regex=r"/job-1$", status=401, count=1)
        obj = await hook.get(TJ, "job-1", namespace)
        return obj, sandbox.kube.faults.hits(rule), (await hook.client()).refreshes

    obj, hits, refreshes = asyncio.run(scenario())
    assert obj["metadata"]["name"] == "job-1" and hits == 1
    assert statuses(sandbox, "job-1") == [401, 200]
    assert (refreshes, conn.invocations()) == (1, 2)


def test_concurrent_401s_for_one_token_refresh_it_once(sandbox, conn):
    namespace = sandbox.info.namespace

    async def scenario():
        await async_hook(conn).get(TJ, "job-0", namespace)
        sandbox.kube.auth.revoke_exec_tokens()  # the token every client holds is now rejected
        hooks = [async_hook(conn) for _ in range(JOBS)]
        return await asyncio.gather(*(hook.get(TJ, f"job-{i}", namespace) for i, hook in enumerate(hooks)))

    objects = asyncio.run(scenario())
    assert [o["metadata"]["name"] for o in objects] == [f"job-{i}" for i in range(JOBS)]
    assert conn.invocations() == 2, "20 calls rejected with the same token: one new token"
    codes = statuses(sandbox)
    assert (codes.count(401), codes.count(200)) == (JOBS, JOBS + 1)


def test_a_persistent_401_is_refreshed_once_then_raised(sandbox, conn):
    sandbox.kube.faults.add(method="GET", path_regex=r"/job-0$", status=401)
    with pytest.raises(KubeUnauthorized) as info:
        asyncio.run(async_hook(conn).get(TJ, "job-0", sandbox.info.namespace))
    assert info.value.status == 401
    assert statuses(sandbox, "job-0") == [401, 401], "one retry after the refresh, no backoff loop"
    assert conn.invocations() == 2


def test_sync_hook_refreshes_once_per_401_and_others_adopt_the_new_token(sandbox, conn):
    namespace = sandbox.info.namespace
    first, second = SageMakerK8sHook(conn.conn_id, backoff=FAST), SageMakerK8sHook(conn.conn_id, backoff=FAST)
    first.get(TJ, "job-0", namespace)
    second.get(TJ, "job-1", namespace)
    sandbox.kube.auth.revoke_exec_tokens()
    first.get(TJ, "job-0", namespace)
    assert (first.client.refreshes, conn.invocations()) == (1, 2)
    second.get(TJ, "job-1", namespace)  # takes the token the first hook's refresh minted, without a 401
    assert conn.invocations() == 2
    assert statuses(sandbox, "job-0") == [200, 401, 200]
    assert statuses(sandbox, "job-1") == [200, 200]


def test_transient_errors_are_still_retried_with_backoff(sandbox, conn):
    rule = sandbox.kube.faults.add(method="GET", path_regex=r"/job-0$", status=503, count=2)
    assert (
        asyncio.run(async_hook(conn).get(TJ, "job-0", sandbox.info.namespace))["metadata"]["name"] == "job-0"
    )
    assert sandbox.kube.faults.hits(rule) == 2
    assert statuses(sandbox, "job-0") == [503, 503, 200]
    assert conn.invocations() == 1


# -- one client per configuration and event loop --------------------------------------------------------


def test_a_changed_connection_gets_a_new_client(sandbox, conn, tmp_path, monkeypatch):
    namespace = sandbox.info.namespace

    async def scenario():
        first, again = async_hook(conn), async_hook(conn)
        assert await first.client() is await again.client()
        await first.get(TJ, "job-0", namespace)

        doc = yaml.safe_load(conn.kubeconfig.read_text())  # the kubeconfig file is rewritten
        doc["contexts"][0]["context"]["namespace"] = "elsewhere"
        conn.kubeconfig.write_text(yaml.safe_dump(doc))
        rewritten = async_hook(conn)
        assert await rewritten.client() is not await first.client()

        other = exec_connection(sandbox, tmp_path / "other", monkeypatch, conn_id="kube_other")
        elsewhere = async_hook(other)
        assert await elsewhere.client() not in (await first.client(), await rewritten.client())

        for hook in (first, rewritten, elsewhere):  # the old client keeps serving the hooks that hold it
            await hook.get(TJ, "job-1", namespace)
        return len(client_cache.loop_clients()), other

    count, other = asyncio.run(scenario())
    assert count == 3
    assert conn.invocations() == 1, "the same plugin configuration: one token for both clients"
    assert other.invocations() == 1


async def in_own_loop_alone(conn, namespace):
    hook = async_hook(conn)
    await hook.get(TJ, "job-2", namespace)
    return await hook.client()


def test_clients_are_never_shared_across_event_loops(sandbox, conn):
    namespace = sandbox.info.namespace
    barrier = threading.Barrier(2)

    async def in_own_loop(name: str):
        hook = async_hook(conn)
        await hook.get(TJ, name, namespace)
        client = await hook.client()
        await asyncio.to_thread(barrier.wait, 30)  # both loops hold their client at the same time
        await hook.get(TJ, name, namespace)
        assert client.loop is asyncio.get_running_loop()
        return client

    results: dict[str, object] = {}
    threads = [
        threading.Thread(target=lambda n=n: results.update({n: asyncio.run(in_own_loop(n))}))
        for n in ("job-0", "job-1")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    later = asyncio.run(in_own_loop_alone(conn, namespace))
    clients = [results["job-0"], results["job-1"], later]
    assert len({id(c) for c in clients}) == 3
    assert all(c.api_client.rest_client.pool_manager.closed for c in clients), "closed when their loop ended"
    assert conn.invocations() == 1, "one token for the three loops"


def test_loop_shutdown_closes_the_client_and_its_connections(sandbox, conn):
    port = sandbox.kube.secure_port

    async def scenario():
        hook = async_hook(conn)
        await asyncio.gather(*(hook.get(TJ, f"job-{i}", sandbox.info.namespace) for i in range(JOBS)))
        assert client_sockets(port) >= 1
        return await hook.client()

    client = asyncio.run(scenario())
    assert client.api_client.rest_client.pool_manager.closed
    wait_for(lambda: client_sockets(port) == 0, timeout=10, what="the client's sockets to close")


# -- the connection is resolved as the provider resolves it -----------------------------------------------


def settings_for(monkeypatch, extra: dict) -> tuple[client_cache.KubeSettings, client_cache.KubeSettings]:
    monkeypatch.setenv("AIRFLOW_CONN_KUBE_SETTINGS", json.dumps({"conn_type": "kubernetes", "extra": extra}))
    sync = client_cache.sync_settings(KubernetesHook(conn_id="kube_settings"))
    return sync, asyncio.run(client_cache.async_settings(AsyncKubernetesHook(conn_id="kube_settings")))


def test_settings_from_a_path_an_inline_kubeconfig_and_the_legacy_prefix(conn, monkeypatch):
    text = conn.kubeconfig.read_text()
    sync, async_ = settings_for(
        monkeypatch, {"kube_config_path": str(conn.kubeconfig), "cluster_context": "c"}
    )
    assert sync == async_
    assert (sync.source, sync.config_text, sync.config_path, sync.context) == (
        "kubeconfig",
        text,
        str(conn.kubeconfig),
        "c",
    )
    legacy, _ = settings_for(monkeypatch, {"extra__kubernetes__kube_config_path": str(conn.kubeconfig)})
    assert legacy.config_text == text
    inline, _ = settings_for(monkeypatch, {"kube_config": yaml.safe_load(text)})
    assert (inline.source, yaml.safe_load(inline.config_text), inline.config_path) == (
        "kubeconfig",
        yaml.safe_load(text),
        None,
    )
    in_cluster, _ = settings_for(monkeypatch, {"in_cluster": True})
    assert in_cluster.source == "in_cluster"
    with pytest.raises(AirflowException, match="mutually exclusive"):
        settings_for(monkeypatch, {"in_cluster": True, "kube_config_path": str(conn.kubeconfig)})


def test_an_inline_exec_kubeconfig_shares_one_token_between_sync_and_async(sandbox, conn, monkeypatch):
    extra = {"kube_config": conn.kubeconfig.read_text(), "namespace": sandbox.info.namespace}
    monkeypatch.setenv("AIRFLOW_CONN_KUBE_INLINE", json.dumps({"conn_type": "kubernetes", "extra": extra}))
    for _ in range(3):
        asyncio.run(
            AsyncSageMakerK8sHook("kube_inline", backoff=FAST).get(TJ, "job-0", sandbox.info.namespace)
        )
        SageMakerK8sHook("kube_inline", backoff=FAST).get(TJ, "job-0", sandbox.info.namespace)
    assert conn.invocations() == 1
