"""``python -m sandbox``: run the sandbox, or drive a running one.

python -m sandbox up [--state-dir DIR] [--region R] [--flavour legacy|ack|both] [--misconfigure NAME ...]
                     [--exec-kubeconfig PATH [--token-ttl SECONDS]]
python -m sandbox misconfigure NAME [--state-dir DIR]
python -m sandbox fault 'fail:AlgorithmError: boom' [--kind TrainingJob] [--name GLOB] [--state-dir DIR]
python -m sandbox fault 'update-fail:no capacity' --kind HostingDeployment [--name GLOB]
python -m sandbox fault 'fail:AlgorithmError: x' --kind HyperparameterTuningJob   (every child fails)
python -m sandbox fault 'fail:ClientError: x' --kind BatchTransformJob
python -m sandbox fault 'recoverable:ThrottlingException: Rate exceeded' --kind TrainingJob   (ACK)
python -m sandbox fault rules-pending --kind TrainingJob   (ACK: Completed, ResourceSynced stays False)
python -m sandbox fault s3:SlowDown [--method PUT] [--bucket GLOB] [--key GLOB] [--operation OP]
                                    [--part-number N] [--count N] [--delay SECONDS]
python -m sandbox clear-faults [--state-dir DIR]
python -m sandbox info [--state-dir DIR]

--state-dir (default .sandbox) goes before or after the command: ``python -m sandbox --state-dir DIR up``
is the same as ``python -m sandbox up --state-dir DIR``.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

from .state import DEFAULT_STATE_DIR, read_info


def _up(args) -> int:
    from .stack import Sandbox

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    sandbox = Sandbox(
        args.state_dir,
        region=args.region,
        namespace=args.namespace,
        phase_delay=args.phase_delay,
        flavour=args.flavour,
    )
    with sandbox:
        for name in args.misconfigure:
            sandbox.misconfigure(name)
        info = sandbox.info
        print(f"AWS (moto)        {info.aws_endpoint_url}  region {info.region}, account {info.account}")
        print(f"Kubernetes API    {info.kube_url}  kubeconfig {info.kubeconfig}")
        print(f"control API       {info.control_url}")
        print(f"EKS cluster       {info.cluster_name}  (OIDC issuer {info.oidc_issuer})")
        print(f"bucket            s3://{info.bucket}")
        print(f"controller        {info.flavour}")
        print(f"operator role     {info.operator_role_arn}")
        print(f"ACK role          {info.ack_role_arn}")
        print(f"execution role    {info.execution_role_arn}")
        print(f"environment       set -a; . {Path(info.state_dir) / 'env'}; set +a")
        if args.exec_kubeconfig:  # credentials from an exec plugin, as on EKS
            path = sandbox.exec_kubeconfig(args.exec_kubeconfig, token_ttl=args.token_ttl)
            print(f"exec kubeconfig   {path}  (plugin runs logged to {path}.invocations)")
        print("sandbox ready", flush=True)
        stop.wait()
        print("stopping sandbox", flush=True)
    return 0


def _call(state_dir: Path, method: str, path: str, body: dict | None = None) -> dict:
    url = read_info(state_dir).control_url + path
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback control API
            return json.loads(response.read())
    except urllib.error.HTTPError as e:  # the control API explains a refusal in {"error": ...}
        try:
            message = json.loads(e.read()).get("error") or e.reason
        except ValueError:
            message = e.reason
        raise SystemExit(f"error: {message}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__.splitlines()[0])
    state_help = f"the sandbox's state directory (default {DEFAULT_STATE_DIR})"
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR, metavar="DIR", help=state_help)
    # The same option after the command: SUPPRESS leaves the value given before it (or the default)
    # in place unless it is given here too.
    after = argparse.ArgumentParser(add_help=False)
    after.add_argument("--state-dir", type=Path, default=argparse.SUPPRESS, metavar="DIR", help=state_help)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser(
        "up", parents=[after], help="start the sandbox in the foreground (Ctrl-C or SIGTERM stops it)"
    )
    up.add_argument("--region", default="us-west-2")
    up.add_argument("--namespace", default="default", help="namespace the pipeline's CRs go to")
    up.add_argument("--phase-delay", type=float, default=0.2, help="seconds per SageMaker job phase")
    up.add_argument(
        "--flavour",
        choices=("legacy", "ack", "both"),
        default="legacy",
        help="which SageMaker controller to install: the legacy operator, the ACK controller, or both",
    )
    up.add_argument("--misconfigure", action="append", default=[], metavar="NAME")
    up.add_argument("--exec-kubeconfig", type=Path, metavar="PATH", help="also write an exec kubeconfig")
    up.add_argument("--token-ttl", type=float, default=900.0, help="its tokens' lifetime in seconds")
    mis = sub.add_parser(
        "misconfigure", parents=[after], help="break one thing the preflight check must catch"
    )
    mis.add_argument("name")
    fault = sub.add_parser(
        "fault", parents=[after], help="arm an operator fault for matching CRs, or an S3 error"
    )
    fault.add_argument(
        "fault",
        help="fail:<reason> | hang | stop | reconcile-error:<msg> | endpoint-fail:<reason>"
        " | update-fail:<reason> | recoverable:<msg> | terminal:<msg> | rules-pending"
        " | s3:SlowDown | s3:InternalError | s3:delay",
    )
    fault.add_argument(
        "--kind",
        default="*",
        help="legacy: TrainingJob, HyperparameterTuningJob, BatchTransformJob, HostingDeployment, Model,"
        " EndpointConfig; ACK: TrainingJob, HyperParameterTuningJob, TransformJob, Model, EndpointConfig,"
        " Endpoint (default: any)",
    )
    fault.add_argument("--namespace", default="*")
    fault.add_argument("--name", default="*")
    s3 = fault.add_argument_group("S3 faults (s3:...)")
    s3.add_argument("--method", help="HTTP method, e.g. PUT")
    s3.add_argument("--bucket", help="bucket glob")
    s3.add_argument("--key", help="object key glob, e.g. 'xgboost-mnist/validation/*'")
    s3.add_argument("--operation", help="S3 operation, e.g. PutObject, UploadPart")
    s3.add_argument("--part-number", type=int, help="only this part of a multipart upload")
    s3.add_argument("--count", type=int, help="fire this many times (default: until cleared)")
    s3.add_argument("--delay", type=float, default=0.0, help="seconds of latency before answering")
    sub.add_parser("clear-faults", parents=[after], help="disarm every fault")
    sub.add_parser("info", parents=[after], help="print the running sandbox's state as JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    if args.command == "up":
        return _up(args)
    try:
        return _client(args)
    except OSError as e:  # no state file, or nobody listening at its control URL
        raise SystemExit(f"error: no running sandbox with state in {args.state_dir}: {e}") from None


def _client(args) -> int:
    if args.command == "misconfigure":
        result = _call(args.state_dir, "POST", "/misconfigure", {"name": args.name})
    elif args.command == "fault" and args.fault.startswith("s3:"):
        result = _call(args.state_dir, "POST", "/faults/s3", _s3_rule(args))
    elif args.command == "fault":
        body = {"fault": args.fault, "kind": args.kind, "namespace": args.namespace, "name": args.name}
        result = _call(args.state_dir, "POST", "/faults/operator", body)
    elif args.command == "clear-faults":
        result = _call(args.state_dir, "DELETE", "/faults")
    else:
        result = json.loads(read_info(args.state_dir).to_json())
    print(json.dumps(result, indent=2))
    return 0


def _s3_rule(args) -> dict:
    code = args.fault.removeprefix("s3:").strip()
    rule = {
        "method": args.method,
        "bucket": args.bucket,
        "key": args.key,
        "operation": args.operation,
        "part_number": args.part_number,
        "code": None if code == "delay" else code,
        "count": args.count,
        "delay_seconds": args.delay,
    }
    return {k: v for k, v in rule.items() if v is not None or k == "code"}


if __name__ == "__main__":
    sys.exit(main())
