"""The ``Sandbox`` as a product: its state files, what kubectl and boto3 see through them, the operator's
installation, loopback-only sockets, a clean stop, and every misconfiguration doing what it says."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from botocore.exceptions import ClientError

from sandbox import state
from sandbox.stack import MISCONFIGURATIONS, Sandbox
from tests import helpers
from tests.helpers import listening_addresses, wait_for

ROOT = Path(__file__).resolve().parents[2]
KUBECTL = "/usr/bin/kubectl"
LEGACY_GROUP = "sagemaker.aws.amazon.com"
LEGACY_KINDS = {
    "batchtransformjobs",
    "endpointconfigs",
    "hostingautoscalingpolicies",
    "hostingdeployments",
    "hyperparametertuningjobs",
    "models",
    "processingjobs",
    "trainingjobs",
}
OPERATOR_NAMESPACE = "sagemaker-k8s-operator-system"
OPERATOR_DEPLOYMENT = "sagemaker-k8s-operator-controller-manager"
OPERATOR_SERVICE_ACCOUNT = "sagemaker-k8s-operator-default"
ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"
SAGEMAKER_POLICY = "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"


def kubectl(sandbox, *args: str) -> str:
    result = subprocess.run(
        [KUBECTL, "--kubeconfig", str(sandbox.state_dir / "kubeconfig"), *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def kubectl_json(sandbox, *args: str) -> dict:
    return json.loads(kubectl(sandbox, *args, "-o", "json"))


def aws(sandbox, service: str):
    return helpers.aws(sandbox, service, retries=False)


def trainingjob_yaml(sandbox, data_uri: str, name: str) -> str:
    """The walkthrough's TrainingJob sample with the sandbox's role, region and S3 paths, and fewer,
    shallower trees than its 10 x depth 5 (about 1 s of training instead of 5; validation:merror ~0.17)."""
    cr = yaml.safe_load((ROOT / "include" / "manifests" / "trainingjob.yaml").read_text())
    quick = {"max_depth": "4", "num_round": "4"}
    for hp in cr["spec"]["hyperParameters"]:
        hp["value"] = quick.get(hp["name"], hp["value"])
    cr["metadata"] = {"name": name, "namespace": "default"}
    cr["spec"].update(region=sandbox.info.region, roleArn=sandbox.info.execution_role_arn)
    cr["spec"]["outputDataConfig"]["s3OutputPath"] = f"{data_uri}output/"
    for channel in cr["spec"]["inputDataConfig"]:
        channel["dataSource"]["s3DataSource"]["s3Uri"] = f"{data_uri}{channel['channelName']}/"
    return yaml.safe_dump(cr)


def sandbox_status(sandbox, name: str) -> str | None:
    cr = sandbox.kube.get(f"{LEGACY_GROUP}/v1", "trainingjobs", name, namespace="default") or {}
    return (cr.get("status") or {}).get("trainingJobStatus")


class TestOneRunningSandbox:
    """What a running sandbox offers; none of these tests changes it, so they share one."""

    @pytest.fixture(scope="class")
    @classmethod
    def sandbox(cls, tmp_path_factory) -> Iterator[Sandbox]:
        with Sandbox(tmp_path_factory.mktemp("stack") / "state", phase_delay=0.05, poll_interval=0.1) as sb:
            yield sb

    def test_state_files_describe_the_running_sandbox(self, sandbox):
        files = {p.name for p in sandbox.state_dir.iterdir()}
        assert {"kubeconfig", "env", "sandbox.json"} <= files
        data = json.loads((sandbox.state_dir / "sandbox.json").read_text())
        assert data.pop("pid") == os.getpid()
        assert data == json.loads(sandbox.info.to_json())
        assert state.read_info(sandbox.state_dir) == sandbox.info
        assert state.parse_env((sandbox.state_dir / "env").read_text()) == sandbox.env()
        kubeconfig = yaml.safe_load((sandbox.state_dir / "kubeconfig").read_text())
        assert kubeconfig["clusters"][0]["cluster"]["server"] == sandbox.info.kube_url
        env = sandbox.env()
        assert env["AWS_ENDPOINT_URL"] == sandbox.info.aws_endpoint_url
        assert env["KUBECONFIG"] == str(sandbox.state_dir / "kubeconfig")
        assert (
            json.loads(env["AIRFLOW_CONN_AWS_DEFAULT"])["extra"]["endpoint_url"]
            == sandbox.info.aws_endpoint_url
        )

    def test_env_file_is_sourceable_by_bash(self, sandbox):
        env = sandbox.env()
        names = sorted(env)
        script = "set -a; . ./env; set +a; printf '%s\\0' " + " ".join(f'"${n}"' for n in names)
        out = subprocess.run(
            ["/bin/bash", "-c", script],
            cwd=sandbox.state_dir,
            capture_output=True,
            check=True,
            env={"PATH": os.environ["PATH"]},
        ).stdout.decode()
        assert dict(zip(names, out.split("\0")[:-1], strict=True)) == env
        single = subprocess.run(
            ["/bin/bash", "-c", 'set -a; . ./env; set +a; printf %s "$AIRFLOW_CONN_AWS_DEFAULT"'],
            cwd=sandbox.state_dir,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert single == env["AIRFLOW_CONN_AWS_DEFAULT"]

    def test_kubectl_lists_the_sagemaker_crds(self, sandbox):
        names = kubectl(sandbox, "get", "crd", "-o", "name").split()
        legacy = {n.removeprefix("customresourcedefinition.apiextensions.k8s.io/") for n in names}
        assert {f"{kind}.{LEGACY_GROUP}" for kind in LEGACY_KINDS} <= legacy
        # the default flavour is the legacy operator alone: no ACK CRDs, controller or namespace
        assert not any(n.endswith(".sagemaker.services.k8s.aws") for n in legacy)
        assert sandbox.info.flavour == "legacy" and sandbox.ack is None
        assert sandbox.info.ack_role_arn.endswith(":role/ack-sagemaker-controller-irsa")  # seeded anyway
        assert "ack-system" not in kubectl(sandbox, "get", "namespaces", "-o", "name")

    def test_operator_is_installed_and_running(self, sandbox):
        kubectl(sandbox, "get", "namespace", OPERATOR_NAMESPACE)
        account = kubectl_json(
            sandbox, "get", "serviceaccount", OPERATOR_SERVICE_ACCOUNT, "-n", OPERATOR_NAMESPACE
        )
        assert account["metadata"]["annotations"][ROLE_ARN_ANNOTATION] == sandbox.info.operator_role_arn
        deployment = kubectl_json(sandbox, "get", "deployment", OPERATOR_DEPLOYMENT, "-n", OPERATOR_NAMESPACE)
        assert deployment["status"]["readyReplicas"] == deployment["spec"]["replicas"] == 1
        pods = kubectl_json(sandbox, "get", "pods", "-n", OPERATOR_NAMESPACE)["items"]
        running = [p for p in pods if p["status"]["phase"] == "Running"]
        assert len(running) == 1
        assert {c["type"]: c["status"] for c in running[0]["status"]["conditions"]}["Ready"] == "True"

    def test_kubectl_apply_of_the_sample_trains(self, sandbox, upload_sample, tmp_path):
        data = upload_sample("xgboost")
        manifest = tmp_path / "trainingjob.yaml"
        manifest.write_text(trainingjob_yaml(sandbox, data, "xgboost-mnist"))
        assert "created" in kubectl(sandbox, "apply", "-f", str(manifest))

        final = wait_for(
            lambda: (
                (s := sandbox_status(sandbox, "xgboost-mnist")) in ("Completed", "Failed", "Stopped") and s
            ),
            timeout=90,
            what="the TrainingJob to finish",
        )
        jsonpath = "jsonpath={.status.trainingJobStatus}"
        assert kubectl(sandbox, "get", "trainingjob", "xgboost-mnist", "-o", jsonpath) == final
        assert final == "Completed"
        job = kubectl(
            sandbox,
            "get",
            "trainingjob",
            "xgboost-mnist",
            "-o",
            "jsonpath={.status.sageMakerTrainingJobName}",
        )
        described = aws(sandbox, "sagemaker").describe_training_job(TrainingJobName=job)
        metrics = {m["MetricName"]: m["Value"] for m in described["FinalMetricDataList"]}
        assert metrics["validation:merror"] < 0.2

    def test_every_listening_socket_is_loopback(self, sandbox):
        listening = listening_addresses([os.getpid()])
        assert all(loopback for _, loopback in listening), listening
        assert len(listening) >= 3  # Kubernetes API, moto, control API
        for url in (sandbox.info.kube_url, sandbox.info.aws_endpoint_url, sandbox.info.control_url):
            assert url.startswith("http://127.0.0.1:")

    def test_unknown_misconfiguration_is_refused(self, sandbox):
        with pytest.raises(ValueError, match="unknown misconfiguration 'bogus'"):
            sandbox.misconfigure("bogus")


# -- the env file format ----------------------------------------------------------------------------------
TRICKY = {
    "PLAIN": "value",
    "EMPTY": "",
    "SPACES": "  two  spaces  ",
    "SINGLE": "it's",
    "ONLY_QUOTE": "'",
    "QUOTES": "'\"''\"",
    "JSON": json.dumps({"extra": {"region_name": "us-west-2", "note": 'it\'s "quoted"'}}),
    "SHELL": "$HOME `id` $(id) ; & | \\ * ?",
    "EQUALS": "a=b=c",
}


def test_env_format_parse_round_trip():
    assert state.parse_env(state.format_env(TRICKY)) == TRICKY
    for key, value in TRICKY.items():
        assert state.parse_env(state.format_env({key: value})) == {key: value}


def test_env_format_is_what_bash_reads(tmp_path):
    (tmp_path / "env").write_text("# comment\n" + state.format_env(TRICKY))
    names = sorted(TRICKY)
    script = "set -a; . ./env; set +a; printf '%s\\0' " + " ".join(f'"${n}"' for n in names)
    out = subprocess.run(
        ["/bin/bash", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        check=True,
        env={"PATH": os.environ["PATH"], "HOME": "/nonexistent"},
    ).stdout.decode()
    assert dict(zip(names, out.split("\0")[:-1], strict=True)) == TRICKY


# -- stopping -------------------------------------------------------------------------------------------
def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def test_stop_leaves_nothing_behind(tmp_path):
    before = set(threading.enumerate())
    sb = Sandbox(tmp_path / "one", phase_delay=0.05, poll_interval=0.1).start()
    info = sb.info
    # leave work and state behind: an endpoint stuck in Creating (a live simulator worker), an armed
    # SageMaker fault, an S3 object and a model
    sb.moto.simulator.faults.slow("stuck", 60)
    sm = aws(sb, "sagemaker")
    sm.create_model(
        ModelName="left-over", ExecutionRoleArn=info.execution_role_arn, PrimaryContainer={"Image": "i"}
    )
    variant = {
        "VariantName": "v",
        "ModelName": "left-over",
        "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.large",
    }
    sm.create_endpoint_config(EndpointConfigName="left-over", ProductionVariants=[variant])
    sm.create_endpoint(EndpointName="stuck", EndpointConfigName="left-over")
    aws(sb, "s3").put_object(Bucket=info.bucket, Key="left/over", Body=b"x")
    assert any(t.name.startswith("sagemaker-sim-endpoint") for t in threading.enumerate())

    sb.stop()
    wait_for(
        lambda: not [t for t in set(threading.enumerate()) - before if t.is_alive()],
        timeout=15,
        what="every sandbox thread to end",
    )
    assert not [p.name for p in (tmp_path / "one").iterdir()]  # state files removed
    for url in (info.kube_url, info.aws_endpoint_url, info.control_url):
        with pytest.raises(OSError), socket.create_connection(("127.0.0.1", _port(url)), timeout=2):
            pass
    sb.stop()  # idempotent

    # moto and the simulator are process-wide: the next sandbox must still start from a clean account
    with Sandbox(tmp_path / "two", phase_delay=0.05, poll_interval=0.1) as second:
        assert second.moto.simulator.faults.list() == []
        assert aws(second, "s3").list_objects_v2(Bucket=second.info.bucket)["KeyCount"] == 0
        assert aws(second, "sagemaker").list_models()["Models"] == []
        assert aws(second, "sagemaker").list_endpoints()["Endpoints"] == []


# -- misconfigurations -----------------------------------------------------------------------------------
def _trust(sandbox, role_arn: str) -> dict:
    document = aws(sandbox, "iam").get_role(RoleName=role_arn.split("/")[-1])["Role"][
        "AssumeRolePolicyDocument"
    ]
    return json.loads(document) if isinstance(document, str) else document


def _conditions(sandbox) -> dict:
    [statement] = [
        s for s in _trust(sandbox, sandbox.info.operator_role_arn)["Statement"] if "Condition" in s
    ]
    return statement["Condition"]


def _issuer_host(sandbox) -> str:
    return sandbox.info.oidc_issuer.removeprefix("https://")


def _operator_deployment(sandbox) -> dict:
    return sandbox.kube.get("apps/v1", "deployments", OPERATOR_DEPLOYMENT, namespace=OPERATOR_NAMESPACE)


def _operator_pods(sandbox) -> list[dict]:
    return kubectl_json(sandbox, "get", "pods", "-n", OPERATOR_NAMESPACE)["items"]


def _check_no_oidc_provider(sandbox):
    providers = aws(sandbox, "iam").list_open_id_connect_providers()["OpenIDConnectProviderList"]
    assert not [p for p in providers if p["Arn"].endswith(_issuer_host(sandbox))]


def _check_wrong_sub(sandbox):
    sub = _conditions(sandbox)["StringEquals"][f"{_issuer_host(sandbox)}:sub"]
    assert sub == f"system:serviceaccount:{OPERATOR_NAMESPACE}:default"


def _check_wrong_aud(sandbox):
    assert _conditions(sandbox)["StringEquals"][f"{_issuer_host(sandbox)}:aud"] == "kubernetes.default.svc"


def _check_trust_too_broad(sandbox):
    assert _conditions(sandbox)["StringLike"][f"{_issuer_host(sandbox)}:sub"] == "system:serviceaccount:*:*"


def _check_wildcard_principal(sandbox):
    statements = _trust(sandbox, sandbox.info.operator_role_arn)["Statement"]
    assert {"AWS": "*"} in [s["Principal"] for s in statements]


def _check_policy_missing(sandbox):
    role = sandbox.info.operator_role_arn.split("/")[-1]
    attached = aws(sandbox, "iam").list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    assert SAGEMAKER_POLICY not in [p["PolicyArn"] for p in attached]


def _check_execution_role_trust(sandbox):
    principals = [s["Principal"] for s in _trust(sandbox, sandbox.info.execution_role_arn)["Statement"]]
    assert principals == [{"Service": "ec2.amazonaws.com"}]


def _check_no_bucket(sandbox):
    with pytest.raises(ClientError) as err:
        aws(sandbox, "s3").head_bucket(Bucket=sandbox.info.bucket)
    assert err.value.response["Error"]["Code"] == "404"


def _check_crds_missing(sandbox):
    names = kubectl(sandbox, "get", "crd", "-o", "name")
    assert LEGACY_GROUP not in names
    with pytest.raises(AssertionError, match="the server doesn't have a resource type"):
        kubectl(sandbox, "get", f"trainingjobs.{LEGACY_GROUP}")


def _check_operator_not_running(sandbox):
    assert _operator_deployment(sandbox)["spec"]["replicas"] == 0
    wait_for(lambda: _operator_pods(sandbox) == [], timeout=10, what="the operator pod to go")
    assert not sandbox.cluster.operator_state().running


def _check_operator_crashloop(sandbox):
    [pod] = _operator_pods(sandbox)
    conditions = {c["type"]: c["status"] for c in pod["status"]["conditions"]}
    assert conditions["Ready"] == "False"
    assert pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert _operator_deployment(sandbox)["status"]["readyReplicas"] == 0
    assert not sandbox.cluster.operator_state().running


def _check_operator_wrong_namespace(sandbox):
    [container] = _operator_deployment(sandbox)["spec"]["template"]["spec"]["containers"]
    assert "--namespace=sagemaker-jobs" in container["args"]
    assert sandbox.cluster.operator_state().watch_namespace == "sagemaker-jobs"


def _check_sa_annotation_missing(sandbox):
    account = kubectl_json(
        sandbox, "get", "serviceaccount", OPERATOR_SERVICE_ACCOUNT, "-n", OPERATOR_NAMESPACE
    )
    assert ROLE_ARN_ANNOTATION not in (account["metadata"].get("annotations") or {})
    assert sandbox.cluster.operator_state().role_arn is None


CHECKS = {
    "no-oidc-provider": _check_no_oidc_provider,
    "wrong-sub": _check_wrong_sub,
    "wrong-aud": _check_wrong_aud,
    "trust-too-broad": _check_trust_too_broad,
    "wildcard-principal": _check_wildcard_principal,
    "policy-missing": _check_policy_missing,
    "execution-role-trust": _check_execution_role_trust,
    "no-bucket": _check_no_bucket,
    "crds-missing": _check_crds_missing,
    "operator-not-running": _check_operator_not_running,
    "operator-crashloop": _check_operator_crashloop,
    "operator-wrong-namespace": _check_operator_wrong_namespace,
    "sa-annotation-missing": _check_sa_annotation_missing,
}


def test_every_misconfiguration_has_a_check():
    assert set(CHECKS) == set(MISCONFIGURATIONS)
    assert all(MISCONFIGURATIONS.values())  # each has a description


@pytest.mark.parametrize("name", sorted(MISCONFIGURATIONS))
def test_misconfiguration_does_what_it_says(sandbox, name):
    sandbox.misconfigure(name)
    CHECKS[name](sandbox)


# -- flavours ---------------------------------------------------------------------------------------------
# (here, not in tests/sandbox/ack/: a second sandbox in the process would wipe that package's shared one,
# moto's state being process-wide)
def test_ack_wrong_region_needs_the_ack_controller(sandbox):
    assert "ack-wrong-region" not in sandbox.misconfigurations
    with pytest.raises(ValueError, match="needs the ACK controller"):
        sandbox.misconfigure("ack-wrong-region")


def test_both_flavours_side_by_side(tmp_path):
    with Sandbox(tmp_path / "both", phase_delay=0.05, poll_interval=0.1, flavour="both") as sb:
        info = sb.info
        assert info.flavour == "both" and info.operator_role_arn != info.ack_role_arn
        crds = sb.kube.list_objects("apiextensions.k8s.io/v1", "customresourcedefinitions")
        groups = {c["spec"]["group"] for c in crds}
        assert {"sagemaker.aws.amazon.com", "sagemaker.services.k8s.aws"} <= groups
        url = f"s3://{info.bucket}/nowhere/model.tar.gz"  # CreateModel does not read it
        container = {"containerHostname": "xgboost", "image": "img"}
        sb.kube.apply({
            "apiVersion": "sagemaker.services.k8s.aws/v1alpha1",
            "kind": "Model",
            "metadata": {"name": "ack-both", "namespace": "default"},
            "spec": {"modelName": "ack-both", "executionRoleARN": info.execution_role_arn,
                     "primaryContainer": {**container, "modelDataURL": url}},
        })  # fmt: skip
        sb.kube.apply({
            "apiVersion": "sagemaker.aws.amazon.com/v1",
            "kind": "Model",
            "metadata": {"name": "legacy-both", "namespace": "default"},
            "spec": {"executionRoleArn": info.execution_role_arn, "region": info.region,
                     "primaryContainer": {**container, "modelDataUrl": url}},
        })  # fmt: skip

        def status(api_version: str, name: str) -> dict:
            return (sb.kube.get(api_version, "models", name, namespace="default") or {}).get("status") or {}

        def ack_synced() -> bool:
            ack = status("sagemaker.services.k8s.aws/v1alpha1", "ack-both").get("conditions") or []
            return {c["type"]: c["status"] for c in ack}.get("ACK.ResourceSynced") == "True"

        wait_for(ack_synced, timeout=30, what="the ACK Model")
        wait_for(
            lambda: status("sagemaker.aws.amazon.com/v1", "legacy-both").get("status") == "Created",
            timeout=30,
            what="the legacy Model",
        )
        sb.misconfigure("operator-not-running")  # acts on both controllers
        assert not sb.cluster.operator_state().running and not sb.cluster.ack_state().running
