# The Airflow image for docker-compose.yaml: the official image plus this project's runtime pins.
# Keep the tag's Airflow version equal to apache-airflow in requirements.txt (tests/deploy checks it).
FROM apache/airflow:3.3.2-python3.11

# Pinning apache-airflow to the image's own version (AIRFLOW_VERSION is set by the base image) keeps
# pip from up- or downgrading Airflow while it installs the providers and libraries.
COPY requirements.txt /requirements.txt
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -r /requirements.txt

# dags/, plugins/ and include/ are mounted by docker-compose.yaml, not baked in.
