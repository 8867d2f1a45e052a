"""The XGBoost hyperparameters a tuning job may tune, with SageMaker's range type and bounds.

One table for the ``tuning`` param's schema (``params``), the run config's normalisation
(``run_config``) and the tuning manifest's checks (``manifests.tuning``). A leaf: plain data,
imported at DAG parse time.
"""

from __future__ import annotations

#: Tunable XGBoost hyperparameters: (SageMaker range type, lowest min, highest max).
TUNABLE_RANGES: dict[str, tuple[str, float, float]] = {
    "eta": ("continuous", 0, 1),
    "min_child_weight": ("continuous", 0, 120),
    "alpha": ("continuous", 0, 1000),
    "lambda": ("continuous", 0, 1000),
    "gamma": ("continuous", 0, 100),
    "subsample": ("continuous", 0.5, 1),
    "max_depth": ("integer", 0, 20),
    "num_round": ("integer", 1, 1000),
}
