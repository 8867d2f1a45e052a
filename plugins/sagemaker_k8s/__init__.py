"""Run the SageMaker Operators for Kubernetes MNIST/XGBoost walkthrough from Apache Airflow.

The package is split by role so each piece can be found and tested alone: pure logic
(``constants``, ``exceptions``, ``params``, ``manifests/``, ``aws/``, ``preflight_report``) imports
nothing expensive and is safe at DAG parse time; the Airflow glue (``hooks/``, ``operators/``,
``sensors/``, ``triggers/``, ``links/``) builds on it.
"""
