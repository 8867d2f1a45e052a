"""sandbox.aws.server: moto on 127.0.0.1 with an ephemeral port, quiet, managed policies, reset, stop."""

from __future__ import annotations

import logging
import os
import socket
import threading
import urllib.parse

import pytest
from botocore.exceptions import ClientError

from sandbox.aws import get_simulator, install, start_moto

from .conftest import client


def test_binds_loopback_on_an_ephemeral_port(moto):
    parsed = urllib.parse.urlparse(moto.url)
    assert parsed.scheme == "http"
    assert parsed.hostname == "127.0.0.1"
    assert parsed.port not in (None, 0, 5000)
    assert (moto.host, moto.port) == ("127.0.0.1", parsed.port)
    identity = client(moto.url, "sts").get_caller_identity()
    assert identity["Account"] == "123456789012"


def test_region_independent(moto):
    model = {"ExecutionRoleArn": "arn:aws:iam::123456789012:role/r", "PrimaryContainer": {"Image": "xgboost"}}
    for region in ("eu-central-1", "ap-south-1"):
        client(moto.url, "sagemaker", region).create_model(ModelName=f"probe-{region}", **model)
    for region in ("eu-central-1", "ap-south-1"):
        names = [m["ModelName"] for m in client(moto.url, "sagemaker", region).list_models()["Models"]]
        assert f"probe-{region}" in names and len([n for n in names if n.startswith("probe-")]) == 1


def test_quiet_and_managed_policies(moto):
    assert logging.getLogger("werkzeug").getEffectiveLevel() >= logging.ERROR
    assert os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] == "true"
    policy = client(moto.url, "iam").get_policy(PolicyArn="arn:aws:iam::aws:policy/AmazonSageMakerFullAccess")
    assert policy["Policy"]["PolicyName"] == "AmazonSageMakerFullAccess"


def test_simulator_is_installed_once_per_process(moto):
    assert moto.simulator is get_simulator() is install()
    assert moto.sim is moto.simulator
    # StopTrainingJob is implemented (moto alone answers HTTP 500)
    with pytest.raises(ClientError) as e:
        client(moto.url, "sagemaker").stop_training_job(TrainingJobName="does-not-exist")
    assert e.value.response["Error"]["Code"] == "ValidationException"


def test_reset_wipes_aws_state_and_simulator_state(moto):
    s3 = client(moto.url, "s3")
    s3.create_bucket(Bucket="to-be-wiped", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    moto.simulator.faults.add("x-*", "hang")
    moto.reset()
    assert s3.list_buckets()["Buckets"] == []
    assert moto.simulator.faults.list() == []
    assert moto.running


def test_stop_is_idempotent_and_leaves_nothing_behind():
    before = set(threading.enumerate())
    srv = start_moto(phase_delay=0.2)
    assert client(srv.url, "sts").get_caller_identity()["Account"]
    srv.stop()
    srv.stop()
    assert not srv.running
    assert [t for t in set(threading.enumerate()) - before if t.is_alive()] == []
    with pytest.raises(OSError), socket.create_connection((srv.host, srv.port), timeout=1):
        pass
    with start_moto() as again:  # a context manager too; the patches are not installed twice
        assert again.simulator is srv.simulator
    assert not again.running
