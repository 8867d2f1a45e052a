"""Error hierarchy: which errors Airflow retries, and what a Kubernetes error message may contain."""

from __future__ import annotations

import json

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from sagemaker_k8s.exceptions import (
    ConfigError,
    FieldError,
    KubeApiError,
    KubeConflict,
    KubeForbidden,
    KubeInvalid,
    KubeNotFound,
    KubeTransientError,
    KubeUnauthorized,
    ManifestValidationError,
    OperatorNotReconcilingError,
    S3ObjectError,
    SageMakerK8sError,
    SpecMismatchError,
    TerminalStateError,
    kube_error_from_status,
    redact,
    s3_object_error,
)

FAIL_FAST = [
    ConfigError,
    ManifestValidationError,
    SpecMismatchError,
    TerminalStateError,
    OperatorNotReconcilingError,
]


@pytest.mark.parametrize("cls", [*FAIL_FAST, KubeInvalid])
def test_permanent_errors_are_fail_exceptions(cls: type) -> None:
    assert issubclass(cls, AirflowFailException)
    assert issubclass(cls, SageMakerK8sError)


@pytest.mark.parametrize(
    "cls",
    [
        KubeApiError,
        KubeNotFound,
        KubeConflict,
        KubeForbidden,
        KubeUnauthorized,
        KubeTransientError,
        S3ObjectError,
    ],
)
def test_api_errors_are_retryable(cls: type) -> None:
    assert issubclass(cls, AirflowException)
    assert not issubclass(cls, AirflowFailException)


def test_config_error_names_param() -> None:
    err = ConfigError("region: bad", param="region", problems=("a", "b"))
    assert err.param == "region"
    assert err.problems == ("a", "b")
    assert str(err) == "region: bad"


def test_manifest_validation_error_lists_every_field() -> None:
    errors = [
        FieldError("spec.resourceConfig.instanceCount", "must be >= 1"),
        FieldError("spec.x", "unknown field"),
    ]
    err = ManifestValidationError("TrainingJob 'a'", errors)
    assert err.errors == errors
    assert err.param == "spec.resourceConfig.instanceCount"
    assert "spec.resourceConfig.instanceCount: must be >= 1" in str(err)
    assert "spec.x: unknown field" in str(err)
    assert "2 problem(s)" in str(err)


def test_field_error_root_path() -> None:
    assert str(FieldError("", "must be an object")) == "<root>: must be an object"


def test_spec_mismatch_and_terminal_attributes() -> None:
    mismatch = SpecMismatchError("differs", ["spec.a: 1 (existing) != 2 (desired)"])
    assert mismatch.differences == ["spec.a: 1 (existing) != 2 (desired)"]
    assert "spec.a" in str(mismatch)
    terminal = TerminalStateError("job failed", status="Failed", reason="AlgorithmError: boom")
    assert (terminal.status, terminal.reason) == ("Failed", "AlgorithmError: boom")


def _status(code: int, reason: str, message: str, **details: object) -> dict:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
        "details": details,
    }


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (401, KubeUnauthorized),
        (403, KubeForbidden),
        (404, KubeNotFound),
        (409, KubeConflict),
        (422, KubeInvalid),
        (408, KubeTransientError),
        (429, KubeTransientError),
        (500, KubeTransientError),
        (502, KubeTransientError),
        (503, KubeTransientError),
        (504, KubeTransientError),
        (400, KubeApiError),
        (410, KubeApiError),
    ],
)
def test_status_maps_to_class(code: int, cls: type) -> None:
    err = kube_error_from_status(code, _status(code, "Whatever", "msg"))
    assert type(err) is cls
    assert err.status == code


def test_body_as_json_string_bytes_and_dict() -> None:
    body = _status(404, "NotFound", 'trainingjobs.sagemaker.aws.amazon.com "x" not found')
    for variant in (body, json.dumps(body), json.dumps(body).encode()):
        err = kube_error_from_status(404, variant)
        assert isinstance(err, KubeNotFound)
        assert err.reason == "NotFound"
        assert 'trainingjobs.sagemaker.aws.amazon.com "x" not found' in str(err)


def test_conflict_already_exists() -> None:
    assert kube_error_from_status(409, _status(409, "AlreadyExists", "exists")).already_exists
    assert not kube_error_from_status(409, _status(409, "Conflict", "stale")).already_exists


def test_invalid_carries_causes() -> None:
    causes = [
        {
            "reason": "FieldValueInvalid",
            "message": "Invalid value: 0",
            "field": "spec.resourceConfig.instanceCount",
        }
    ]
    err = kube_error_from_status(422, _status(422, "Invalid", "TrainingJob is invalid", causes=causes))
    assert isinstance(err, KubeInvalid)
    assert err.causes == causes
    assert "spec.resourceConfig.instanceCount: Invalid value: 0" in str(err)


@pytest.mark.parametrize(
    ("retry_after", "details", "expected"),
    [
        (None, {"retryAfterSeconds": 3}, 3.0),
        (7.5, {"retryAfterSeconds": 3}, 7.5),
        (None, {}, None),
        (None, {"retryAfterSeconds": True}, None),
        (None, {"retryAfterSeconds": "3"}, None),
    ],
)
def test_retry_after(retry_after: float | None, details: dict, expected: float | None) -> None:
    err = kube_error_from_status(429, _status(429, "TooManyRequests", "slow down", **details), retry_after)
    assert isinstance(err, KubeTransientError)
    assert err.retry_after == expected


@pytest.mark.parametrize(
    "body",
    [
        None,
        "",
        "<html><body>502 Bad Gateway</body></html>",
        "{not json",
        "[1, 2]",
        b"\xff\xfe",
        {"message": 5},
    ],
)
def test_hostile_or_odd_bodies_never_crash(body: object) -> None:
    err = kube_error_from_status(502, body)  # type: ignore[arg-type]
    assert isinstance(err, KubeTransientError)
    assert str(err).startswith("Kubernetes API returned HTTP 502")


def test_messages_are_single_line_and_capped() -> None:
    err = kube_error_from_status(500, _status(500, "InternalError", "line1\nline2\r\n" + "x" * 5000))
    first = str(err).splitlines()[0]
    assert "line1 line2" in first
    assert len(first) < 700
    assert len(str(err).splitlines()) == 1


@pytest.mark.parametrize(
    "secret_text",
    [
        "Authorization: Bearer abc.def.ghi",
        "token=s3cr3tvalue",
        "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2lnbmF0dXJl",
        'password: "hunter2"',
    ],
)
def test_tokens_never_reach_messages(secret_text: str) -> None:
    err = kube_error_from_status(401, _status(401, "Unauthorized", f"request failed: {secret_text}"))
    for secret in ("abc.def.ghi", "s3cr3tvalue", "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ", "hunter2"):
        assert secret not in str(err)
    assert "[REDACTED]" in str(err)


def test_redact_leaves_plain_text_alone() -> None:
    assert redact('trainingjobs "x" not found') == 'trainingjobs "x" not found'
    assert redact("a" * 600).endswith("…")


# -- S3 ---------------------------------------------------------------------------------------------
def _client_error(
    code: str, message: str, status: int, retries: int, operation: str = "PutObject"
) -> ClientError:
    """What botocore raises after its retries (the response as its parser leaves it)."""
    response = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {
            "RequestId": "4442587FB7D0A2F9",
            "HTTPStatusCode": status,
            "HTTPHeaders": {"x-amz-request-id": "4442587FB7D0A2F9", "authorization": "AWS4-HMAC-SHA256 sig"},
            "RetryAttempts": retries,
        },
    }
    return ClientError(response, operation)


@pytest.mark.parametrize(
    ("error", "expected", "attrs"),
    [
        (
            _client_error("SlowDown", "Please reduce your request rate.", 503, 8),
            "S3 PutObject of s3://my-bucket/xgboost-mnist/validation/examples failed: SlowDown: "
            "Please reduce your request rate. (HTTP 503, 9 attempts)",
            ("PutObject", "SlowDown", 503, 9),
        ),
        (
            _client_error("InternalError", "We encountered an internal error.", 500, 0, "UploadPart"),
            "S3 UploadPart of s3://my-bucket/xgboost-mnist/validation/examples failed: InternalError: "
            "We encountered an internal error. (HTTP 500, 1 attempt)",
            ("UploadPart", "InternalError", 500, 1),
        ),
        (
            _client_error("AccessDenied", "Access Denied", 403, 0),
            "S3 PutObject of s3://my-bucket/xgboost-mnist/validation/examples failed: AccessDenied: "
            "Access Denied (HTTP 403, 1 attempt)",
            ("PutObject", "AccessDenied", 403, 1),
        ),
        (
            EndpointConnectionError(
                endpoint_url="http://127.0.0.1:1/my-bucket/xgboost-mnist/validation/examples"
            ),
            "S3 request of s3://my-bucket/xgboost-mnist/validation/examples failed: EndpointConnectionError: "
            'Could not connect to the endpoint URL: "http://127.0.0.1:1/my-bucket/xgboost-mnist/validation/examples"',
            (None, "EndpointConnectionError", None, None),
        ),
        (
            ReadTimeoutError(endpoint_url="https://s3.amazonaws.com/my-bucket"),
            "S3 request of s3://my-bucket/xgboost-mnist/validation/examples failed: ReadTimeoutError: "
            'Read timeout on endpoint URL: "https://s3.amazonaws.com/my-bucket"',
            (None, "ReadTimeoutError", None, None),
        ),
    ],
    ids=["throttled", "5xx-one-attempt", "denied", "no-connection", "timeout"],
)
def test_s3_errors_name_the_object_and_the_code(error: Exception, expected: str, attrs: tuple) -> None:
    """botocore's own message ("An error occurred (SlowDown) when calling the PutObject operation")
    names neither the bucket nor the key; a retry of the task is what helps."""
    err = s3_object_error(error, bucket="my-bucket", key="xgboost-mnist/validation/examples")
    assert str(err) == expected
    assert (err.operation, err.code, err.status, err.attempts) == attrs
    assert err.uri == "s3://my-bucket/xgboost-mnist/validation/examples"
    assert isinstance(err, AirflowException) and not isinstance(err, AirflowFailException)


def test_s3_operation_can_be_named_by_the_caller() -> None:
    err = s3_object_error(
        EndpointConnectionError(endpoint_url="x"), bucket="b-1", key="k", operation="upload"
    )
    assert str(err).startswith("S3 upload of s3://b-1/k failed: EndpointConnectionError")


@pytest.mark.parametrize(
    "message",
    [
        "token=s3cr3tvalue was not accepted",
        "Authorization: Bearer abc.def.ghi",
        "line1\nline2\r\n" + "x" * 5000,
    ],
)
def test_s3_messages_are_one_redacted_bounded_line_without_headers(message: str) -> None:
    err = s3_object_error(_client_error("InvalidToken", message, 400, 0), bucket="b-1", key="k")
    text = str(err)
    assert "\n" not in text and len(text) < 500
    for secret in ("s3cr3tvalue", "abc.def.ghi", "AWS4-HMAC-SHA256", "4442587FB7D0A2F9"):
        assert secret not in text
