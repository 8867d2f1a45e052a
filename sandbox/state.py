"""The sandbox's state directory: the stable interface other tools read.

``<state-dir>/kubeconfig``  a plain-HTTP kubeconfig for the Kubernetes API emulator
``<state-dir>/env``         ``KEY='VALUE'`` lines, one per variable, single-quoted so that
                            ``set -a; . <state-dir>/env; set +a`` works in any POSIX shell
                            (python-dotenv and docker-compose ``env_file`` read it too)
``<state-dir>/sandbox.json``  the same facts as JSON, plus the sandbox's process id

The variables (see ``env_for``) are the only thing Airflow needs: AWS and Kubernetes connections,
dummy credentials, the region and the seeded names as Airflow Variables. Nothing in the pipeline
knows it runs on the sandbox.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

DEFAULT_STATE_DIR = Path(".sandbox")
DUMMY_ACCESS_KEY = "sandbox-access-key"
DUMMY_SECRET_KEY = "sandbox-secret-key"  # noqa: S105


@dataclass(frozen=True)
class SandboxInfo:
    region: str
    account: str
    cluster_name: str
    bucket: str
    namespace: str
    operator_role_arn: str
    execution_role_arn: str
    oidc_issuer: str
    aws_endpoint_url: str
    kube_url: str
    control_url: str
    state_dir: str
    kubeconfig: str
    flavour: str = "legacy"  # the installed controller(s): legacy | ack | both
    ack_role_arn: str = ""  # the ACK controller's IRSA role (seeded whatever the flavour)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)


def env_for(info: SandboxInfo) -> dict[str, str]:
    """Environment that points AWS SDKs, Airflow connections and kubectl at the sandbox."""
    aws_conn = {
        "conn_type": "aws",
        "login": DUMMY_ACCESS_KEY,
        "password": DUMMY_SECRET_KEY,
        "extra": {"region_name": info.region, "endpoint_url": info.aws_endpoint_url},
    }
    kube_conn = {
        "conn_type": "kubernetes",
        "extra": {"kube_config_path": info.kubeconfig, "namespace": info.namespace},
    }
    return {
        "AWS_ACCESS_KEY_ID": DUMMY_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET_KEY,
        "AWS_DEFAULT_REGION": info.region,
        "AWS_REGION": info.region,
        "AWS_ENDPOINT_URL": info.aws_endpoint_url,
        "KUBECONFIG": info.kubeconfig,
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(aws_conn, separators=(",", ":")),
        "AIRFLOW_CONN_KUBERNETES_DEFAULT": json.dumps(kube_conn, separators=(",", ":")),
        "AIRFLOW_VAR_SAGEMAKER_K8S_REGION": info.region,
        "AIRFLOW_VAR_SAGEMAKER_K8S_CLUSTER_NAME": info.cluster_name,
        "AIRFLOW_VAR_SAGEMAKER_K8S_BUCKET": info.bucket,
        "AIRFLOW_VAR_SAGEMAKER_K8S_NAMESPACE": info.namespace,
        "AIRFLOW_VAR_SAGEMAKER_K8S_EXECUTION_ROLE_ARN": info.execution_role_arn,
        "AIRFLOW_VAR_SAGEMAKER_K8S_DATASET_SOURCE": "sample:mnist-5k",
        "SAGEMAKER_K8S_POLL_INTERVAL": "2",
        "SAGEMAKER_SANDBOX_CONTROL_URL": info.control_url,
        "SAGEMAKER_SANDBOX_STATE_DIR": info.state_dir,
    }


def _quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


def format_env(env: dict[str, str]) -> str:
    return "".join(f"{key}={_quote(value)}\n" for key, value in env.items())


def parse_env(text: str) -> dict[str, str]:
    """Read back what `format_env` wrote (single-quoted values, POSIX escaping of ``'``)."""
    out = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, _, raw = line.partition("=")
        if raw.startswith("'") and raw.endswith("'"):
            raw = raw[1:-1].replace("'\\''", "'")
        out[key.strip()] = raw
    return out


def write_state(info: SandboxInfo) -> None:
    state_dir = Path(info.state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    env_path = state_dir / "env"
    tmp = env_path.with_suffix(".tmp")
    tmp.write_text(
        "# Written by `python -m sandbox up`; source it: set -a; . ./env; set +a\n"
        + format_env(env_for(info))
    )
    tmp.replace(env_path)
    data = json.loads(info.to_json())
    data["pid"] = os.getpid()
    (state_dir / "sandbox.json").write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def read_info(state_dir: Path = DEFAULT_STATE_DIR) -> SandboxInfo:
    data = json.loads((Path(state_dir) / "sandbox.json").read_text())
    data.pop("pid", None)
    return SandboxInfo(**data)


def clear_state(state_dir: Path) -> None:
    for name in ("env", "sandbox.json", "kubeconfig"):
        (Path(state_dir) / name).unlink(missing_ok=True)
