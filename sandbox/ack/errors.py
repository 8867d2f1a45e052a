"""The errors an ACK reconcile can end with, worded as the real controller (aws-sdk-go-v2, runtime v0.62)
words them in its conditions.

* :class:`ApiError` -- an AWS API error. Conditions show smithy's ``Error()``: ``<Code>: <message>`` for the
  exceptions SageMaker's model declares (ResourceInUse, ResourceNotFound, ResourceLimitExceeded,
  ConflictException), ``api error <Code>: <message>`` for the rest (ValidationException, AccessDenied...).
  ``str()`` is the whole operation error (``operation error SageMaker: <Op>, https response error ...``),
  which the runtime puts in the ResourceSynced condition's reason. Terminal if the kind lists its code
  (``terminalAWSError``), else recoverable.
* :class:`TerminalError` -- ``ackerr.NewTerminalError`` (e.g. "not implemented" for an unsupported update).
* :class:`RequeueError` -- ``ackrequeue.NeededAfter``: the resource manager asks to be called again
  ("TrainingJob is Stopping."); it shows as ``ACK.Recoverable``.
* :func:`credential_error` -- IRSA failing before the SageMaker call (see ``sandbox/common/credentials.py``).
"""

from __future__ import annotations

import hashlib

from botocore.exceptions import BotoCoreError, ClientError

from ..common.credentials import Denial

MODELED = frozenset({"ResourceInUse", "ResourceNotFound", "ResourceLimitExceeded", "ConflictException"})


class AckError(Exception):
    """Anything a resource manager call can fail with."""

    @property
    def condition_message(self) -> str:
        return str(self)


class ApiError(AckError):
    def __init__(
        self, code: str | None, message: str, operation: str, status: int = 400, full: str = ""
    ) -> None:
        self.code, self.message, self.operation, self.status = code, message, operation, status
        rid = hashlib.sha256(f"{operation}/{code}/{message}".encode()).hexdigest()
        request_id = f"{rid[:8]}-{rid[8:12]}-{rid[12:16]}-{rid[16:20]}-{rid[20:32]}"
        super().__init__(
            full
            or f"operation error SageMaker: {operation}, https response error StatusCode: {status}, "
            f"RequestID: {request_id}, {self.text}"
        )

    @property
    def text(self) -> str:
        """smithy's ``APIError.Error()``; without a code (no API error in the chain) the whole error."""
        if self.code is None:
            return str(self)
        return (
            f"{self.code}: {self.message}"
            if self.code in MODELED
            else f"api error {self.code}: {self.message}"
        )

    @property
    def condition_message(self) -> str:
        return self.text

    @classmethod
    def of(cls, error: ClientError | BotoCoreError, operation: str) -> ApiError:
        if isinstance(error, ClientError):
            err = error.response.get("Error", {})
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 400
            return cls(err.get("Code") or "Unknown", err.get("Message", ""), operation, status)
        return cls(None, str(error), operation, full=f"operation error SageMaker: {operation}, {error}")


def credential_error(denial: Denial, operation: str) -> ApiError:
    """IRSA failing as aws-sdk-go-v2 reports it: the STS error inside the SageMaker operation error."""
    prefix = (
        f"operation error SageMaker: {operation}, get identity: get credentials: "
        "failed to refresh cached credentials"
    )
    if denial.reason == "no-role":  # no web identity token file: the chain falls through to IMDS
        full = (
            f"{prefix}, no EC2 IMDS role found, operation error ec2imds: GetMetadata, request canceled, "
            "context deadline exceeded"
        )
        return ApiError(None, "", operation, full=full)
    sts = (
        f"{prefix}, failed to retrieve credentials, operation error STS: AssumeRoleWithWebIdentity, "
        "https response error"
    )
    if denial.reason == "no-provider":
        message = f"No OpenIDConnect provider found in your account for {denial.issuer}"
        return ApiError(
            "InvalidIdentityToken",
            message,
            operation,
            full=f"{sts} StatusCode: 400, RequestID: -, api error InvalidIdentityToken: {message}",
        )
    if denial.reason == "trust":
        message = "Not authorized to perform sts:AssumeRoleWithWebIdentity"
        return ApiError(
            "AccessDenied",
            message,
            operation,
            full=f"{sts} StatusCode: 403, RequestID: -, api error AccessDenied: {message}",
        )
    message = (
        f"User: {denial.assumed_role} is not authorized to perform: {denial.action} "
        f"because no identity-based policy allows the {denial.action} action"
    )
    return ApiError("AccessDeniedException", message, operation)


class TerminalError(AckError):
    pass


class RequeueError(AckError):
    pass


class Failed(Exception):
    """What a reconcile returns as its error: ``terminal`` (``ackerr.Terminal``: not requeued), or ``quiet``
    (the runtime returned no resource: nothing is written, it retries)."""

    def __init__(self, error: Exception, *, terminal: bool = False, quiet: bool = False) -> None:
        super().__init__(str(error))
        self.error, self.terminal, self.quiet = error, terminal, quiet

    @property
    def reason(self) -> str:
        return "resource is in terminal condition" if self.terminal else str(self.error)
