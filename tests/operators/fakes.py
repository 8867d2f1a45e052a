"""In-memory stand-ins for the hooks and the task context: fast operator tests with no servers."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from sagemaker_k8s.config.run_config import resolve_run_config
from sagemaker_k8s.exceptions import KubeNotFound, SageMakerJobNotFound

ROLE = "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole"
DAG_ID, RUN_ID = "sagemaker_xgboost_mnist", "manual__2026-12-06T00:00:00+00:00"


def config(**params) -> dict:
    """A resolved run config; ``flavour`` is ``legacy`` unless given (resolve_config decides ``auto``)."""
    params.setdefault("flavour", "legacy")
    variables = {
        "sagemaker_k8s_region": "us-west-2",
        "sagemaker_k8s_bucket": "bucket",
        "sagemaker_k8s_execution_role_arn": ROLE,
    }
    return resolve_run_config(params, variables=variables, connection_region=None).to_dict()


def merge(target: dict, patch: dict) -> dict:
    """RFC 7386 JSON merge patch."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
    return target


class FakeKube:
    """The `SageMakerK8sHook` surface the operators use; records every write."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], dict] = {}
        self.writes: list[tuple[str, str, Any]] = []

    def put(self, plural: str, obj: dict) -> dict:
        meta = obj["metadata"]
        self.objects[(plural, meta["namespace"], meta["name"])] = obj
        return obj

    def find(self, kind, name, namespace):
        return copy.deepcopy(self.objects.get((kind.plural, namespace, name)))

    def get(self, kind, name, namespace):
        found = self.find(kind, name, namespace)
        if found is None:
            raise KubeNotFound(f"{kind.plural}/{name} not found", status=404)
        return found

    def create(self, kind, body, namespace):
        self.writes.append(("create", body["metadata"]["name"], body))
        return self.put(kind.plural, copy.deepcopy(body))

    def patch(self, kind, name, namespace, patch):
        self.writes.append(("patch", name, patch))
        return merge(self.objects[(kind.plural, namespace, name)], patch)

    def list(self, kind, namespace, label_selector=""):
        wanted = dict(p.split("=", 1) for p in label_selector.split(",") if p)
        return [
            copy.deepcopy(o)
            for (plural, ns, _), o in self.objects.items()
            if plural == kind.plural and ns == namespace
            and all((o["metadata"].get("labels") or {}).get(k) == v for k, v in wanted.items())
        ]  # fmt: skip

    def delete(self, kind, name, namespace):
        self.writes.append(("delete", name, None))
        return self.objects.pop((kind.plural, namespace, name), None) is not None


@dataclass
class FakeAws:
    """The `SageMakerK8sAwsHook` surface: metrics per job, the live endpoint, a scoring endpoint, S3 objects
    (by key, any bucket), transform jobs (DescribeTransformJob's status, reason and model by job name) and
    tuning jobs (``tuning_result`` by tuning job name) and which training jobs exist."""

    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    live: Any = None
    predictions: str = ""
    objects: dict[str, bytes] = field(default_factory=dict)
    transforms: dict[str, dict] = field(default_factory=dict)
    tunings: dict[str, dict] = field(default_factory=dict)  # tuning job name -> tuning_result(); else 404
    training_jobs: set[str] = field(default_factory=set)  # the training jobs SageMaker has

    def training_job_exists(self, job_name):
        return job_name in self.training_jobs

    def final_metrics(self, job_name):
        return self.metrics.get(job_name, {})

    def tuning_result(self, tuning_job_name):
        if tuning_job_name not in self.tunings:
            raise SageMakerJobNotFound(
                f"SageMaker DescribeHyperParameterTuningJob of {tuning_job_name} failed: ResourceNotFound",
                operation="DescribeHyperParameterTuningJob",
                job_name=tuning_job_name,
                code="ResourceNotFound",
            )
        return copy.deepcopy(self.tunings[tuning_job_name])

    def live_endpoint(self, endpoint_name):
        return self.live

    def read_object(self, bucket, key):
        if key not in self.objects:
            error = {"Error": {"Code": "NoSuchKey", "Message": "The specified key does not exist."}}
            raise ClientError(error, "GetObject")
        return self.objects[key]

    def list_keys(self, bucket, prefix):
        return sorted((k for k in self.objects if k.startswith(prefix)), key=lambda k: k.encode())

    def transform_job(self, job_name):
        return copy.deepcopy(self.transforms.get(job_name))

    def invoke_csv(self, endpoint_name, body):
        rows = len([line for line in body.decode().splitlines() if line])
        return "\n".join(self.predictions.split("\n")[:rows])


class FakeTI:
    dag_id, run_id = DAG_ID, RUN_ID

    def __init__(self, xcoms: dict | None = None, states: dict | None = None) -> None:
        self.xcoms = dict(xcoms or {})
        self.states = dict(states or {})

    def get_task_states(self, dag_id, task_ids, run_ids):
        return {self.run_id: {t: self.states[t] for t in task_ids if t in self.states}}

    def xcom_push(self, key, value):
        self.xcoms[("self", key)] = value

    def xcom_pull(self, task_ids, key="return_value", **_):
        return self.xcoms.get((task_ids, key))


class _Dag:
    dag_id = DAG_ID


class OutletEvents(dict):
    def __missing__(self, key):
        event = self[key] = type("Accessor", (), {"extra": None})()
        return event


def context(ti: FakeTI | None = None) -> dict:
    return {"dag": _Dag(), "run_id": RUN_ID, "ti": ti or FakeTI(), "outlet_events": OutletEvents()}


def wire(operator, kube: FakeKube, aws: FakeAws):
    operator.hook = kube
    operator.aws = aws
    return operator
