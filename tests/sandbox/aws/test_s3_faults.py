"""sandbox.aws.s3_faults: S3 throttling and 5xx in front of moto, seen through boto3 and raw HTTP.

The retrying client uses the pipeline's own botocore config (standard mode, 8 attempts).
"""

from __future__ import annotations

import hashlib
import http.client
import io
import itertools
import json
import time
import urllib.request

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from sagemaker_k8s.hooks.aws import RETRY_CONFIG
from sandbox.__main__ import main as sandbox_cli
from sandbox.aws.s3_faults import ERRORS, S3Faults, operation_of

from .conftest import REGION, client

MIB = 1 << 20
MULTIPART = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB, max_concurrency=3)
_buckets = itertools.count(1)


def s3(url: str, config: Config = RETRY_CONFIG):
    return boto3.client(
        "s3",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106
        config=config,
    )


@pytest.fixture
def faults(moto) -> S3Faults:
    yield moto.s3_faults
    moto.s3_faults.clear()


@pytest.fixture
def bucket(moto) -> str:
    name = f"s3-faults-{next(_buckets)}"
    client(moto.url, "s3").create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    return name


def fast(moto):
    """A client that never retries: every injected error reaches the test."""
    return client(moto.url, "s3")


def status_of(call) -> tuple[int, str]:
    with pytest.raises(ClientError) as e:
        call()
    return e.value.response["ResponseMetadata"]["HTTPStatusCode"], e.value.response["Error"]["Code"]


def test_a_throttled_put_is_retried_by_botocore_and_succeeds(moto, faults, bucket):
    rule = faults.add(method="PUT", bucket=bucket, key="data/*", count=2)
    response = s3(moto.url).put_object(Bucket=bucket, Key="data/a.csv", Body=b"1,2\n", Metadata={"k": "v"})
    assert response["ResponseMetadata"]["RetryAttempts"] == 2
    assert faults.hits(rule) == 2
    assert [(h.code, h.operation, h.key) for h in faults.fired()] == [
        ("SlowDown", "PutObject", "data/a.csv")
    ] * 2
    stored = fast(moto).get_object(Bucket=bucket, Key="data/a.csv")
    assert stored["Body"].read() == b"1,2\n" and stored["Metadata"] == {"k": "v"}
    assert faults.rules == [], "count exhausted"


def test_the_error_is_what_s3_sends(moto, faults, bucket):
    faults.add(method="PUT", bucket=bucket, count=1)
    connection = http.client.HTTPConnection(moto.host, moto.port, timeout=10)
    auth = (
        "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-west-2/s3/aws4_request, SignedHeaders=host, Signature=0"
    )
    connection.request("PUT", f"/{bucket}/k", body=b"x" * 1000, headers={"Authorization": auth})
    response = connection.getresponse()
    body = response.read()
    connection.close()
    assert (response.status, response.reason) == (503, "Slow Down")
    assert response.getheader("Content-Type") == "application/xml"
    assert response.getheader("x-amz-request-id") and response.getheader("x-amz-id-2")
    assert body.startswith(
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>"
    )
    assert body.endswith(b"</HostId></Error>")

    fast(moto).put_object(Bucket=bucket, Key="k", Body=b"x")  # the rule is spent
    faults.add(method="PUT", bucket=bucket, count=1)
    with pytest.raises(ClientError) as e:
        fast(moto).put_object(Bucket=bucket, Key="k", Body=b"x")
    error = e.value.response["Error"]
    assert (error["Code"], error["Message"]) == ("SlowDown", "Please reduce your request rate.")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503


def test_internal_error_and_head_requests(moto, faults, bucket):
    fast(moto).put_object(Bucket=bucket, Key="obj", Body=b"x")
    faults.add(method="GET", bucket=bucket, key="obj", code="InternalError", count=1)
    faults.add(method="HEAD", bucket=bucket, key="obj", count=1)
    assert status_of(lambda: fast(moto).get_object(Bucket=bucket, Key="obj")) == (500, "InternalError")
    assert status_of(lambda: fast(moto).head_object(Bucket=bucket, Key="obj")) == (503, "503")  # no body
    assert fast(moto).get_object(Bucket=bucket, Key="obj")["Body"].read() == b"x"
    assert ERRORS["InternalError"][1] == "We encountered an internal error. Please try again."


def test_non_matching_requests_are_untouched(moto, faults, bucket):
    other = f"s3-faults-other-{next(_buckets)}"
    fast(moto).create_bucket(Bucket=other, CreateBucketConfiguration={"LocationConstraint": REGION})
    rule = faults.add(method="PUT", bucket=bucket, key="data/*")  # forever
    fast(moto).put_object(Bucket=bucket, Key="model/data/x", Body=b"1")  # glob anchors at the start
    fast(moto).put_object(Bucket=other, Key="data/x", Body=b"1")
    assert fast(moto).list_objects_v2(Bucket=bucket)["KeyCount"] == 1  # bucket-level: no key to match
    assert client(moto.url, "sts").get_caller_identity()["Account"]  # other services
    assert faults.hits(rule) == 0
    assert status_of(lambda: fast(moto).put_object(Bucket=bucket, Key="data/x", Body=b"1"))[1] == "SlowDown"
    assert faults.hits(rule) == 1


def test_clear_and_remove(moto, faults, bucket):
    first = faults.add(method="PUT", bucket=bucket)
    second = faults.add(method="GET", bucket=bucket)
    assert status_of(lambda: fast(moto).put_object(Bucket=bucket, Key="k", Body=b"1"))[1] == "SlowDown"
    faults.remove(first)
    fast(moto).put_object(Bucket=bucket, Key="k", Body=b"1")
    assert [r.id for r in faults.rules] == [second]
    faults.clear()
    assert fast(moto).get_object(Bucket=bucket, Key="k")["Body"].read() == b"1"
    assert faults.rules == [] and faults.fired() == []
    assert (faults.hits(first), faults.hits(second)) == (1, 0), "hits stay readable"
    assert [r.active for r in faults.all_rules() if r.id in (first, second)] == [False, False]


def test_reset_clears_the_faults(moto, faults, bucket):
    faults.add(method="PUT")
    moto.reset()
    assert faults.rules == []


def test_latency_only_rule_then_serves(moto, faults, bucket):
    rule = faults.add(method="PUT", bucket=bucket, code=None, delay_seconds=0.3, count=1)
    started = time.monotonic()
    fast(moto).put_object(Bucket=bucket, Key="slow", Body=b"1")
    assert time.monotonic() - started >= 0.3
    assert faults.hits(rule) == 1


def _multipart_body() -> bytes:
    return bytes(range(256)) * (11 * MIB // 256)  # 3 parts: 5 + 5 + 1 MiB


def test_a_failed_part_is_retried_and_the_object_completes(moto, faults, bucket):
    body = _multipart_body()
    rule = faults.add(bucket=bucket, key="big", part_number=2, count=2, code="InternalError")
    s3(moto.url).upload_fileobj(
        io.BytesIO(body), bucket, "big", Config=MULTIPART, ExtraArgs={"Metadata": {"a": "b"}}
    )
    assert faults.hits(rule) == 2
    assert {(h.operation, h.part_number) for h in faults.fired()} == {("UploadPart", 2)}
    stored = fast(moto).get_object(Bucket=bucket, Key="big")
    assert hashlib.sha256(stored["Body"].read()).digest() == hashlib.sha256(body).digest()
    assert stored["Metadata"] == {"a": "b"}
    assert stored["ETag"].endswith('-3"'), "it really was a 3-part upload"


def test_a_part_throttled_past_the_retries_leaves_no_object(moto, faults, bucket):
    rule = faults.add(bucket=bucket, key="big", operation="UploadPart", part_number=2)  # forever
    uploaded_parts = faults.add(
        bucket=bucket, key="big", operation="UploadPart", code=None
    )  # counts the rest
    two_attempts = Config(retries={"mode": "standard", "total_max_attempts": 2})
    with pytest.raises(ClientError, match=r"\(SlowDown\) when calling the UploadPart operation"):
        s3(moto.url, two_attempts).upload_fileobj(
            io.BytesIO(_multipart_body()), bucket, "big", Config=MULTIPART
        )
    assert faults.hits(rule) == 2
    assert faults.hits(uploaded_parts) >= 1, "other parts were uploaded: the object was partial"
    assert status_of(lambda: fast(moto).head_object(Bucket=bucket, Key="big"))[0] == 404
    assert fast(moto).list_multipart_uploads(Bucket=bucket).get("Uploads", []) == [], "aborted"


def test_rules_are_validated(faults):
    with pytest.raises(ValueError, match="unknown S3 error code"):
        faults.add(code="AccessDenied")
    with pytest.raises(ValueError, match="part_number"):
        faults.add(operation="PutObject", part_number=1)
    assert faults.add(part_number=1) and faults.rules[-1].operation == "UploadPart"


@pytest.mark.parametrize(
    ("method", "key", "query", "expected"),
    [
        ("PUT", "k", {}, "PutObject"),
        ("PUT", "k", {"partNumber": ["2"], "uploadId": ["u"]}, "UploadPart"),
        ("POST", "k", {"uploads": [""]}, "CreateMultipartUpload"),
        ("POST", "k", {"uploadId": ["u"]}, "CompleteMultipartUpload"),
        ("DELETE", "k", {"uploadId": ["u"]}, "AbortMultipartUpload"),
        ("GET", "k", {"X-Amz-Credential": ["c"], "response-content-type": ["t"]}, "GetObject"),
        ("HEAD", "k", {}, "HeadObject"),
        ("PUT", "k", {"tagging": [""]}, None),
        ("GET", "", {"list-type": ["2"]}, "ListObjectsV2"),
        ("HEAD", "", {}, "HeadBucket"),
        ("GET", "", {"policy": [""]}, None),
    ],
)
def test_operation_names(method, key, query, expected):
    assert operation_of(method, key, query) == expected


def test_sandbox_control_api_and_cli(sandbox, capsys):
    bucket, url = sandbox.info.bucket, sandbox.info.aws_endpoint_url
    rule = sandbox.arm_s3_fault(method="PUT", bucket=bucket, key="a/*", count=1)
    assert (
        status_of(
            lambda: s3(url, Config(retries={"total_max_attempts": 1})).put_object(
                Bucket=bucket, Key="a/1", Body=b"1"
            )
        )[1]
        == "SlowDown"
    )
    assert sandbox.moto.s3_faults.hits(rule) == 1

    code = sandbox_cli(
        ["--state-dir", str(sandbox.state_dir), "fault", "s3:InternalError", "--key", "b/*", "--count", "2"]
    )
    assert code == 0
    cli_rule = json.loads(capsys.readouterr().out)["rule"]
    with urllib.request.urlopen(f"{sandbox.info.control_url}/faults/s3", timeout=10) as response:  # noqa: S310
        listed = {r["id"]: r for r in json.loads(response.read())}
    assert listed[rule]["hits"] == 1 and not listed[rule]["active"]
    assert listed[cli_rule]["code"] == "InternalError" and listed[cli_rule]["key"] == "b/*"
    assert listed[cli_rule]["count"] == 2 and listed[cli_rule]["active"]

    sandbox_cli(["--state-dir", str(sandbox.state_dir), "clear-faults"])
    assert sandbox.moto.s3_faults.rules == []
    s3(url).put_object(Bucket=bucket, Key="b/1", Body=b"1")
    assert sandbox.moto.s3_faults.hits(cli_rule) == 0
