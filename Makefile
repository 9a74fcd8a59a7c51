# Skald: `make run` brings everything up and serves; `make test` brings everything up and tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= native
COMPOSE := docker compose --env-file deploy/versions.env -f deploy/docker-compose.yml

.DEFAULT_GOAL := help
.PHONY: help install up down status stack-clean setup run test test-unit test-integration \
        lint format schemas-check bench cluster-up cluster-down cluster-status test-cluster

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed ## Create .venv and install Skald with its dev tools

up: install ## Start Kafka, PostgreSQL and OpenSearch (STACK=native|compose) and wait until healthy
ifeq ($(STACK),compose)
	$(COMPOSE) up -d --wait
else
	$(PY) deploy/local/stack.py up
endif

down: install ## Stop the services `make up` started
ifeq ($(STACK),compose)
	$(COMPOSE) down
else
	$(PY) deploy/local/stack.py down
endif

status: install ## Show the local stack's services
	$(PY) deploy/local/stack.py status

stack-clean: install ## Stop the stack and wipe its data
ifeq ($(STACK),compose)
	$(COMPOSE) down --volumes
else
	$(PY) deploy/local/stack.py clean
endif

setup: up ## Create topics, tables and indices
	$(VENV)/bin/skald setup

run: up ## Set up and run the API and the projectors in the foreground (Ctrl-C stops)
	$(VENV)/bin/skald run

bench: up ## Benchmarks beside their baselines: a table, and JSON in bench-results/ (ONLY=name)
	$(PY) -m bench $(ONLY)

lint: install ## ruff and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install ## Format the code
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

schemas-check: install ## Check every schema subject's compatibility between versions
	$(VENV)/bin/skald schemas check

test-unit: install ## Unit tests: pure logic, no services, seconds
	$(VENV)/bin/pytest tests/unit

test-integration: up ## Integration and end-to-end tests against the real services
	$(VENV)/bin/pytest tests/integration

test: lint schemas-check up ## Everything CI runs: lint, schema check, unit and integration tests
	$(VENV)/bin/pytest

cluster-up: install ## Start a three-node Kafka cluster on localhost:19092-19094 (replication 3)
	$(PY) deploy/local/cluster.py up

cluster-down: install ## Stop the three-node Kafka cluster
	$(PY) deploy/local/cluster.py down

cluster-status: install ## Show the three-node Kafka cluster's nodes
	$(PY) deploy/local/cluster.py status

test-cluster: up ## Broker fault tests on a private three-node cluster (about 9 min; not in `make test`)
	$(VENV)/bin/pytest -m cluster tests/integration/cluster
