"""
# SageMaker XGBoost on MNIST, through Kubernetes custom resources

The Amazon SageMaker Operators for Kubernetes walkthrough as one pipeline:

1. **resolve_config** - validates every parameter (and its Airflow Variable fallback) before
   anything is touched.
2. **check_iam_oidc** - preflight: the EKS cluster's IAM OIDC provider, the operator role's trust
   policy (exactly `system:serviceaccount:sagemaker-k8s-operator-system:sagemaker-k8s-operator-default`,
   audience `sts.amazonaws.com`) and SageMaker permissions, the execution role's trust in
   `sagemaker.amazonaws.com`, the operator's CRDs and running pod, the bucket. Every failed check
   says what to run to fix it.
3. **upload_dataset** - MNIST as CSV (label first, no header; test without label) under
   `s3://<bucket>/<s3_prefix>/{train,validation,test}/examples`; unchanged data is not re-uploaded.
4. **choose_training** - a branch: train once (`tuning` null) or tune.
   **submit_training** - a `TrainingJob` CR (`sagemaker.aws.amazon.com/v1`) built from
   `include/manifests/trainingjob.yaml`; a retry or clear reattaches instead of training twice.
5. **wait_training** - deferrable sensor until `Completed` (model path and metrics to XCom), or a
   failure with SageMaker's reason.
   **submit_tuning** / **wait_tuning** - tuning mode: a `HyperparameterTuningJob` CR from
   `include/manifests/hyperparametertuningjob.yaml` (`tuning`: `max_jobs`, `max_parallel`,
   `strategy`, `objective_metric`, `objective_type`, `ranges`), waited for deferrably with the
   counters and the best job so far logged at every poll; its best training job is the new model.
   **batch_score** - with `batch_scoring` (default on), a `Model` CR and a `BatchTransformJob` over the
   test split; the accuracy against the kept labels goes to XCom (gate metric `test:accuracy`).
6. **evaluate_challenger** - the champion/challenger gate, a branch: the new model (challenger)
   against the one serving now (champion, recorded on the serving CR) on `gate_metric`
   (SageMaker's final metric, default `validation:merror`, lower is better). Promote when nothing
   serves yet, when it is better by at least `min_improvement`, or with `force_promote`; otherwise
   **keep_champion** (the run succeeds, the endpoint is untouched).
7. **approve_promotion** - with `require_approval`, a person approves in the Airflow UI (Reject
   or no answer keeps the champion); otherwise approved at once.
8. **promote_endpoint** - the pipeline's one endpoint (named for the DAG, or `endpoint_name`),
   served by one `HostingDeployment` CR: created on the first promotion, updated in place after
   that; done only when SageMaker serves the new model. A rolled-back update fails with its reason.
9. **smoke_test_endpoint** - invokes the live endpoint with test rows; below `min_accuracy` fails.
10. **record_champion** - records the promoted model as champion on the CR and updates the
    `model`/`endpoint` Assets. **rollback_endpoint** runs only if the promotion or its smoke test
    failed: the endpoint goes back to the champion (verified live) and the run fails naming both
    accuracies.
11. **retain_training_jobs** - deletes finished TrainingJob CRs of this pipeline beyond the newest
    `keep_training_jobs` (never the champion's); S3 artifacts are kept.
12. **cleanup_training** / **cleanup_tuning** - run after their wait whatever its outcome: if the wait did not
    succeed and the `TrainingJob` is still pending, running or reconciling, deletes it so the
    operator stops the SageMaker job (e.g. the wait was marked failed before a triggerer picked it
    up). A finished job's CR is kept as the record.

## Controllers
`flavour` picks the controller the custom resources are for: `legacy` (the walkthrough's operator,
`sagemaker.aws.amazon.com/v1`), `ack` (the ACK SageMaker controller, `sagemaker.services.k8s.aws/v1alpha1`)
or `auto` (default: whichever one's CRDs the cluster has; both or neither fails in `resolve_config` with
the fix). On ACK the same steps use ACK's `TrainingJob`, `HyperParameterTuningJob`, `Model` +
`TransformJob`, and, for serving, one `Endpoint` whose `spec.endpointConfigName` a promotion switches to
a new `Model` + `EndpointConfig` revision; the preflight checks the controller in `ack-system`.

## Parameters
Trigger the DAG with the form, or pass the same keys as conf. Empty (null) `region`,
`cluster_name`, `namespace`, `bucket`, `execution_role_arn` and `operator_role_arn` fall back to
the Airflow Variables `sagemaker_k8s_<name>` (the sandbox sets them), the region then to the AWS
connection. Connections: `aws_default` and `kubernetes_default`.

## Schedule and polling
Weekly retraining by default; set the environment variable `SAGEMAKER_K8S_RETRAIN_SCHEDULE`
(a cron expression, a preset such as `@daily`, or `none`) on the scheduler and dag-processor.
`SAGEMAKER_K8S_POLL_INTERVAL` (seconds, default 30) sets how often the waits poll the CRs;
`SAGEMAKER_K8S_RECONCILING_TIMEOUT` (seconds, default 600) how long a wait lets the operator retry an
error (`ReconcilingTrainingJob`, `ReconcilingEndpoint`) before failing with its message.
`SAGEMAKER_K8S_APPROVAL_TIMEOUT` (seconds, default 86400) how long `approve_promotion` waits for a
person before keeping the champion. `SAGEMAKER_K8S_RETRY_DELAY` (seconds, default 30) is every task's
first retry delay (doubled per retry, with jitter).

## Assets
`sagemaker_xgboost_mnist.dataset` (each upload), `sagemaker_xgboost_mnist.model` and
`sagemaker_xgboost_mnist.endpoint` (each promotion that passed its smoke test), with the S3 URIs,
training job, metric and model URI in the event's extra: schedule other DAGs on them.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from airflow.sdk import DAG, Param

from sagemaker_k8s.assets import pipeline_asset
from sagemaker_k8s.config.params import PARAM_SPECS
from sagemaker_k8s.operators.batch import SageMakerK8sBatchScoreOperator
from sagemaker_k8s.operators.cleanup import SageMakerK8sCleanupOperator
from sagemaker_k8s.operators.config import SageMakerK8sResolveConfigOperator
from sagemaker_k8s.operators.dataset import SageMakerK8sDatasetUploadOperator
from sagemaker_k8s.operators.gate import (
    SageMakerK8sApprovalOperator,
    SageMakerK8sKeepChampionOperator,
    SageMakerK8sPromotionGateOperator,
)
from sagemaker_k8s.operators.mode import SageMakerK8sTrainingModeOperator
from sagemaker_k8s.operators.preflight import SageMakerK8sPreflightOperator
from sagemaker_k8s.operators.promote import SageMakerK8sPromoteOperator, SageMakerK8sRecordChampionOperator
from sagemaker_k8s.operators.retention import SageMakerK8sRetentionOperator
from sagemaker_k8s.operators.rollback import SageMakerK8sRollbackOperator
from sagemaker_k8s.operators.smoke_test import SageMakerK8sEndpointSmokeTestOperator
from sagemaker_k8s.operators.training import SageMakerK8sTrainingOperator
from sagemaker_k8s.operators.tuning import SageMakerK8sTuningOperator
from sagemaker_k8s.sensors.training import SageMakerK8sTrainingSensor
from sagemaker_k8s.sensors.tuning import SageMakerK8sTuningSensor

DAG_ID = "sagemaker_xgboost_mnist"
_schedule = os.environ.get("SAGEMAKER_K8S_RETRAIN_SCHEDULE", "@weekly").strip()
_poll = float(os.environ.get("SAGEMAKER_K8S_POLL_INTERVAL", "30"))
_reconciling = float(os.environ.get("SAGEMAKER_K8S_RECONCILING_TIMEOUT", "600"))
_approval = float(os.environ.get("SAGEMAKER_K8S_APPROVAL_TIMEOUT", "86400"))
_retry_delay = float(os.environ.get("SAGEMAKER_K8S_RETRY_DELAY", "30"))

with DAG(
    dag_id=DAG_ID,
    description="Train and host XGBoost on MNIST with SageMaker, through Kubernetes custom resources",
    doc_md=__doc__,
    schedule=None if _schedule.lower() in ("", "none") else _schedule,
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args={
        "owner": "ml-platform",
        "retries": 2,
        "retry_delay": timedelta(seconds=_retry_delay),
        # A multiplier since Airflow 3 (True == 1 is a constant delay): 30-59 s, then 60-119 s by default.
        "retry_exponential_backoff": 2.0,
    },
    params={name: Param(**spec.param_kwargs()) for name, spec in PARAM_SPECS.items()},
    tags=["sagemaker", "kubernetes", "xgboost", "mnist"],
) as dag:
    config = SageMakerK8sResolveConfigOperator(task_id="resolve_config")
    preflight = SageMakerK8sPreflightOperator(task_id="check_iam_oidc", config=config.output)
    dataset = SageMakerK8sDatasetUploadOperator(
        task_id="upload_dataset", config=config.output, outlets=[pipeline_asset(DAG_ID, "dataset")]
    )
    mode = SageMakerK8sTrainingModeOperator(
        task_id="choose_training",
        config=config.output,
        train_task_id="submit_training",
        tune_task_id="submit_tuning",
    )
    training = SageMakerK8sTrainingOperator(task_id="submit_training", config=config.output)
    trained = SageMakerK8sTrainingSensor(
        task_id="wait_training",
        training=training.output,
        poke_interval=_poll,
        reconciling_timeout=_reconciling,
    )
    tuning = SageMakerK8sTuningOperator(task_id="submit_tuning", config=config.output)
    tuned = SageMakerK8sTuningSensor(
        task_id="wait_tuning", tuning=tuning.output, poke_interval=_poll, reconciling_timeout=_reconciling
    )
    waits = [trained.task_id, tuned.task_id]
    scored = SageMakerK8sBatchScoreOperator(
        task_id="batch_score",
        config=config.output,
        dataset=dataset.output,
        training_task_ids=waits,
        poll_interval=_poll,
        reconciling_timeout=_reconciling,
    )
    gate = SageMakerK8sPromotionGateOperator(
        task_id="evaluate_challenger",
        config=config.output,
        training_task_ids=waits,
        scoring_task_id=scored.task_id,
        promote_task_id="approve_promotion",
        keep_task_id="keep_champion",
    )
    keep = SageMakerK8sKeepChampionOperator(task_id="keep_champion", gate_task_id=gate.task_id)
    approve = SageMakerK8sApprovalOperator(
        task_id="approve_promotion",
        config=config.output,
        gate_task_id=gate.task_id,
        response_timeout=timedelta(seconds=_approval),
    )
    serving = {"config": config.output, "gate_task_id": gate.task_id}
    promote = SageMakerK8sPromoteOperator(
        task_id="promote_endpoint", poll_interval=_poll, reconciling_timeout=_reconciling, **serving
    )
    smoke = SageMakerK8sEndpointSmokeTestOperator(
        task_id="smoke_test_endpoint", config=config.output, endpoint=promote.output, dataset=dataset.output
    )
    record = SageMakerK8sRecordChampionOperator(
        task_id="record_champion",
        promoted=promote.output,
        smoke=smoke.output,
        outlets=[pipeline_asset(DAG_ID, "model"), pipeline_asset(DAG_ID, "endpoint")],
        **serving,
    )
    rollback = SageMakerK8sRollbackOperator(
        task_id="rollback_endpoint",
        gate_task_id=gate.task_id,
        config_task_id=config.task_id,
        dataset_task_id=dataset.task_id,
        promote_task_id=promote.task_id,
        smoke_task_id=smoke.task_id,
        trigger_rule="one_failed",
        poll_interval=_poll,
        reconciling_timeout=_reconciling,
    )
    retain = SageMakerK8sRetentionOperator(
        task_id="retain_training_jobs",
        config=config.output,
        submit_task_id=training.task_id,
        tuning_submit_task_id=tuning.task_id,
        trigger_rule="none_failed_min_one_success",
    )
    cleanup = SageMakerK8sCleanupOperator(
        task_id="cleanup_training", submit_task_id=training.task_id, wait_task_id=trained.task_id
    )
    cleanup_tuning = SageMakerK8sCleanupOperator(
        task_id="cleanup_tuning",
        submit_task_id=tuning.task_id,
        wait_task_id=tuned.task_id,
        role="tuning",
    )

    preflight >> dataset >> mode >> [training, tuning]
    trained >> cleanup
    tuned >> cleanup_tuning
    [trained, tuned] >> scored >> gate
    gate >> [approve, keep]
    approve >> promote
    smoke >> rollback
    [record, keep] >> retain
