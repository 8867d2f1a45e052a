#!/usr/bin/env python3
"""``aws eks get-token`` without the AWS CLI: the image's ``aws`` (docker-compose deployment).

``aws eks update-kubeconfig`` writes a kubeconfig whose ``exec`` plugin runs
``aws --region R eks get-token --cluster-name C --output json``. The Airflow image installs this file
as ``/usr/local/bin/aws`` so that kubeconfig works inside the containers unchanged; it implements that
one command (and refuses every other one), with boto3 from the image:

* the token is what ``aws eks get-token`` and the amazon provider's
  ``airflow.providers.amazon.aws.utils.eks_get_token.fetch_access_token_for_cluster`` produce: a
  presigned, 60-second STS ``GetCallerIdentity`` URL on the regional endpoint, signed with the
  ``x-k8s-aws-id`` header, base64url-encoded behind ``k8s-aws-v1.`` (tests/deploy checks it equals
  the provider's). It does not import the provider: importing ``airflow`` costs seconds per token,
  and the Kubernetes clients run the plugin every time they load the kubeconfig;
* credentials: an explicit profile (``--profile`` or ``AWS_PROFILE``) first; else the access key in
  ``AIRFLOW_CONN_AWS_DEFAULT`` (login/password, as Airflow's ``aws_default`` uses it); else boto3's
  default chain (environment, the host's instance role). ``--role-arn`` assumes that role first;
* the output is an ``ExecCredential`` of the ``apiVersion`` the client asked for (``KUBERNETES_EXEC_INFO``),
  ``client.authentication.k8s.io/v1beta1`` when it did not say.

To use the real AWS CLI v2 instead, install it over ``/usr/local/bin/aws`` in the Dockerfile.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn
from urllib.parse import parse_qsl, unquote, urlsplit

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from botocore.signers import RequestSigner

DEFAULT_EXEC_API_VERSION = "client.authentication.k8s.io/v1beta1"
EXEC_API_VERSIONS = (
    "client.authentication.k8s.io/v1",
    "client.authentication.k8s.io/v1beta1",
    "client.authentication.k8s.io/v1alpha1",
)
TOKEN_PREFIX = "k8s-aws-v1."  # noqa: S105 (the token format, not a secret)
#: Lifetime of the presigned URL (what EKS accepts) and of the token as announced to the client.
URL_EXPIRES_IN = 60
TOKEN_EXPIRATION = timedelta(minutes=14)
CLUSTER_HEADER = "x-k8s-aws-id"
AIRFLOW_CONNECTION_ENV = "AIRFLOW_CONN_AWS_DEFAULT"
ASSUME_ROLE_SESSION_NAME = "EKSGetTokenAuth"
STAND_IN = (
    "this image's `aws` is a stand-in that implements only `aws eks get-token` (the kubeconfig exec "
    "plugin written by `aws eks update-kubeconfig`); install the AWS CLI v2 for anything else"
)


class UsageError(Exception):
    """Bad command line: exit 2, like the AWS CLI."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = _Parser(prog="aws", description=STAND_IN, add_help=True)
    parser.add_argument("service", help="eks")
    parser.add_argument("operation", help="get-token")
    parser.add_argument("--region", help="the cluster's region (else AWS_REGION / AWS_DEFAULT_REGION)")
    parser.add_argument("--profile", help="an AWS profile (else AWS_PROFILE)")
    parser.add_argument("--output", choices=["json"], default="json")
    cluster = parser.add_mutually_exclusive_group()
    cluster.add_argument("--cluster-name", help="the EKS cluster's name")
    cluster.add_argument("--cluster-id", help="the id of a local EKS cluster on Outposts")
    parser.add_argument("--role-arn", help="a role to assume before signing")
    args, unknown = parser.parse_known_intermixed_args(argv)
    if (args.service, args.operation) != ("eks", "get-token"):
        raise UsageError(f"`aws {args.service} {args.operation}` is not implemented")
    if unknown:
        raise UsageError(f"unrecognized arguments: {' '.join(unknown)}")
    if not (args.cluster_name or args.cluster_id):
        raise UsageError("one of the arguments --cluster-name --cluster-id is required")
    return args


def connection_credentials(value: str | None) -> dict[str, str]:
    """Access key, secret and session token (and region) of an Airflow AWS connection: JSON or URI."""
    if not value or not value.strip():
        return {}
    value = value.strip()
    if value.startswith("{"):
        conn = json.loads(value)
        login, password, extra = conn.get("login"), conn.get("password"), conn.get("extra") or {}
        if isinstance(extra, str):
            extra = json.loads(extra) if extra.strip() else {}
    else:
        parts = urlsplit(value)
        login = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password else None
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        extra = json.loads(query["__extra__"]) if "__extra__" in query else query
    out = {}
    if login and password:
        out = {"aws_access_key_id": login, "aws_secret_access_key": password}
        if extra.get("aws_session_token"):
            out["aws_session_token"] = extra["aws_session_token"]
    if extra.get("region_name"):
        out["region_name"] = extra["region_name"]
    return out


def make_session(args: argparse.Namespace, environ: dict[str, str]) -> boto3.Session:
    """The session that signs: see the module docstring for the order of the credential sources."""
    from_connection = connection_credentials(environ.get(AIRFLOW_CONNECTION_ENV))
    connection_region = from_connection.pop("region_name", None)
    region = (
        args.region or environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or connection_region
    )
    if args.profile or environ.get("AWS_PROFILE") or not from_connection:
        session = boto3.Session(profile_name=args.profile, region_name=region)
    else:
        session = boto3.Session(region_name=region, **from_connection)
    if not session.region_name:
        raise UsageError(
            "no region: pass --region (aws eks update-kubeconfig does) or set AWS_DEFAULT_REGION"
        )
    if args.role_arn:
        sts = session.client("sts", region_name=session.region_name)
        role = sts.assume_role(RoleArn=args.role_arn, RoleSessionName=ASSUME_ROLE_SESSION_NAME)
        creds = role["Credentials"]
        session = boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=session.region_name,
        )
    return session


def get_token(session: boto3.Session, cluster: str) -> str:
    """The bearer token EKS accepts: the provider's ``fetch_access_token_for_cluster``, regional STS."""
    credentials = session.get_credentials()
    if credentials is None:
        raise RuntimeError(
            "no AWS credentials: put an access key in AIRFLOW_CONN_AWS_DEFAULT (login/password) or give "
            "the host an instance role reachable from containers (IMDSv2 hop limit >= 2)"
        )
    sts = session.client("sts", region_name=session.region_name)
    url = f"{sts.meta.endpoint_url}/?Action=GetCallerIdentity&Version=2011-06-15"
    signer = RequestSigner(
        service_id=sts.meta.service_model.service_id,
        region_name=session.region_name,
        signing_name="sts",
        signature_version="v4",
        credentials=credentials,
        event_emitter=session.events,
    )
    signed = signer.generate_presigned_url(
        {"method": "GET", "url": url, "body": {}, "headers": {CLUSTER_HEADER: cluster}, "context": {}},
        region_name=session.region_name,
        expires_in=URL_EXPIRES_IN,
        operation_name="",
    )
    return TOKEN_PREFIX + base64.urlsafe_b64encode(signed.encode()).decode().rstrip("=")


def exec_api_version(environ: dict[str, str]) -> str:
    """The ExecCredential version the client expects (it refuses any other)."""
    info = environ.get("KUBERNETES_EXEC_INFO")
    if not info:
        return DEFAULT_EXEC_API_VERSION
    version = json.loads(info).get("apiVersion") or DEFAULT_EXEC_API_VERSION
    if version not in EXEC_API_VERSIONS:
        raise UsageError(f"unsupported ExecCredential apiVersion {version!r}")
    return version


def exec_credential(token: str, api_version: str, now: datetime | None = None) -> dict[str, Any]:
    expires = (now or datetime.now(UTC)) + TOKEN_EXPIRATION
    return {
        "kind": "ExecCredential",
        "apiVersion": api_version,
        "spec": {},
        "status": {"expirationTimestamp": expires.strftime("%Y-%m-%dT%H:%M:%SZ"), "token": token},
    }


def main(argv: list[str] | None = None, environ: dict[str, str] | None = None) -> int:
    environ = dict(os.environ if environ is None else environ)
    # Regional STS (EKS accepts only that), also for the credentials' own STS calls: this process's env.
    os.environ["AWS_STS_REGIONAL_ENDPOINTS"] = "regional"
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
        api_version = exec_api_version(environ)
        session = make_session(args, environ)
        token = get_token(session, args.cluster_id or args.cluster_name)
    except UsageError as exc:
        print(f"aws: error: {exc}\n({STAND_IN})", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError, RuntimeError, ValueError) as exc:
        print(f"aws eks get-token: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 255
    print(json.dumps(exec_credential(token, api_version)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
