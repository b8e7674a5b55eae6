# Polkuopas — every command a developer or CI runs. `make` alone lists them.
# The two commands from the README: `make run` and `make test`.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

APP_VENV := .venv
BOT_VENV := .venv-rasa
APP := $(APP_VENV)/bin
BOT := $(BOT_VENV)/bin
# pip, quieter: the lines about a configured local index folder that does not
# exist on this machine say nothing about the install.
PIP_FILTER := { grep -v "^WARNING: Location 'file:" || true; }
APP_STAMP := $(APP_VENV)/.installed
BOT_STAMP := $(BOT_VENV)/.installed
# What the two sides agree on (identity, tokens, rate limits, the channel's
# settings): its own small package, installed into both environments first.
CONTRACT := actions/contract
# Debian packages: Voikko for the Finnish spaCy pipeline's lemmas; Chromium for
# the browser tests (Playwright drives Debian's binary; it downloads no browser).
DEBIAN_PACKAGES := libvoikko1 voikko-fi
BROWSER_PACKAGES := chromium
# PostgreSQL, Redis and nginx for the scale-out shape (make run-scaled) and its
# tests (tests/scaleout): each run starts its own throwaway servers from these
# binaries.
SCALEOUT_PACKAGES := postgresql redis-server nginx
# Glewlwyd, a real OpenID Provider that tests/test_workspace_sso.py starts with
# throwaway data for the workspace's single sign-on.
SSO_PACKAGES := glewlwyd

# Rasa: no telemetry or error reports sent anywhere, quieter TensorFlow; the
# Rasa side (bot/polkuopas_rasa: channel, token check, speed-ups, tracker
# store) is found in bot/.
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
RASA := PYTHONPATH=bot $(BOT)/rasa
RASA_DATA := --domain bot/domain.yml --data data
MODEL := bot/models/polkuopas.tar.gz

.PHONY: help
help: ## list the commands
	@echo "Polkuopas — make targets:"
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-14s %s\n", $$1, $$2}'

# --- installing ---------------------------------------------------------------

.PHONY: install
install: system-deps $(APP_STAMP) $(BOT_STAMP) ## install whatever is missing (both environments, Debian packages)

.PHONY: system-deps
system-deps:
	@scripts/system-deps.sh $(DEBIAN_PACKAGES)

.PHONY: browser-deps
browser-deps:
	@scripts/system-deps.sh $(BROWSER_PACKAGES)

.PHONY: scaleout-deps
scaleout-deps:
	@scripts/system-deps.sh $(SCALEOUT_PACKAGES)

.PHONY: sso-deps
sso-deps:
	@scripts/system-deps.sh $(SSO_PACKAGES)

$(APP_STAMP): pyproject.toml $(CONTRACT)/pyproject.toml
	@echo "==> app environment ($(APP_VENV)): action server, CLI, web app, test tools"
	@test -x $(APP)/python || "$$(scripts/find-python.sh app)" -m venv $(APP_VENV)
	@$(APP)/python -m pip install --quiet --upgrade pip 2>&1 | $(PIP_FILTER)
	@$(APP)/python -m pip install --quiet --editable $(CONTRACT) 2>&1 | $(PIP_FILTER)
	@$(APP)/python -m pip install --quiet --editable '.[dev]' 2>&1 | $(PIP_FILTER)
	@$(APP)/python -m pip check
	@touch $@

$(BOT_STAMP): bot/requirements.txt $(CONTRACT)/pyproject.toml
	@echo "==> bot environment ($(BOT_VENV)): Rasa 3.6 on Python 3.10 (first time: a few minutes)"
	@test -x $(BOT)/python || "$$(scripts/find-python.sh bot)" -m venv $(BOT_VENV)
	@$(BOT)/python -m pip install --quiet --upgrade pip 2>&1 | $(PIP_FILTER)
	@$(BOT)/python -m pip install --quiet --editable $(CONTRACT) 2>&1 | $(PIP_FILTER)
	@$(BOT)/python -m pip install --quiet --requirement bot/requirements.txt 2>&1 | $(PIP_FILTER)
	@$(BOT)/python -m pip check
	@touch $@

# --- the two commands ---------------------------------------------------------

# One line per stage on the terminal (installing, demo data, model, each
# server); the rest goes to var/log/. Ctrl-C stops every server.
.PHONY: run
run: ## install what is missing, seed the demo, start everything
	@MAKE="$(MAKE)" scripts/run.sh

# The scale-out shape of deploy/compose.yml without Docker: nginx on
# POLKUOPAS_SCALED_PORT (8080), two Rasa servers, PostgreSQL, Redis, two action
# servers, the web app; var/scaled/ (logs in var/scaled/log/). Ctrl-C stops it.
.PHONY: run-scaled
run-scaled: install scaleout-deps ## the scale-out shape (nginx, 2 Rasa, PostgreSQL, Redis) on port 8080
	@MAKE="$(MAKE)" scripts/run-scaled.sh

.PHONY: test
test: install browser-deps scaleout-deps sso-deps lint paths-check nlu-vocab-check train test-stories ## install what is missing and run every test
	$(APP)/python -m pytest --durations=25

# --- pieces -------------------------------------------------------------------

.PHONY: lint
lint: $(APP_STAMP) ## ruff lint and format check
	$(APP)/ruff check .
	$(APP)/ruff format --check .

.PHONY: format
format: $(APP_STAMP) ## format the code with ruff
	$(APP)/ruff format .
	$(APP)/ruff check --fix .

.PHONY: paths-check
paths-check: $(APP_STAMP) ## validate paths/*.yml and paths/roles.yml
	$(APP)/polkuopas paths check

.PHONY: nlu-vocab
nlu-vocab: $(APP_STAMP) ## regenerate the generated NLU data (roles_generated.yml, questions_generated.yml) from paths/
	$(APP)/python -m polkuopas.nluvocab
	$(APP)/python -m polkuopas.nluquestions

.PHONY: nlu-vocab-check
nlu-vocab-check: $(APP_STAMP)
	$(APP)/python -m polkuopas.nluvocab --check
	$(APP)/python -m polkuopas.nluquestions --check

.PHONY: docs
docs: $(APP_STAMP) ## regenerate the CLI and configuration references in docs/ from the code
	$(APP)/python -m polkuopas.docgen

.PHONY: validate
validate: $(BOT_STAMP) ## rasa data validate --fail-on-warnings
	$(RASA) data validate --fail-on-warnings --config bot/config.yml $(RASA_DATA)

.PHONY: train
train: validate ## train the assistant (Rasa skips it when nothing changed)
	$(RASA) train --config bot/config.yml $(RASA_DATA) \
	  --out bot/models --fixed-model-name polkuopas

.PHONY: test-stories
# --e2e: each client message of a story is parsed by the model and must give
# the story's intent; without it Rasa takes the story's intent as given.
test-stories: train ## conversation tests (tests/stories) with rasa test: the model's understanding and the replies
	$(RASA) test core --model $(MODEL) --stories tests/stories --e2e \
	  --fail-on-prediction-errors --out var/rasa-test

.PHONY: test-browser
test-browser: $(APP_STAMP) browser-deps sso-deps ## browser tests only (Chromium through Playwright)
	$(APP)/python -m pytest tests/browser -q

.PHONY: test-scaleout
test-scaleout: $(APP_STAMP) $(BOT_STAMP) scaleout-deps browser-deps ## scale-out tests only: deploy/ config, PostgreSQL tracker and Redis lock stores, the shape with the widget through nginx
	$(APP)/python -m pytest tests/scaleout -q

.PHONY: eval-nlu
# Our pipeline is the served model, $(MODEL), as `make train` builds it (two
# trainings on the same data differ, so the report measures the one served).
# Rasa's default is trained here and kept in var/eval-nlu/ with a fingerprint
# of the data and config: `make eval-nlu REUSE=1` measures it again (minutes)
# when neither changed, e.g. after an evaluation set was added.
eval-nlu: train ## NLU benchmark: the served model and Rasa's default, side by side (~45 min)
	$(BOT)/python -m benchmarks.eval_nlu --out reports/nlu.md --models var/eval-nlu \
	  --served $(MODEL) $(if $(REUSE),--reuse)

.PHONY: eval-retrieval
# Path questions as one intent per topic (ours) against a ResponseSelector, on
# the same data, both trained alike here (kept in var/eval-nlu/ for REUSE=1).
eval-retrieval: $(BOT_STAMP) ## NLU: per-topic intents vs a ResponseSelector -> reports/nlu-retrieval.md (~25 min)
	$(BOT)/python -m benchmarks.compare_retrieval --out reports/nlu-retrieval.md --models var/eval-nlu $(if $(REUSE),--reuse)

.PHONY: bench
bench: $(APP_STAMP) $(BOT_STAMP) scaleout-deps ## speed figures: Rasa stock vs as shipped, single Rasa vs scaled -> reports/bench.md (~20 min)
	@test -f $(MODEL) || { echo "no trained model at $(MODEL): run make train first"; exit 1; }
	$(APP)/python -m benchmarks.bench --model $(MODEL) --out reports/bench.md

# `make loadtest CLIENTS=50 DURATION=120`; LOADTEST_ARGS for the rest (README).
# TARGET=scaled: make run-scaled's shape (nginx, 2 Rasa, PostgreSQL, Redis)
# instead of make run's, its report in reports/load-scaled.md.
CLIENTS ?= 50
DURATION ?= 120
TARGET ?= single
LOADTEST_ARGS ?=
LOAD_REPORT = reports/load$(if $(filter scaled,$(TARGET)),-scaled).md

.PHONY: loadtest
loadtest: $(APP_STAMP) $(BOT_STAMP) $(if $(filter scaled,$(TARGET)),scaleout-deps) ## load test: CLIENTS (50) conversations for DURATION (120) s, TARGET single or scaled -> reports/load.md
	$(APP)/python -m benchmarks.load.loadtest --clients $(CLIENTS) --duration $(DURATION) \
	  --target $(TARGET) --out $(LOAD_REPORT) $(LOADTEST_ARGS)

.PHONY: demo
demo: $(APP_STAMP) ## seed the demo clients and professionals (idempotent)
	@$(APP)/polkuopas demo

.PHONY: clean
clean: ## remove both environments and the local store (var/)
	rm -rf $(APP_VENV) $(BOT_VENV) var
