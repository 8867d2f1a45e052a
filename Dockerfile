# The Airflow image for docker-compose.yaml: the official image plus this project's runtime pins.
# Keep the tag's Airflow version equal to apache-airflow in requirements.txt (tests/deploy checks it).
FROM apache/airflow:3.3.2-python3.11

# Pinning apache-airflow to the image's own version (AIRFLOW_VERSION is set by the base image) keeps
# pip from up- or downgrading Airflow while it installs the providers and libraries.
COPY requirements.txt /requirements.txt
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -r /requirements.txt

# EKS authentication without the AWS CLI: `aws` implements `aws eks get-token` (the exec plugin that
# `aws eks update-kubeconfig` writes) with the image's boto3; `check-kubeconfig` is airflow-init's
# check of the mounted kubeconfig. Both run on the image's python3 (the venv on PATH); the last RUN
# fails the build if they cannot start. To use the real AWS CLI v2, install it over /usr/local/bin/aws.
USER root
COPY deploy/aws_eks_get_token.py /usr/local/bin/aws
COPY deploy/check_kubeconfig.py /usr/local/bin/check-kubeconfig
RUN chmod 0755 /usr/local/bin/aws /usr/local/bin/check-kubeconfig
USER airflow
RUN aws eks get-token --help >/dev/null && check-kubeconfig --help >/dev/null

# dags/, plugins/ and include/ are mounted by docker-compose.yaml, not baked in.
