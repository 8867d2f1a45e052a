"""Helpers for the HyperparameterTuningJob and BatchTransformJob suites: CRs built from the published samples,
the tuning job's children as SageMaker and Kubernetes see them, S3 objects, kubectl. Uniquely named, like
operator_helpers."""

from __future__ import annotations

import copy
import functools
import subprocess
from pathlib import Path

import yaml

from tests.sandbox.operator.operator_helpers import FAULT_ANNOTATION, GROUP, VERSION, aws, kube_client

SAMPLES = Path("/work/shared/reference/sagemaker-operator-samples")
KUBECTL = "/usr/bin/kubectl"
HPO = "hyperparametertuningjobs"
BT = "batchtransformjobs"
TJ = "trainingjobs"
HPO_FINALIZER = "sagemaker-operator-hpo-trainingjob"
INITIAL = "SynchronizingK8sJobWithSageMaker"
# small and quick: ~1 s of training per job on the bundled sample; validation:merror ~0.13-0.25
QUICK_STATIC = {"objective": "multi:softmax", "num_class": "10", "num_round": "4", "max_bin": "32"}
QUICK_RANGES = {
    "integerParameterRanges": [
        {"name": "max_depth", "minValue": "2", "maxValue": "5", "scalingType": "Linear"}
    ],
    "continuousParameterRanges": [
        {"name": "eta", "minValue": "0.1", "maxValue": "0.5", "scalingType": "Logarithmic"}
    ],
    "categoricalParameterRanges": [],
}


@functools.cache
def sample_text(name: str) -> str:
    return (SAMPLES / name).read_text()


def sample(name: str) -> dict:
    return yaml.safe_load(sample_text(name))


def hpo_sample(sandbox, data_uri: str) -> dict:
    """The published xgboost-mnist-hpo.yaml with the sandbox's region, role and data (s3://my-bucket/xgboost
    -> ``data_uri`` without its trailing slash); nothing else changed."""
    cr = yaml.safe_load(
        sample_text("xgboost-mnist-hpo.yaml").replace("s3://my-bucket/xgboost", data_uri.rstrip("/"))
    )
    cr["spec"]["region"] = sandbox.info.region
    cr["spec"]["trainingJobDefinition"]["roleArn"] = sandbox.info.execution_role_arn
    return cr


def tuning_cr(
    sandbox,
    data_uri: str,
    name: str,
    *,
    max_jobs: int = 4,
    max_parallel: int = 2,
    strategy: str = "Bayesian",
    fault: str | None = None,
) -> dict:
    """The published sample's shape, tuning quick multi:softmax jobs on ``validation:merror``."""
    cr = hpo_sample(sandbox, data_uri)
    cr["metadata"] = {"name": name, "namespace": "default"}
    if fault is not None:
        cr["metadata"]["annotations"] = {FAULT_ANNOTATION: fault}
    config = cr["spec"]["hyperParameterTuningJobConfig"]
    config["strategy"] = strategy
    config["hyperParameterTuningJobObjective"] = {"type": "Minimize", "metricName": "validation:merror"}
    config["resourceLimits"] = {"maxNumberOfTrainingJobs": max_jobs, "maxParallelTrainingJobs": max_parallel}
    config["parameterRanges"] = copy.deepcopy(QUICK_RANGES)
    definition = cr["spec"]["trainingJobDefinition"]
    definition["staticHyperParameters"] = [{"name": k, "value": v} for k, v in QUICK_STATIC.items()]
    definition["outputDataConfig"]["s3OutputPath"] = f"{data_uri}tuning/{name}"
    return cr


def transform_cr(
    sandbox,
    name: str,
    model_name: str,
    input_uri: str,
    output_uri: str,
    *,
    fault: str | None = None,
    line: bool = True,
) -> dict:
    """The published xgboost-mnist-batchtransform.yaml's shape, over ``input_uri``; ``line``: SplitType and
    AssembleWith Line (one prediction per input line)."""
    cr = sample("xgboost-mnist-batchtransform.yaml")
    cr["metadata"] = {"name": name, "namespace": "default"}
    if fault is not None:
        cr["metadata"]["annotations"] = {FAULT_ANNOTATION: fault}
    spec = cr["spec"]
    spec["region"] = sandbox.info.region
    spec["modelName"] = model_name
    spec["transformInput"]["dataSource"]["s3DataSource"]["s3Uri"] = input_uri
    spec["transformOutput"]["s3OutputPath"] = output_uri
    spec["transformResources"]["instanceCount"] = 1
    if line:
        spec["transformInput"]["splitType"] = "Line"
        spec["transformOutput"]["assembleWith"] = "Line"
    return cr


def kubectl(sandbox, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [KUBECTL, "--kubeconfig", str(sandbox.state_dir / "kubeconfig"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def sagemaker_children(sandbox, tuning_name: str) -> list[dict]:
    """ListTrainingJobsForHyperParameterTuningJob, every page."""
    sm, token, out = aws(sandbox, "sagemaker"), None, []
    while True:
        page = sm.list_training_jobs_for_hyper_parameter_tuning_job(
            HyperParameterTuningJobName=tuning_name, **({"NextToken": token} if token else {})
        )
        out += page["TrainingJobSummaries"]
        token = page.get("NextToken")
        if not token:
            return out


def child_crs(sandbox, names) -> dict[str, dict]:
    """The TrainingJob CRs named like the SageMaker children (over HTTP)."""
    from kubernetes import client

    api = client.CustomObjectsApi(kube_client(sandbox))
    items = api.list_namespaced_custom_object(GROUP, VERSION, "default", TJ)["items"]
    return {o["metadata"]["name"]: o for o in items if o["metadata"]["name"] in set(names)}


def most_at_once(described: list[dict]) -> int:
    """The most training jobs that were in progress at the same moment (creation to the end of the last
    secondary status), from DescribeTrainingJob answers."""
    events = []
    for job in described:
        end = job["SecondaryStatusTransitions"][-1].get("EndTime") or job["LastModifiedTime"]
        events += [(job["CreationTime"], 1), (end, -1)]
    running = peak = 0
    for _, step in sorted(events, key=lambda e: (e[0], e[1])):  # an end before a start at the same instant
        running += step
        peak = max(peak, running)
    return peak


def s3_objects(sandbox, uri: str) -> dict[str, bytes]:
    """Every object under ``s3://bucket/prefix``: key -> body."""
    bucket, prefix = uri.removeprefix("s3://").split("/", 1)
    s3 = aws(sandbox, "s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
    return {k: s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys}


def put_objects(sandbox, uri: str, bodies: dict[str, bytes]) -> None:
    bucket, prefix = uri.removeprefix("s3://").split("/", 1)
    s3 = aws(sandbox, "s3")
    for name, body in bodies.items():
        s3.put_object(Bucket=bucket, Key=f"{prefix}{name}", Body=body)


def upload_subset(sandbox, prefix: str, train_rows: int, validation_rows: int) -> str:
    """The first rows of the bundled sample's train and validation splits under
    ``s3://<bucket>/<prefix>/{train,validation}/examples``; returns ``s3://<bucket>/<prefix>/``."""
    from sagemaker_k8s.dataset.csvfmt import to_csv_bytes
    from sagemaker_k8s.dataset.mnist import load_sample_csv_gz, split_sample
    from sagemaker_k8s.dataset.sources import bundled_sample_path

    splits = split_sample(*load_sample_csv_gz(bundled_sample_path().read_bytes()))
    uri = f"s3://{sandbox.info.bucket}/{prefix}/"
    bodies = {
        f"{name}/examples": to_csv_bytes(split.X[:rows], split.y[:rows])
        for name, split, rows in (
            ("train", splits.train, train_rows),
            ("validation", splits.validation, validation_rows),
        )
    }
    put_objects(sandbox, uri, bodies)
    return uri


@functools.cache
def held_out_split() -> tuple[list[bytes], list[int]]:
    """The uploaded test split's rows (CSV, no label) and their digits, in upload order."""
    from sagemaker_k8s.dataset.csvfmt import to_csv_bytes
    from sagemaker_k8s.dataset.mnist import load_sample_csv_gz, split_sample
    from sagemaker_k8s.dataset.sources import bundled_sample_path

    test = split_sample(*load_sample_csv_gz(bundled_sample_path().read_bytes())).test
    rows = to_csv_bytes(test.X, None).splitlines()
    return rows, [int(v) for v in test.y]
