"""``kubernetes_asyncio`` (what AsyncKubernetesHook uses) against the emulator; plain sync tests that
drive coroutines with ``asyncio.run``."""

from __future__ import annotations

import asyncio

import pytest
from kubernetes_asyncio import client, config, watch
from kubernetes_asyncio.client.exceptions import ApiException

from sandbox.kube import write_kubeconfig
from tests.sandbox.kube.kube_helpers import GROUP, trainingjob


async def _api(path) -> client.ApiClient:
    cfg = client.Configuration()
    await config.load_kube_config(config_file=str(path), client_configuration=cfg)
    return client.ApiClient(configuration=cfg)


@pytest.fixture
def kubeconfig(kube, tmp_path):
    return write_kubeconfig(tmp_path / "kubeconfig", kube.url)


def test_custom_objects_roundtrip(kubeconfig):
    async def main():
        async with await _api(kubeconfig) as api:
            co = client.CustomObjectsApi(api)
            created = await co.create_namespaced_custom_object(
                GROUP, "v1", "default", "trainingjobs", trainingjob("a")
            )
            got = await co.get_namespaced_custom_object(GROUP, "v1", "default", "trainingjobs", "a")
            assert got["metadata"]["uid"] == created["metadata"]["uid"]
            # kubernetes_asyncio 36 sends a dict patch body as application/json-patch+json, which a real
            # server (and the emulator) rejects with 400; callers must choose merge patch explicitly
            with pytest.raises(ApiException) as err:
                await co.patch_namespaced_custom_object(
                    GROUP, "v1", "default", "trainingjobs", "a", {"spec": {"region": "eu-west-1"}}
                )
            assert err.value.status == 400
            assert "cannot unmarshal object into Go value of type jsonpatch.Patch" in err.value.body
            patched = await co.patch_namespaced_custom_object(
                GROUP,
                "v1",
                "default",
                "trainingjobs",
                "a",
                {"spec": {"region": "eu-west-1"}},
                _content_type="application/merge-patch+json",
            )
            assert patched["metadata"]["generation"] == 2
            status = await co.patch_namespaced_custom_object_status(
                GROUP,
                "v1",
                "default",
                "trainingjobs",
                "a",
                {"status": {"trainingJobStatus": "Completed"}},
                _content_type="application/merge-patch+json",
            )
            assert status["status"] == {"trainingJobStatus": "Completed"}
            items = (await co.list_namespaced_custom_object(GROUP, "v1", "default", "trainingjobs"))["items"]
            assert [i["metadata"]["name"] for i in items] == ["a"]
            await co.delete_namespaced_custom_object(GROUP, "v1", "default", "trainingjobs", "a")
            with pytest.raises(ApiException) as err:
                await co.get_namespaced_custom_object(GROUP, "v1", "default", "trainingjobs", "a")
            assert err.value.status == 404

    asyncio.run(main())


def test_core_api(kubeconfig):
    async def main():
        async with await _api(kubeconfig) as api:
            core = client.CoreV1Api(api)
            names = [n.metadata.name for n in (await core.list_namespace()).items]
            assert "default" in names
            await core.create_namespaced_config_map(
                "default", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="c"), data={"a": "1"})
            )
            cm = await core.patch_namespaced_config_map("c", "default", {"data": {"b": "2"}})
            assert cm.data == {"a": "1", "b": "2"}
            with pytest.raises(ApiException) as err:
                await core.read_namespaced_pod("nope", "default")
            assert err.value.status == 404

    asyncio.run(main())


def test_watch(kube, kubeconfig):
    async def main():
        async with await _api(kubeconfig) as api:
            co = client.CustomObjectsApi(api)
            await co.create_namespaced_custom_object(GROUP, "v1", "default", "trainingjobs", trainingjob("a"))
            seen = []
            w = watch.Watch()
            async with w.stream(
                co.list_namespaced_custom_object, GROUP, "v1", "default", "trainingjobs", timeout_seconds=10
            ) as stream:
                async for event in stream:
                    seen.append((event["type"], event["object"]["metadata"]["name"]))
                    if len(seen) == 1:
                        # an in-process writer (another thread's view) shows up on the stream
                        await asyncio.to_thread(
                            kube.patch,
                            f"{GROUP}/v1",
                            "trainingjobs",
                            "a",
                            {"spec": {"region": "x"}},
                            "default",
                        )
                    elif event["type"] == "MODIFIED":
                        await co.delete_namespaced_custom_object(GROUP, "v1", "default", "trainingjobs", "a")
                    elif event["type"] == "DELETED":
                        w.stop()
            assert seen == [("ADDED", "a"), ("MODIFIED", "a"), ("DELETED", "a")]

    asyncio.run(main())


def test_retries_see_injected_faults(kube, kubeconfig):
    async def main():
        async with await _api(kubeconfig) as api:
            rule = kube.faults.add(method="GET", path_regex="/trainingjobs/a$", status=503, count=1)
            co = client.CustomObjectsApi(api)
            with pytest.raises(ApiException) as err:
                await co.get_namespaced_custom_object(GROUP, "v1", "default", "trainingjobs", "a")
            assert err.value.status == 503
            assert kube.faults.hits(rule) == 1

    asyncio.run(main())
