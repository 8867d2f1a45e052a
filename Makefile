# Every target creates .venv on first use and installs the pinned requirements into it.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)

# Airflow runs from the repo: its home (db, logs, config) is .airflow/, dags and plugins are the repo's.
export AIRFLOW_HOME := $(CURDIR)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export SAGEMAKER_K8S_MANIFESTS_DIR := $(CURDIR)/include/manifests
# Bytecode is compiled at install and cached for the repo's modules: with PYTHONDONTWRITEBYTECODE set
# (as on CI machines) every Airflow process (each `airflow dags test`, each component) and every pytest
# worker would compile Airflow's thousands of modules from source again: 10 s of CPU each.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: help install demo test check lint format sandbox airflow bench clean

help:
	@echo "make demo     run the pipeline end to end on the embedded sandbox (TUNE=1: tune, DEMO_RUNS=2: gate,"
	@echo "              FLAVOUR=ack: on the ACK SageMaker controller)"
	@echo "make test     lint + the whole test suite"
	@echo "make check    lint + the unit and sandbox tiers: no Airflow process (the fast loop while developing)"
	@echo "make sandbox  start the sandbox alone (Ctrl-C stops it)"
	@echo "make airflow  the sandbox + Airflow's UI, scheduler, dag-processor, triggerer on 127.0.0.1:8080"
	@echo "              (DB=postgres for a throwaway PostgreSQL; Ctrl-C stops everything)"
	@echo "make bench    run the benchmarks and update docs/benchmarks.md"

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv==0.13.9
	$(BIN)/uv pip install -q --compile-bytecode -p $(BIN)/python -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

demo: $(STAMP)
	TUNE="$(TUNE)" FLAVOUR="$(FLAVOUR)" DEMO_RUNS="$(or $(DEMO_RUNS),1)" $(BIN)/python scripts/demo.py

# The tiers that start no real Airflow runtime run on JOBS pytest-xdist workers (their waits leave the
# cores idle, so one more worker than cores), a file per worker: its tests run in file order on its
# module-scoped fixtures (one sandbox, a sequence of DAG runs), as in a serial run. (loadgroup would
# balance better, but pytest 9 ignores the group suffix pytest-xdist 3.8 writes into node ids.) The
# runtime tier then runs alone, as its timings assume.
JOBS ?= $(shell echo $$(( $$(nproc) + 1 )))
test: $(STAMP) lint
	$(BIN)/pytest -n $(JOBS) --dist loadfile -m "not runtime"; fast=$$?; \
	$(BIN)/pytest -m runtime; runtime=$$?; \
	exit $$(( fast ? fast : runtime ))

check: $(STAMP) lint
	$(BIN)/pytest -q -n $(JOBS) --dist loadfile -m "unit or sandbox"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	PYTHONPATH=plugins $(BIN)/lint-imports --no-cache

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

sandbox: $(STAMP)
	$(BIN)/python -m sandbox up --flavour $(or $(FLAVOUR),legacy)

DB ?= sqlite
airflow: $(STAMP)
	FLAVOUR="$(FLAVOUR)" $(BIN)/python scripts/airflow_local.py --db $(DB)

bench: $(STAMP)
	$(BIN)/python bench/bench_csv.py --write-docs
	$(BIN)/python bench/bench_parse.py --write-docs
	$(BIN)/python bench/bench_promotion.py --write-docs
	$(BIN)/python bench/bench_tuning.py --write-docs
	$(BIN)/python bench/bench_waits.py --write-docs

clean:
	rm -rf .airflow .airflow-local .sandbox .artifacts .pytest_cache .ruff_cache
