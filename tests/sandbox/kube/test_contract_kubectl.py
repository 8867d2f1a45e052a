"""The real kubectl against the emulator (private kubeconfig and HOME per test; ~/.kube untouched)."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from pathlib import Path

import pytest
import yaml

from sandbox.kube import KubeApiServer, write_kubeconfig
from tests.sandbox.kube.kube_helpers import GROUP, TJ, TRAININGJOB_YAML, trainingjob, wait_until

KUBECTL = "/usr/bin/kubectl"
pytestmark = pytest.mark.skipif(not Path(KUBECTL).exists(), reason="kubectl is not installed")
FULL = f"trainingjobs.{GROUP}"


class Kubectl:
    def __init__(self, url: str, tmp: Path) -> None:
        home = tmp / "home"
        home.mkdir(exist_ok=True)
        self.kubeconfig = write_kubeconfig(tmp / "kubeconfig", url)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "KUBECONFIG": str(self.kubeconfig),
        }

    def argv(self, *args: str) -> list[str]:
        return [KUBECTL, "--kubeconfig", str(self.kubeconfig), *args]

    def __call__(
        self, *args: str, check: bool = True, stdin: str | None = None
    ) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            self.argv(*args),
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            input=stdin,
            check=False,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
        return proc


@pytest.fixture
def kubectl(kube, tmp_path) -> Kubectl:
    return Kubectl(kube.url, tmp_path)


def _manifest(tmp_path: Path, obj: dict, name: str = "obj.yaml") -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(obj))
    return str(path)


def test_get_crd_shows_sagemaker_crds(kubectl):
    out = kubectl("get", "crd").stdout.splitlines()
    assert out[0].split() == ["NAME", "CREATED", "AT"]
    sagemaker = [line.split()[0] for line in out if "sagemaker" in line]
    assert len(sagemaker) == 14
    assert f"trainingjobs.{GROUP}" in sagemaker and "trainingjobs.sagemaker.services.k8s.aws" in sagemaker


def test_apply_creates_then_unchanged_then_configured(kube, kubectl, tmp_path):
    kube.clear_requests()
    first = kubectl("apply", "-f", str(TRAININGJOB_YAML), "-n", "default")
    assert first.stdout.strip() == f"{FULL.replace('trainingjobs', 'trainingjob')}/xgboost-mnist created"
    assert first.stderr == ""
    post = next(r for r in kube.requests if r.method == "POST")
    assert post.query.get("fieldValidation") == "Strict" and post.user_agent.startswith("kubectl/")
    stored = kube.get(f"{GROUP}/v1", "TrainingJob", "xgboost-mnist", "default")
    assert "kubectl.kubernetes.io/last-applied-configuration" in stored["metadata"]["annotations"]
    again = kubectl("apply", "-f", str(TRAININGJOB_YAML), "-n", "default")
    assert again.stdout.strip().endswith("xgboost-mnist unchanged")
    changed = yaml.safe_load(TRAININGJOB_YAML.read_text())
    changed["spec"]["region"] = "eu-west-1"
    third = kubectl("apply", "-f", _manifest(tmp_path, changed), "-n", "default")
    assert third.stdout.strip().endswith("xgboost-mnist configured")
    patch = [r for r in kube.requests if r.method == "PATCH"][-1]
    assert patch.content_type.startswith("application/merge-patch+json")
    stored = kube.get(f"{GROUP}/v1", "TrainingJob", "xgboost-mnist", "default")
    assert stored["spec"]["region"] == "eu-west-1" and stored["metadata"]["generation"] == 2


def test_get_prints_printer_columns(kube, kubectl):
    kube.apply(
        trainingjob("xgboost-mnist")
        | {"status": {"trainingJobStatus": "InProgress", "secondaryStatus": "Training"}}
    )
    out = kubectl("get", "trainingjobs").stdout.splitlines()
    assert out[0].split() == ["NAME", "STATUS", "SECONDARY-STATUS", "CREATION-TIME", "SAGEMAKER-JOB-NAME"]
    assert out[1].split()[:3] == ["xgboost-mnist", "InProgress", "Training"]
    ack = kubectl("get", "trainingjobs.sagemaker.services.k8s.aws", "-o", "wide")
    assert ack.stderr.strip() == "No resources found in default namespace."
    ns = kubectl("get", "ns").stdout.splitlines()
    assert ns[0].split() == ["NAME", "STATUS", "AGE"]
    assert {"default", "kube-system", "kube-public"} <= {line.split()[0] for line in ns[1:]}
    assert all(line.split()[1] == "Active" for line in ns[1:])


def test_get_json_and_jsonpath(kube, kubectl):
    kubectl("apply", "-f", str(TRAININGJOB_YAML))
    obj = json.loads(kubectl("get", "trainingjob", "xgboost-mnist", "-o", "json").stdout)
    assert obj["kind"] == "TrainingJob" and obj["metadata"]["generation"] == 1
    assert obj["spec"]["resourceConfig"]["instanceCount"] == 1
    listing = json.loads(kubectl("get", FULL, "-o", "json").stdout)
    assert listing["kind"] == "List" and len(listing["items"]) == 1
    assert kubectl("get", FULL, "xgboost-mnist", "-o", "jsonpath={.spec.region}").stdout == "us-west-2"
    missing = kubectl("get", "trainingjob", "nope", check=False)
    assert missing.returncode == 1
    assert f'Error from server (NotFound): {FULL} "nope" not found' in missing.stderr


def test_patch(kubectl, kube):
    kubectl("apply", "-f", str(TRAININGJOB_YAML))
    out = kubectl(
        "patch",
        "trainingjob",
        "xgboost-mnist",
        "--type=merge",
        "-p",
        '{"metadata":{"labels":{"team":"ml"}},"spec":{"region":"eu-west-1"}}',
    )
    assert out.stdout.strip().endswith("xgboost-mnist patched")
    stored = kube.get(f"{GROUP}/v1", "TrainingJob", "xgboost-mnist", "default")
    assert stored["metadata"]["labels"] == {"team": "ml"} and stored["spec"]["region"] == "eu-west-1"
    kubectl(
        "patch",
        "trainingjob",
        "xgboost-mnist",
        "--type=json",
        "-p",
        '[{"op":"replace","path":"/spec/region","value":"us-east-1"}]',
    )
    assert kube.get(f"{GROUP}/v1", "TrainingJob", "xgboost-mnist", "default")["spec"]["region"] == "us-east-1"
    strategic = kubectl("patch", "trainingjob", "xgboost-mnist", "-p", '{"spec":{"region":"x"}}', check=False)
    assert strategic.returncode == 1 and "strategic-merge-patch+json is not supported" in strategic.stderr
    invalid = kubectl(
        "patch",
        "trainingjob",
        "xgboost-mnist",
        "--type=merge",
        "-p",
        '{"spec":{"resourceConfig":{"instanceCount":0}}}',
        check=False,
    )
    assert invalid.returncode == 1
    assert "spec.resourceConfig.instanceCount: Invalid value: 0" in invalid.stderr
    status = kubectl(
        "patch",
        "trainingjob",
        "xgboost-mnist",
        "--subresource=status",
        "--type=merge",
        "-p",
        '{"status":{"trainingJobStatus":"Completed"}}',
    )
    assert status.returncode == 0
    assert kube.get(f"{GROUP}/v1", "TrainingJob", "xgboost-mnist", "default")["status"] == {
        "trainingJobStatus": "Completed"
    }


def test_delete_without_and_with_finalizers(kube, kubectl):
    kubectl("apply", "-f", str(TRAININGJOB_YAML))
    out = kubectl("delete", "trainingjob", "xgboost-mnist")
    assert out.stdout.strip() == f'{FULL.replace("trainingjobs", "trainingjob")} "xgboost-mnist" deleted'
    assert kube.get(f"{GROUP}/v1", "TrainingJob", "xgboost-mnist", "default") is None
    held = trainingjob("held")
    held["metadata"]["finalizers"] = ["sagemaker.aws.amazon.com/finalizer"]
    kube.apply(held)
    out = kubectl("delete", "trainingjob", "held", "--wait=false")
    assert out.stdout.strip().endswith('"held" deleted')
    stored = kube.get(f"{GROUP}/v1", "TrainingJob", "held", "default")
    assert stored["metadata"]["deletionTimestamp"]
    # a waiting delete returns once the finalizer is removed (here by another "controller" thread)
    timer = threading.Timer(
        0.5,
        kube.patch,
        args=(f"{GROUP}/v1", "TrainingJob", "held", {"metadata": {"finalizers": None}}, "default"),
    )
    timer.start()
    try:
        kubectl("delete", "trainingjob", "held", "--timeout=20s")
    finally:
        timer.join()
    assert kube.get(f"{GROUP}/v1", "TrainingJob", "held", "default") is None


def test_api_resources(kubectl):
    rows = [line.split() for line in kubectl("api-resources").stdout.splitlines()]
    assert rows[0] == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    by_name = {(r[0], r[-3]): r for r in rows[1:]}
    assert ("trainingjobs", f"{GROUP}/v1") in by_name
    assert ("trainingjobs", "sagemaker.services.k8s.aws/v1alpha1") in by_name
    assert ["namespaces", "ns", "v1", "false", "Namespace"] in rows
    assert [
        "customresourcedefinitions",
        "crd,crds",
        "apiextensions.k8s.io/v1",
        "false",
        "CustomResourceDefinition",
    ] in rows
    versions = kubectl("api-versions").stdout.split()
    assert f"{GROUP}/v1" in versions and "v1" in versions


def test_apply_crds_on_empty_cluster_then_use_them(tmp_path):
    with KubeApiServer() as srv:
        kubectl = Kubectl(srv.url, tmp_path)
        assert kubectl("get", "trainingjobs", check=False).returncode == 1
        crd_dir = TRAININGJOB_YAML.parent / "crds" / "legacy"
        out = kubectl("apply", "-f", str(crd_dir))
        assert out.stdout.count("created") == 8
        assert kubectl("apply", "-f", str(crd_dir)).stdout.count("unchanged") == 8
        assert kubectl("apply", "-f", str(TRAININGJOB_YAML)).stdout.strip().endswith("created")
        assert kubectl("get", "trainingjobs", "-o", "name").stdout.strip() == (
            f"trainingjob.{GROUP}/xgboost-mnist"
        )


def test_validation_modes(kubectl, kube, tmp_path):
    bad = trainingjob("bad")
    bad["spec"]["resourceConfig"]["instanceCount"] = 0
    out = kubectl("apply", "-f", _manifest(tmp_path, bad, "bad.yaml"), check=False)
    assert out.returncode == 1
    assert (
        'The TrainingJob "bad" is invalid: spec.resourceConfig.instanceCount: Invalid value: 0' in out.stderr
    )
    extra = trainingjob("extra")
    extra["spec"]["foo"] = "bar"
    path = _manifest(tmp_path, extra, "extra.yaml")
    strict = kubectl("apply", "-f", path, check=False)
    assert strict.returncode == 1 and 'strict decoding error: unknown field "spec.foo"' in strict.stderr
    warn = kubectl("apply", "-f", path, "--validate=warn")
    assert 'Warning: unknown field "spec.foo"' in warn.stderr and warn.stdout.strip().endswith("created")
    assert "foo" not in kube.get(f"{GROUP}/v1", "TrainingJob", "extra", "default")["spec"]
    dry = kubectl("apply", "-f", _manifest(tmp_path, trainingjob("dry"), "dry.yaml"), "--dry-run=server")
    assert "(server dry run)" in dry.stdout
    assert kube.get(f"{GROUP}/v1", "TrainingJob", "dry", "default") is None


def test_builtins_imperative_and_declarative(kubectl, kube, tmp_path):
    assert kubectl("create", "namespace", "ml").stdout.strip() == "namespace/ml created"
    kubectl("create", "configmap", "cfg", "-n", "ml", "--from-literal=a=1")
    kubectl("create", "secret", "generic", "s", "-n", "ml", "--from-literal=k=v")
    kubectl("create", "serviceaccount", "sa", "-n", "ml")
    assert kube.get("v1", "Secret", "s", "ml")["data"] == {"k": "dg=="}
    kubectl(
        "annotate", "serviceaccount", "sa", "-n", "ml", "eks.amazonaws.com/role-arn=arn:aws:iam::1:role/x"
    )
    assert kube.get("v1", "ServiceAccount", "sa", "ml")["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/x"
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "ml"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]},
            },
        },
    }
    path = _manifest(tmp_path, deployment, "dep.yaml")
    assert kubectl("apply", "-f", path).stdout.strip() == "deployment.apps/web created"
    assert kubectl("apply", "-f", path).stdout.strip() == "deployment.apps/web unchanged"
    assert kubectl("scale", "deployment", "web", "-n", "ml", "--replicas=0").stdout.strip() == (
        "deployment.apps/web scaled"
    )
    assert kube.get("apps/v1", "Deployment", "web", "ml")["spec"]["replicas"] == 0
    restart = kubectl("rollout", "restart", "deployment", "web", "-n", "ml")
    assert restart.stderr == "" and restart.stdout.strip() == "deployment.apps/web restarted"
    rows = kubectl("get", "deploy", "-n", "ml").stdout.splitlines()
    assert rows[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    kube.apply(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "web-1", "namespace": "ml"},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]},
            "status": {
                "phase": "Running",
                "containerStatuses": [{"name": "c", "ready": True, "restartCount": 2}],
            },
        }
    )
    pods = kubectl("get", "pods", "-n", "ml").stdout.splitlines()
    assert pods[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert pods[1].split()[:4] == ["web-1", "1/1", "Running", "2"]
    assert kubectl("delete", "namespace", "ml").stdout.strip() == 'namespace "ml" deleted'
    assert kube.get("v1", "Namespace", "ml") is None


def test_get_watch_streams_table_rows(kube, kubectl):
    kube.apply(trainingjob("a"))
    proc = subprocess.Popen(
        kubectl.argv("get", FULL, "--watch", "--output-watch-events"),
        env=kubectl.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        wait_until(lambda: any(line.split()[:2] == ["ADDED", "a"] for line in lines), 20, what="ADDED row")
        assert lines[0].split()[:2] == ["EVENT", "NAME"]
        kube.apply(trainingjob("a") | {"status": {"trainingJobStatus": "Completed"}})
        wait_until(
            lambda: any(line.split()[:3] == ["MODIFIED", "a", "Completed"] for line in lines),
            20,
            what="MODIFIED row",
        )
    finally:
        proc.terminate()
        proc.wait(10)
        reader.join(5)
        proc.stdout.close()
        proc.stderr.close()


def test_kubectl_sees_injected_faults(kube, kubectl):
    rule = kube.faults.add(method="GET", path_regex=r"/namespaces/default/trainingjobs$", status=503)
    out = kubectl("get", FULL, check=False)
    assert out.returncode == 1
    assert "Error from server (ServiceUnavailable): the server is currently unable to handle the request" in (
        out.stderr
    )
    assert kube.faults.hits(rule) == 1
    assert [r.status for r in kube.requests if r.path == TJ] == [503]
