"""Resolve a DAG run's params into one validated, immutable ``RunConfig`` before any side effect.

Every value -- param, Variable fallback or connection region -- is checked against the same
schema as the ``Param`` in the form (``params.PARAM_SPECS``), then against what the later tasks
need (``dataset_source`` must parse), and all problems are reported at once in a ``ConfigError``.
Integers given as integral floats (JSON's ``2.0``, which JSON Schema calls an integer) are stored
as ints. Depends on ``params`` (the schemas), never the reverse: the DAG file needs only the
schemas, and parsing it does not pay for this module, the typed errors or the image table.
"""

from __future__ import annotations

import copy
import difflib
import functools
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from sagemaker_k8s.config.params import DEFAULT_TUNING, PARAM_SPECS, TEST_ACCURACY_METRIC
from sagemaker_k8s.exceptions import ConfigError
from sagemaker_k8s.manifests.images import XGBOOST_ACCOUNTS, partition
from sagemaker_k8s.patterns import ecma_search
from sagemaker_k8s.tunable import TUNABLE_RANGES

REQUIRED = ("region", "bucket", "execution_role_arn")
DEFAULT_NAMESPACE = "default"
#: The public copy of the classic mnist.pkl.gz the SageMaker examples use (real runs).
DEFAULT_DATASET_SOURCE = "s3://sagemaker-sample-files/datasets/image/MNIST/mnist.pkl.gz"
_ECR_REGION = re.compile(r"\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com")


class FrozenDict(dict[str, Any]):
    """A read-only dict: JSON-serializable, picklable and deep-copyable, unlike ``MappingProxyType``."""

    def _readonly(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("RunConfig values are read-only")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _readonly  # type: ignore[assignment]
    __ior__ = _readonly  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (dict(self),))


@dataclass(frozen=True)
class RunConfig:
    """Everything the tasks need, validated; ``origins`` says where fallback-able values came from.

    ``flavour`` is ``auto`` only until ``resolve_config`` has looked at the cluster's CRDs
    (``with_flavour``); every later task sees ``legacy`` or ``ack``.
    """

    flavour: str
    region: str
    cluster_name: str | None
    namespace: str
    bucket: str
    s3_prefix: str
    execution_role_arn: str
    operator_role_arn: str | None
    instance_type: str
    instance_count: int
    volume_size_gb: int
    hosting_instance_type: str
    hyperparameters: Mapping[str, int | float | str]
    max_runtime_seconds: int
    endpoint_name: str | None
    dataset_source: str
    training_image: str | None
    smoke_test_rows: int
    gate_metric: str
    gate_direction: str
    min_improvement: float
    force_promote: bool
    require_approval: bool
    min_accuracy: float
    keep_training_jobs: int
    tuning: Mapping[str, Any] | None
    batch_scoring: bool
    origins: Mapping[str, str]

    def __post_init__(self) -> None:
        object.__setattr__(self, "hyperparameters", FrozenDict(self.hyperparameters))
        if self.tuning is not None:
            object.__setattr__(self, "tuning", _freeze(self.tuning))
        object.__setattr__(self, "origins", FrozenDict(self.origins))

    def with_flavour(self, flavour: str) -> RunConfig:
        """This config with ``auto`` replaced by the flavour found on the cluster."""
        if flavour not in ("legacy", "ack"):
            raise ConfigError(f"flavour: expected 'legacy' or 'ack', got {flavour!r}", param="flavour")
        return replace(self, flavour=flavour, origins={**self.origins, "flavour": "the cluster's CRDs"})

    @property
    def is_ack(self) -> bool:
        """True for the ACK controller; raises while the flavour is still ``auto`` (a task reading
        an unresolved config is a wiring bug, not something to guess)."""
        if self.flavour == "auto":
            raise ConfigError("flavour is still 'auto': resolve_config decides it first", param="flavour")
        return self.flavour == "ack"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serializable dict (for XCom)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["hyperparameters"] = dict(self.hyperparameters)
        data["tuning"] = None if self.tuning is None else _thaw(self.tuning)
        data["origins"] = dict(self.origins)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunConfig:
        """Rebuild from :meth:`to_dict` output, re-validating every value (XCom is not trusted)."""
        names = {f.name for f in fields(cls)}
        if not isinstance(data, Mapping) or set(data) != names:
            got = set(data) if isinstance(data, Mapping) else set()
            raise ConfigError(
                f"not a RunConfig dict: missing {sorted(names - got)}, unexpected {sorted(got - names)[:10]}",
                param="run_config",
            )
        params = {k: v for k, v in data.items() if k != "origins"}
        resolved = resolve_run_config(params, variables={}, connection_region=None)
        return cls(**{**resolved.to_dict(), "origins": data["origins"]})


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return FrozenDict({k: _freeze(v) for k, v in value.items()})
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    return value


def _normalise_tuning(value: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    """The tuning object with every key present (defaults filled in) and integral floats as ints.

    ``ranges`` replaces the default ranges as a whole (a user naming only ``eta`` tunes only eta).
    """
    merged = {**copy.deepcopy(DEFAULT_TUNING), **copy.deepcopy(dict(value))}
    if "max_parallel" not in value and isinstance(merged["max_jobs"], int | float):
        merged["max_parallel"] = min(DEFAULT_TUNING["max_parallel"], merged["max_jobs"])
    props = schema.get("properties", {})
    out = {k: _integral(v, props.get(k, {})) for k, v in merged.items() if k != "ranges"}
    out["ranges"] = {
        name: {
            bound: (int(x) if TUNABLE_RANGES[name][0] == "integer" else float(x))
            for bound, x in dict(bounds).items()
        }
        for name, bounds in dict(merged["ranges"]).items()
    }
    return out


def _short(value: Any, limit: int = 60) -> str:
    if isinstance(value, str) and limit > 60:
        text = value
    elif isinstance(value, int) and abs(value) > 10**limit:  # also: repr() refuses > 4300 digits
        text = f"{'-' if value < 0 else ''}an integer of about 10**{int(abs(value).bit_length() * 0.30103)}"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@functools.lru_cache(maxsize=1)
def _validator_class() -> Any:
    from jsonschema import Draft202012Validator, ValidationError, validators  # deferred: ~0.5 s import

    def pattern(validator: Any, patrn: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
        if validator.is_type(instance, "string") and not ecma_search(patrn, instance):
            shown = f"pattern {patrn}" if len(patrn) <= _MAX_PATTERN else "the forms the param accepts"
            yield ValidationError(f"{_short(instance)} does not match {shown}")

    return validators.extend(Draft202012Validator, {"pattern": pattern})


#: Longer patterns (dataset_source's) are not quoted in a problem line: they would say nothing.
_MAX_PATTERN = 200
_BOUNDS = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}


def _describe(error: Any) -> tuple[str, str]:
    """(where inside the value, what is wrong): one line, the offending value escaped and capped."""
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    rule, value, got = error.validator, error.validator_value, _short(error.instance)
    if rule == "pattern":
        text = error.message
    elif rule == "enum":
        text = f"{got} is not one of {value}"
    elif rule == "type":
        text = f"{got} is not of type {value}"
    elif rule == "maximum" and value == sys.float_info.max:  # params.FINITE_MAX
        text = f"must be a finite number (got {got})"
    elif rule in _BOUNDS:
        text = f"must be {_BOUNDS[rule]} {value} (got {got})"
    elif rule in ("minLength", "maxLength"):
        text = f"must be {'at least' if rule == 'minLength' else 'at most'} {value} characters (got {got})"
    elif rule == "not":
        text = f"{got} is not allowed: {value.get('description', 'a forbidden form')}"
    else:
        text = _short(error.message, 300)
    return where, text


def _check(schema: Mapping[str, Any], value: Any) -> list[tuple[str, str]]:
    """Every violation of ``schema`` by ``value`` as (where, what); empty when valid."""
    try:
        return sorted(_describe(e) for e in _validator_class()(schema).iter_errors(value))
    except ValueError:  # jsonschema's messages repr() the value; Python refuses ints over 4300 digits
        return [("", "contains an integer too large to check (over 4300 digits)")]


def _problem(name: str, error: tuple[str, str], source: str | None = None) -> str:
    """``param 'hyperparameters.eta': must be <= 1 (got 2)``, or the same for a fallback source."""
    where, text = error
    if source:
        return f"{source} (fallback for param {name!r}){where}: {text}"
    return f"param {name + where!r}: {text}"


def _usable(name: str, value: Any) -> list[tuple[str, str]]:
    """What a later task would reject in a value its schema accepts (checked only once it does).

    The schemas are meant to reject all of it already (the form cannot run Python); this is the
    safety net that keeps a late rejection from ever following a resolve_config that said yes.
    """
    if name == "dataset_source" and value is not None:
        from sagemaker_k8s.dataset.sources import parse_source  # pure: parsing only, no I/O

        try:
            parse_source(value)
        except ValueError as e:
            reason = _short(getattr(e, "reason", str(e)), 200)
            return [("", f"{_short(value)} is not a usable source: {reason}")]
    return []


def _validate(name: str, schema: Mapping[str, Any], value: Any) -> list[tuple[str, str]]:
    """Schema problems, else what a later task would reject. Where both reject, the later task's
    reason is the more precise one ("unknown sample 'mnist-6k'" rather than "does not match")."""
    errors = _check(schema, value)
    if not errors:
        return _usable(name, value)
    if all(where == "" for where, _ in errors) and isinstance(value, str):
        return _usable(name, value) or errors
    return errors


def _is_integer_typed(schema: Mapping[str, Any]) -> bool:
    types = schema.get("type")
    return types == "integer" or (isinstance(types, list) and "integer" in types)


def _integral(value: Any, schema: Mapping[str, Any]) -> Any:
    """``2.0`` -> ``2`` where the schema says integer (JSON Schema accepts 2.0 as one; SageMaker,
    the CRD schemas and ``range()`` do not). Only for values the schema accepted."""
    if isinstance(value, float) and value.is_integer() and _is_integer_typed(schema):
        return int(value)
    return value


def _normalise_hyperparameters(values: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    """JSON gives ``10.0`` for an integer typed as a number; SageMaker needs ``"10"``, not ``"10.0"``."""
    props = schema.get("properties", {})
    return {k: _integral(v, props.get(k, {})) for k, v in values.items()}


def resolve_run_config(
    params: Mapping[str, Any], *, variables: Mapping[str, str | None], connection_region: str | None
) -> RunConfig:
    """Validate ``params`` and apply fallbacks (param -> Variable -> connection region for region).

    Variable values are stripped of surrounding whitespace (the UI keeps a pasted newline);
    params are taken exactly. Params not in ``PARAM_SPECS`` are ignored (the DAG may add its own).
    Raises ``ConfigError`` listing every problem; ``.param`` names the first one.
    """
    problems: list[tuple[str, str]] = []
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for name, spec in PARAM_SPECS.items():
        value = params[name] if name in params else copy.deepcopy(spec.default)
        errors = _validate(name, spec.schema, value)
        problems += [(name, _problem(name, e)) for e in errors]
        origin = "param"
        candidates = (
            [(f"Airflow Variable {spec.variable!r}", variables.get(spec.variable))] if spec.variable else []
        )
        if name == "region":
            candidates.append(("the AWS connection's region", connection_region))
        for source, fallback in candidates:
            if value is not None or errors or fallback is None:
                continue
            fallback = fallback.strip() if isinstance(fallback, str) else fallback
            if fallback == "":
                continue
            bad = _validate(name, spec.schema, fallback)
            problems += [(name, _problem(name, e, source)) for e in bad]
            if not bad:
                value, origin = fallback, source
        values[name] = value if errors else _integral(value, spec.schema)
        origins[name] = origin if value is not None else "unset"

    for name in REQUIRED:
        if values.get(name) is None and not any(p == name for p, _ in problems):
            var = PARAM_SPECS[name].variable
            problems.append((name, f"param {name!r} is required: set it or the Airflow Variable {var!r}"))
    if values.get("namespace") is None:
        values["namespace"], origins["namespace"] = DEFAULT_NAMESPACE, "default"
    if values.get("dataset_source") is None:
        values["dataset_source"], origins["dataset_source"] = DEFAULT_DATASET_SOURCE, "default"
    if isinstance(values.get("hyperparameters"), Mapping):
        values["hyperparameters"] = _normalise_hyperparameters(
            values["hyperparameters"], PARAM_SPECS["hyperparameters"].schema
        )
    if isinstance(values.get("tuning"), Mapping) and "tuning" not in {p for p, _ in problems}:
        values["tuning"] = _normalise_tuning(values["tuning"], PARAM_SPECS["tuning"].schema)
    problems += _cross_checks(values, {p for p, _ in problems}, origins)
    problems += _pipeline_checks(values, {p for p, _ in problems})
    if problems:
        lines = "\n".join(f"  - {text}" for _, text in problems)
        raise ConfigError(
            f"Invalid run configuration ({len(problems)} problem(s)):\n{lines}",
            param=problems[0][0],
            problems=tuple(text for _, text in problems),
        )
    return RunConfig(**values, origins=origins)


def _origin(name: str, origins: Mapping[str, str]) -> str:
    """`` (from Airflow Variable 'sagemaker_k8s_region')`` when the value was not given as the param."""
    origin = origins.get(name, "param")
    return "" if origin in ("param", "default", "unset") else f" (from {origin})"


def _cross_checks(
    values: Mapping[str, Any], broken: set[str], origins: Mapping[str, str] | None = None
) -> list[tuple[str, str]]:
    """Rules spanning params: ARN partition vs region, image region vs region, image availability.

    Each message says where a value came from when it was not the param itself (a Variable, the
    AWS connection): that is where the fix goes.
    """
    origins = origins or {}
    region = values.get("region")
    if not isinstance(region, str) or "region" in broken:
        return []
    found: list[tuple[str, str]] = []
    expected = partition(region)
    where_region = f"region {region!r}{_origin('region', origins)}"
    for name in ("execution_role_arn", "operator_role_arn"):
        arn = values.get(name)
        if isinstance(arn, str) and name not in broken and arn.split(":")[1] != expected:
            found.append(
                (
                    name,
                    f"param {name!r}{_origin(name, origins)}: ARN partition {arn.split(':')[1]!r} does not "
                    f"match {where_region} (expected arn:{expected}:...)",
                )
            )
    image = values.get("training_image")
    if isinstance(image, str) and "training_image" not in broken:
        match = _ECR_REGION.search(image)
        if match and match.group(1) != region:
            found.append(
                (
                    "training_image",
                    f"param 'training_image': image is in {match.group(1)!r} but jobs "
                    f"run in {where_region}; SageMaker pulls images from the job's region",
                )
            )
    elif image is None and region not in XGBOOST_ACCOUNTS:
        found.append(
            (
                "region",
                f"param 'region'{_origin('region', origins)}: no built-in XGBoost image is known for "
                f"{region!r}; set training_image",
            )
        )
    return found


def _pipeline_checks(values: Mapping[str, Any], broken: set[str]) -> list[tuple[str, str]]:
    """Rules between the tuning, batch-scoring and gate params that one schema cannot state."""
    found: list[tuple[str, str]] = []
    tuning = values.get("tuning")
    if isinstance(tuning, Mapping) and "tuning" not in broken:
        if tuning["max_parallel"] > tuning["max_jobs"]:
            found.append(
                (
                    "tuning",
                    f"param 'tuning.max_parallel': {tuning['max_parallel']} is more than max_jobs "
                    f"{tuning['max_jobs']}; at most max_jobs training jobs can run at once",
                )
            )
        for name, bounds in sorted(tuning["ranges"].items()):
            if bounds["min"] > bounds["max"]:
                found.append(
                    (
                        "tuning",
                        f"param 'tuning.ranges.{name}': min {bounds['min']:g} is greater than "
                        f"max {bounds['max']:g}",
                    )
                )
    if values.get("gate_metric") == TEST_ACCURACY_METRIC and "gate_metric" not in broken:
        if values.get("batch_scoring") is False:
            found.append(
                (
                    "gate_metric",
                    f"param 'gate_metric': {TEST_ACCURACY_METRIC} is measured by batch scoring, which "
                    "batch_scoring false turns off; set batch_scoring true or choose a training metric",
                )
            )
        if values.get("gate_direction") == "minimize" and "gate_direction" not in broken:
            found.append(
                (
                    "gate_metric",
                    f"param 'gate_metric': {TEST_ACCURACY_METRIC} is better when higher, but "
                    "gate_direction is minimize; set gate_direction to maximize",
                )
            )
    return found


def check_conf_keys(conf: Mapping[str, Any], known: Iterable[str]) -> None:
    """Refuse DAG-run conf keys that are not params: a typo would otherwise be ignored silently.

    Hyperparameter names given at the top level (``{"num_round": 5}``) get the exact fix.
    """
    known = set(known)
    nested = set(PARAM_SPECS["hyperparameters"].schema["properties"])
    problems: list[tuple[str, str]] = []
    for key in sorted(str(k) for k in conf if k not in known):
        shown = key if len(key) <= 60 else key[:57] + "..."
        if key in nested:
            hint = f'; it is a hyperparameter: {{"hyperparameters": {{"{key}": {_short(conf[key])}}}}}'
        else:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
        problems.append((shown, f"unknown conf key {shown!r}{hint}"))
    if problems:
        lines = "\n".join(f"  - {text}" for _, text in problems)
        raise ConfigError(
            f"Invalid run configuration ({len(problems)} problem(s)):\n{lines}\n"
            f"Known params: {', '.join(sorted(known))}",
            param=problems[0][0],
            problems=tuple(text for _, text in problems),
        )
