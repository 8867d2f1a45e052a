"""Run the SageMaker Operators for Kubernetes MNIST/XGBoost walkthrough from Apache Airflow.

The package is split by role so each piece can be found and tested alone: pure logic
(``constants``, ``exceptions``, ``patterns``, ``params``, ``run_config``, ``manifests/``, ``aws/``,
``preflight_report``, ...) imports nothing expensive; the Airflow glue (``hooks/``, ``triggers/``,
``links/``, ``resource_task/``, ``operators/``, ``sensors/``) builds on it. The layers are stated
in pyproject.toml (``[tool.importlinter]``) and checked by ``make lint``.
"""
