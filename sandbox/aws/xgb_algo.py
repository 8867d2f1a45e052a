"""The built-in SageMaker XGBoost algorithm, as far as the simulator needs it.

Hyperparameter parsing (values arrive as strings), channel data parsing (``text/csv`` with the label in the
first column and no header, or ``text/libsvm``), training with an abort hook between boosting rounds,
``model.tar.gz`` packaging (a single ``xgboost-model`` file in XGBoost's JSON model format) and inference
the way the SageMaker XGBoost container answers ``text/csv`` requests.
"""

from __future__ import annotations

import gzip
import io
import logging
import re
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import xgboost as xgb

log = logging.getLogger(__name__)

MODEL_FILE = "xgboost-model"

_INT = int
_FLOAT = float
_STR = str
HYPERPARAMETER_TYPES: dict[str, type] = {
    "num_round": _INT,
    "num_class": _INT,
    "max_depth": _INT,
    "max_leaves": _INT,
    "max_bin": _INT,
    "seed": _INT,
    "nthread": _INT,
    "early_stopping_rounds": _INT,
    "num_parallel_tree": _INT,
    "max_cat_to_onehot": _INT,
    "eta": _FLOAT,
    "gamma": _FLOAT,
    "min_child_weight": _FLOAT,
    "subsample": _FLOAT,
    "colsample_bytree": _FLOAT,
    "colsample_bylevel": _FLOAT,
    "colsample_bynode": _FLOAT,
    "lambda": _FLOAT,
    "alpha": _FLOAT,
    "max_delta_step": _FLOAT,
    "scale_pos_weight": _FLOAT,
    "base_score": _FLOAT,
    "tweedie_variance_power": _FLOAT,
    "sketch_eps": _FLOAT,
    "rate_drop": _FLOAT,
    "skip_drop": _FLOAT,
    "lambda_bias": _FLOAT,
    "objective": _STR,
    "booster": _STR,
    "tree_method": _STR,
    "grow_policy": _STR,
    "eval_metric": _STR,
    "sample_type": _STR,
    "normalize_type": _STR,
    "one_drop": _INT,
    "process_type": _STR,
    "updater": _STR,
    "refresh_leaf": _INT,
    "interaction_constraints": _STR,
    "monotone_constraints": _STR,
}
# Accepted, but not forwarded to xgboost (the simulator keeps xgboost quiet).
IGNORED_QUIETLY = {
    "silent",
    "verbosity",
    "csv_weights",
    "deterministic_histogram",
    "single_precision_histogram",
}
OBJECTIVE_ALIASES = {"reg:linear": "reg:squarederror"}


class AlgorithmError(Exception):
    """Becomes ``FailureReason = "AlgorithmError: ..."``."""


class ClientError(Exception):
    """Becomes ``FailureReason = "ClientError: ..."`` (bad input data or request)."""


class Aborted(Exception):
    """Raised by the abort hook to leave training between boosting rounds."""


@dataclass
class TrainingParams:
    num_round: int
    params: dict[str, object]
    metrics: list[str]
    early_stopping_rounds: int | None = None
    ignored: list[str] = field(default_factory=list)


def default_metrics(objective: str) -> list[str]:
    """SageMaker XGBoost's default eval_metric by objective."""
    if objective.startswith("multi:"):
        return ["merror"]
    if objective.startswith("binary:"):
        return ["error"]
    if objective.startswith("rank:"):
        return ["map"]
    if objective.startswith(("reg:", "count:", "survival:")):
        return ["rmse"]
    return []


def parse_hyperparameters(raw: dict[str, str] | None) -> TrainingParams:
    params: dict[str, object] = {}
    ignored: list[str] = []
    num_round: int | None = None
    early: int | None = None
    for name, value in (raw or {}).items():
        if name.startswith(("_", "sagemaker_")) or name in IGNORED_QUIETLY:
            continue
        kind = HYPERPARAMETER_TYPES.get(name)
        if kind is None:
            ignored.append(name)
            log.info("ignoring unknown XGBoost hyperparameter %s=%r", name, value)
            continue
        text = str(value).strip()
        try:
            parsed: object = (
                kind(float(text)) if kind is int and re.fullmatch(r"-?\d+(\.0*)?", text) else kind(text)
            )
        except ValueError:
            expected = {int: "an integer", float: "a number"}.get(kind, "a string")
            raise AlgorithmError(f"Hyperparameter {name}: value {value!r} is not {expected}") from None
        if name == "num_round":
            num_round = int(parsed)  # type: ignore[arg-type]
        elif name == "early_stopping_rounds":
            early = int(parsed)  # type: ignore[arg-type]
        else:
            params[name] = parsed
    if num_round is None:
        raise AlgorithmError("Missing required hyperparameter: num_round")
    if num_round < 1:
        raise AlgorithmError(f"Hyperparameter num_round: value {num_round} must be >= 1")
    objective = str(params.get("objective", "reg:squarederror"))
    if objective in OBJECTIVE_ALIASES:
        log.info("objective %s is deprecated; using %s", objective, OBJECTIVE_ALIASES[objective])
        objective = OBJECTIVE_ALIASES[objective]
    params["objective"] = objective
    metrics_text = params.pop("eval_metric", None)
    metrics = [m.strip() for m in str(metrics_text).split(",") if m.strip()] if metrics_text else []
    metrics = metrics or default_metrics(objective)
    # SageMaker passes a tuning job's objective to each of its training jobs; the XGBoost container adds
    # it to the evaluation metrics, so "validation:error" is reported even where rmse is the default.
    tuned = str((raw or {}).get("_tuning_objective_metric") or "").partition(":")[2].strip()
    if tuned and tuned not in metrics:
        metrics.append(tuned)
    if metrics:
        params["eval_metric"] = metrics
    params.setdefault("nthread", 1)  # two concurrent jobs on a small machine; OpenMP teams thrash
    params["verbosity"] = 0
    return TrainingParams(num_round, params, metrics, early, ignored)


# -- data -------------------------------------------------------------------------------------------
def _content_format(content_type: str | None, sample: bytes) -> str:
    ct = (content_type or "").split(";")[0].strip().lower()
    if ct in ("text/csv", "csv"):
        return "csv"
    if ct in ("text/libsvm", "libsvm", "text/x-libsvm"):
        return "libsvm"
    if not ct:  # the real default is libsvm; sniff so that a forgotten ContentType still works
        return "libsvm" if b":" in sample.split(b"\n", 1)[0] else "csv"
    raise ClientError(f"Content type {content_type} is not supported. Supported: text/csv, text/libsvm")


def parse_csv(
    data: bytes, *, with_label: bool, chunk_rows: int = 256
) -> tuple[np.ndarray, np.ndarray | None]:
    """Parse in chunks: np.loadtxt holds the GIL, and the moto server shares this process."""
    lines = [line for line in data.strip().splitlines() if line.strip()]
    if not lines:
        raise ValueError("no rows")
    chunks = []
    for start in range(0, len(lines), chunk_rows):
        block = b"\n".join(lines[start : start + chunk_rows])
        chunks.append(np.loadtxt(io.BytesIO(block), delimiter=",", dtype=np.float32, ndmin=2))
        time.sleep(0)  # let the server's threads run
    if len({c.shape[1] for c in chunks}) > 1:
        raise ValueError("rows have different numbers of columns")
    arr = np.concatenate(chunks)
    if with_label:
        if arr.shape[1] < 2:
            raise ValueError("a row needs the label plus at least one feature")
        return arr[:, 1:], arr[:, 0]
    return arr, None


def parse_libsvm(data: bytes, *, with_label: bool) -> tuple[np.ndarray, np.ndarray | None]:
    labels, rows, width = [], [], 0
    for line in data.decode().splitlines():
        parts = line.split("#", 1)[0].split()
        if not parts:
            continue
        if with_label:
            labels.append(float(parts[0]))
            parts = parts[1:]
        row = {}
        for item in parts:
            idx, _, val = item.partition(":")
            row[int(idx)] = float(val)
            width = max(width, int(idx) + 1)
        rows.append(row)
    if not rows:
        raise ValueError("no rows")
    X = np.zeros((len(rows), width), dtype=np.float32)
    for i, row in enumerate(rows):
        for j, v in row.items():
            X[i, j] = v
    return X, (np.asarray(labels, dtype=np.float32) if with_label else None)


def load_channel(
    channel: str, blobs: list[bytes], content_type: str | None, compression: str | None
) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate every object of a channel and parse it (label first)."""
    if (compression or "None") == "Gzip":
        try:
            blobs = [gzip.decompress(b) for b in blobs]
        except OSError as e:
            raise ClientError(
                f"Unable to decompress data channel '{channel}' (CompressionType Gzip): {e}"
            ) from e
    data = b"\n".join(b.strip() for b in blobs if b.strip())
    fmt = _content_format(content_type, data[:4096])
    try:
        X, y = (parse_csv if fmt == "csv" else parse_libsvm)(data, with_label=True)
    except (ValueError, UnicodeDecodeError) as e:
        raise ClientError(
            f"Unable to read data channel '{channel}'. Requested content-type is '{content_type or fmt}'. "
            f"Please verify the data matches the requested content-type. (caused by {type(e).__name__}: {e})"
        ) from e
    assert y is not None
    return X, y


# -- training --------------------------------------------------------------------------------------
class _AbortHook(xgb.callback.TrainingCallback):
    def __init__(self, check: Callable[[], None]) -> None:
        super().__init__()
        self._check = check

    def after_iteration(self, model, epoch, evals_log) -> bool:
        self._check()  # raises Aborted (or anything) to leave training
        return False


def _xgb_message(e: Exception) -> str:
    text = str(e).strip()
    text = re.sub(r"^\[[\d:]+\] [^:]+:\d+: ", "", text)  # "[23:15:45] /src/objective.cc:27: "
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("Stack trace")]
    return " ".join(lines[:3])


def train(
    tp: TrainingParams,
    train_xy: tuple[np.ndarray, np.ndarray],
    validation_xy: tuple[np.ndarray, np.ndarray] | None,
    check_abort: Callable[[], None],
) -> tuple[xgb.Booster, dict[str, float]]:
    """Train; returns the booster and the final metrics as ``{"train:merror": 0.05, ...}``."""
    try:
        dtrain = xgb.DMatrix(train_xy[0], label=train_xy[1], nthread=1)
        evals = [(dtrain, "train")]
        if validation_xy is not None:
            if validation_xy[0].shape[1] != train_xy[0].shape[1]:
                raise ClientError(
                    f"Feature count mismatch: train has {train_xy[0].shape[1]} features, "
                    f"validation has {validation_xy[0].shape[1]}"
                )
            evals.append((xgb.DMatrix(validation_xy[0], label=validation_xy[1], nthread=1), "validation"))
        history: dict[str, dict[str, list[float]]] = {}
        early = tp.early_stopping_rounds if validation_xy is not None else None
        booster = xgb.train(
            tp.params,
            dtrain,
            num_boost_round=tp.num_round,
            evals=evals,
            evals_result=history,
            verbose_eval=False,
            early_stopping_rounds=early,
            callbacks=[_AbortHook(check_abort)],
        )
    except (Aborted, ClientError):
        raise
    except xgb.core.XGBoostError as e:
        raise AlgorithmError(f"XGBoostError: {_xgb_message(e)}") from e
    except Exception as e:  # e.g. labels xgboost cannot use
        raise AlgorithmError(f"{type(e).__name__}: {e}") from e
    metrics = {
        f"{channel}:{metric}": float(values[-1])
        for channel, by_metric in history.items()
        for metric, values in by_metric.items()
        if values
    }
    return booster, metrics


def package_model(booster: xgb.Booster) -> bytes:
    """``model.tar.gz`` with the single file ``xgboost-model`` (XGBoost JSON model format)."""
    raw = bytes(booster.save_raw("json"))
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        info = tarfile.TarInfo(MODEL_FILE)
        info.size = len(raw)
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(raw))
    return out.getvalue()


def unpack_model(archive: bytes) -> bytes:
    """Return the model file of a ``model.tar.gz``; raises ``tarfile.TarError``/``OSError`` if unreadable."""
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        members = [m for m in tar.getmembers() if m.isfile()]
        if not members:
            raise tarfile.TarError("the archive holds no file")
        chosen = next((m for m in members if m.name.rsplit("/", 1)[-1] == MODEL_FILE), members[0])
        handle = tar.extractfile(chosen)
        assert handle is not None
        return handle.read()


def load_booster(model_bytes: bytes) -> xgb.Booster:
    booster = xgb.Booster(params={"nthread": 1})
    booster.load_model(bytearray(model_bytes))
    return booster


# -- inference ---------------------------------------------------------------------------------------
class PayloadError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def predict(
    booster: xgb.Booster, body: bytes, content_type: str | None, accept: str | None
) -> tuple[bytes, str]:
    """Answer one InvokeEndpoint request like the SageMaker XGBoost container does."""
    ct = (content_type or "text/csv").split(";")[0].strip().lower()
    if ct not in ("text/csv", "csv", "text/libsvm", "libsvm", "text/x-libsvm"):
        raise PayloadError(415, f"Content type {content_type} is not supported by this framework.")
    try:
        if "csv" in ct:
            X, _ = parse_csv(body, with_label=False)
        else:
            X, _ = parse_libsvm(body, with_label=False)
    except (ValueError, UnicodeDecodeError) as e:
        raise PayloadError(
            415,
            f"Loading {ct.split('/')[-1]} data failed with Exception, please ensure data is in "
            f"{ct.split('/')[-1]} format: {type(e).__name__}: {e}",
        ) from e
    expected = booster.num_features()
    if X.shape[1] > expected or ("csv" in ct and X.shape[1] != expected):
        raise PayloadError(
            400, f"Feature size of the payload ({X.shape[1]}) does not match the model ({expected})."
        )
    if X.shape[1] < expected:
        X = np.pad(X, ((0, 0), (0, expected - X.shape[1])))
    preds = booster.predict(xgb.DMatrix(X, nthread=1))
    accept_type = (accept or "text/csv").split(";")[0].strip().lower()
    if accept_type in ("application/json",):
        import json

        scores = [{"score": p.tolist() if np.ndim(p) else float(p)} for p in preds]
        return json.dumps({"predictions": scores}).encode(), "application/json"
    if np.ndim(preds) == 1:
        lines = [repr(float(p)) for p in preds]
    else:
        lines = [",".join(repr(float(v)) for v in row) for row in preds]
    return ("\n".join(lines)).encode(), "text/csv"
