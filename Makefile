# The project's contract: README names these targets and CI calls them.
#   make run    the whole local stack (Rasa, action server, gateway with web chat and consoles)
#   make run-scaled   two Rasa replicas and two gateways behind one port (local PostgreSQL and Redis)
#   make test   everything the tests need, from nothing, then all tests
#   make train  (re)train the model when data, config or NLU code changed
#   make eval SET=file.jsonl   score the model on a labelled set
#   make eval-sets   the dev set and every blind set, side by side
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Rasa 3.6 needs Python 3.10; the gateway runs on 3.11+. Found on PATH or in pyenv.
PYTHON310 ?= $(shell for p in python3.10 $$HOME/.pyenv/versions/3.10*/bin/python3.10 /usr/bin/python3.10; do $$p -c 'import sys; assert sys.version_info[:2]==(3,10)' 2>/dev/null && { echo $$p; break; }; done)
PYTHON311 ?= $(shell for p in python3.11 python3.12 python3 $$HOME/.pyenv/versions/3.11*/bin/python3.11; do $$p -c 'import sys; assert sys.version_info>=(3,11)' 2>/dev/null && { echo $$p; break; }; done)

RASA_VENV := .venv-rasa
GW_VENV := .venv
RASA := $(RASA_VENV)/bin/rasa
MODEL := models/current.tar.gz
AUGMENTED := build/nlu/augmented.yml
SET ?= ../shared/eval/dev.jsonl

export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
# Same data and seed give the same model: ask TensorFlow for deterministic kernels.
export TF_DETERMINISTIC_OPS := 1
export PYTHONPATH := $(CURDIR)
export ACTION_SERVER_URL ?= http://127.0.0.1:5055/webhook
export NLG_URL ?=
export NLG_TOKEN ?=
# Rasa's stores (endpoints.yml): empty means in memory.
export TRACKER_STORE_URL ?=
export LOCK_STORE_URL ?=

NLU_INPUTS := $(shell find data/nlu data/lexicon -name '*.yml' 2>/dev/null) $(wildcard data/risk/*.jsonl) $(wildcard vietnlu/*.py) $(wildcard vietnlu/*/*.py)
CORE_INPUTS := $(shell find data/rules data/stories -name '*.yml' 2>/dev/null) domain.yml config.yml

.PHONY: help run test train eval validate lint typecheck test-unit test-conversations \
        test-gateway bench-parse bench-gateway clean envs browser train-candidate bench-escalation bench-reliability \
        bench-outage bench-scaled run-scaled eval-sets eval-context test-deploy deploy-tools test-scripts

help:
	@grep -E '^#   make' Makefile | sed 's/^#   //'

## Environments ---------------------------------------------------------------------------
$(RASA_VENV)/.installed: requirements/rasa.txt requirements/rasa-constraints.txt
	@test -n "$(PYTHON310)" || { echo "Python 3.10 is required for Rasa 3.6 (python3.10 not found)"; exit 1; }
	$(PYTHON310) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/pip install -q "pip<24.1" wheel "setuptools<70"
	$(RASA_VENV)/bin/pip install -q -r requirements/rasa.txt -c requirements/rasa-constraints.txt
	touch $@

$(GW_VENV)/.installed: requirements/gateway.txt requirements/gateway-constraints.txt
	@test -n "$(PYTHON311)" || { echo "Python 3.11+ is required for the gateway"; exit 1; }
	$(PYTHON311) -m venv $(GW_VENV)
	$(GW_VENV)/bin/pip install -q -r requirements/gateway.txt -c requirements/gateway-constraints.txt
	touch $@

envs: $(RASA_VENV)/.installed $(GW_VENV)/.installed

# The browser tests drive Debian's Chromium headless (never a browser a tool downloads).
# axe-core (npm, pinned in package-lock.json) is injected into pages for the accessibility checks.
browser: node_modules/axe-core/axe.min.js
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }

node_modules/axe-core/axe.min.js: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# The deployment checks use Debian's docker-compose (`config`) and caddy (`validate`) when they can be
# installed (as root); without them only those two checks skip.
deploy-tools:
	@command -v docker-compose >/dev/null 2>&1 && command -v caddy >/dev/null 2>&1 || { \
	  echo "installing Debian's docker-compose and caddy for the deployment checks"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker-compose caddy >/dev/null || \
	  echo "could not install them: their checks skip"; }

$(GW_VENV)/.deploy-check-installed: requirements/deploy-check.txt $(GW_VENV)/.installed
	$(GW_VENV)/bin/pip install -q -r requirements/deploy-check.txt -c requirements/gateway-constraints.txt
	touch $@

## Model ----------------------------------------------------------------------------------
$(AUGMENTED): $(NLU_INPUTS) $(RASA_VENV)/.installed
	$(RASA_VENV)/bin/python -m vietnlu.augment data/nlu $@ --corpus data/risk

$(MODEL): $(AUGMENTED) $(CORE_INPUTS) $(NLU_INPUTS)
	$(RASA) train --data $(AUGMENTED) data/rules data/stories --domain domain.yml \
	  --config config.yml --out models --fixed-model-name current

train: $(MODEL)

# A new model file for the content console's retrain: evaluated beside the running model and
# swapped in (PUT /model) only if it is not worse; models/current.tar.gz is left as it is.
# It also learns the inbox examples staff accepted, exported outside the repository to
# INBOX_EXPORT_DIR (the gateway's setting, handed to this command by the retrain).
INBOX_EXPORT_DIR ?= var/exports
train-candidate: $(AUGMENTED)
	$(RASA) train --data $(AUGMENTED) $(wildcard $(INBOX_EXPORT_DIR)/inbox_*.yml) data/rules data/stories --domain domain.yml \
	  --config config.yml --out models/candidates --fixed-model-name candidate-$$(date +%Y%m%d-%H%M%S)

validate: $(AUGMENTED)
	$(RASA) data validate --data $(AUGMENTED) data/rules data/stories --domain domain.yml \
	  --config config.yml

## Run ------------------------------------------------------------------------------------
run: envs $(MODEL)
	$(GW_VENV)/bin/python scripts/run_stack.py

# Two Rasa replicas (SQL tracker store, Redis lock store) and two gateways (one PostgreSQL database)
# behind one front port, on the local PostgreSQL and Redis.
run-scaled: envs $(MODEL)
	$(GW_VENV)/bin/python scripts/run_scaled.py

## Tests ----------------------------------------------------------------------------------
test: envs browser lint typecheck validate test-unit test-deploy test-scripts train test-conversations test-gateway

test-unit: $(RASA_VENV)/.installed
	$(RASA_VENV)/bin/python -m pytest tests/nlu tests/actions tests/stores tests/rasa_channels -q

# scripts/: the process supervisor behind `make run` (small dummy processes, no Rasa needed).
test-scripts: $(GW_VENV)/.installed
	$(GW_VENV)/bin/python -m pytest tests/scripts -q

# deploy/: compose.yml, the Dockerfiles, the Kubernetes manifests and the Caddyfile (no engine needed).
test-deploy: $(GW_VENV)/.deploy-check-installed deploy-tools
	$(GW_VENV)/bin/python -m pytest tests/deploy -q

test-conversations: $(MODEL)
	$(RASA) test core --stories tests --model $(MODEL) --e2e --fail-on-prediction-errors \
	  --out results/conversations

# The gateway tests run against a real Rasa server and action server started for them, in
# GATEWAY_TEST_WORKERS processes (a test file stays in one; each test has its own database).
GATEWAY_TEST_WORKERS ?= 2
test-gateway: $(GW_VENV)/.installed $(MODEL)
	$(GW_VENV)/bin/python scripts/services.py exec -- $(GW_VENV)/bin/python -m pytest tests/gateway -q \
	  -n $(GATEWAY_TEST_WORKERS) --dist loadfile

eval: $(MODEL)
	$(RASA_VENV)/bin/python scripts/services.py eval $(SET)

# The dev set and every blind set (tests/nlu/blind) side by side; blind sets print no lines.
eval-sets: $(MODEL)
	$(RASA_VENV)/bin/python scripts/eval_sets.py

# Short conversations replayed through Rasa and the actions: is a message read in its context?
eval-context: $(MODEL)
	$(RASA_VENV)/bin/python scripts/eval_context.py

lint: $(GW_VENV)/.installed
	$(GW_VENV)/bin/ruff check .
	$(GW_VENV)/bin/lint-imports --no-cache

typecheck: $(GW_VENV)/.installed
	$(GW_VENV)/bin/mypy

## Benchmarks (print numbers; not tests) --------------------------------------------------
bench-parse: $(MODEL)
	$(RASA_VENV)/bin/python scripts/bench_parse.py

# These start their own Rasa and action server, with Rasa's NLG at the gateway as `make run` does.
bench-gateway: envs $(MODEL)
	$(GW_VENV)/bin/python scripts/bench_gateway.py

bench-escalation: envs $(MODEL)
	$(GW_VENV)/bin/python scripts/bench_escalation.py

# Replies and disclosures idle, during a login flood and a 3,000-subscriber broadcast, and recovery
# after kill -9 of the gateway (fake Rasa and Telegram).
bench-reliability: envs
	$(GW_VENV)/bin/python scripts/bench_reliability.py

# Kills the supervised Rasa a few times: restart time, cases and the 111 fallback while it is down.
bench-outage: envs $(MODEL)
	$(GW_VENV)/bin/python scripts/bench_rasa_outage.py

# The scaled topology: one vs two Rasa replicas, losses when a replica dies, Rasa memory per store.
bench-scaled: envs $(MODEL)
	$(GW_VENV)/bin/python scripts/bench_scaled.py

clean:
	rm -rf build models results var/log
