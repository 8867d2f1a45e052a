"""Run the SageMaker Operators for Kubernetes MNIST/XGBoost walkthrough from Apache Airflow.

Packaged by feature, in layers (stated in pyproject.toml, ``[tool.importlinter]``, checked by
``make lint``): the Airflow glue (``operators/``, ``sensors/``, ``resource_task/``, ``triggers/``,
``links/``, ``assets``) over the only I/O (``hooks/``) over pure logic (``promotion/``, ``preflight/``,
``config/``) over pure CR and dataset data (``manifests/``, ``dataset/``) over leaves (``constants``,
``exceptions``, ``patterns``, ``tunable``).
"""
