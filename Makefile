# Two commands matter: `make run` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements-dev.lock pyproject.toml | cksum | cut -d' ' -f1)

HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test install lint typecheck openapi hadolint compose-config pytest bench clean browser clients

$(STAMP): requirements-dev.lock pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

## Start the service on http://$(HOST):$(PORT) (embedded PostgreSQL unless DATABASE_URL is set).
## `make run PORT=8001 HOST=0.0.0.0`. The embedded PostgreSQL keeps running afterwards:
## `.venv/bin/rapport db stop` stops it.
run: install
	$(BIN)/rapport serve --demo --host $(HOST) --port $(PORT)

## The whole gate: lint, format, types, Dockerfile, compose file, OpenAPI drift, tests.
test: install browser clients lint typecheck hadolint compose-config pytest

## Tools the suite drives besides Python, from Debian's packages where missing: Chromium
## (tests/test_browser.py), Node and npm with the pinned TypeScript client tools
## (tests/test_generated_clients.py). A test skips, saying why, only if they cannot install.
TS_CLIENT := tests/clients/typescript
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium; } \
		|| echo "make browser: chromium could not be installed; tests/test_browser.py will skip"

clients: $(TS_CLIENT)/node_modules/.package-lock.json

$(TS_CLIENT)/node_modules/.package-lock.json: $(TS_CLIENT)/package-lock.json
	@{ command -v node && command -v npm; } >/dev/null 2>&1 \
		|| { apt-get update -qq && apt-get install -y -qq nodejs npm; } \
		|| echo "make clients: node and npm could not be installed; the TypeScript check will skip"
	@! command -v npm >/dev/null 2>&1 || (cd $(TS_CLIENT) && npm ci --no-audit --no-fund --ignore-scripts)

lint:
	$(BIN)/ruff check app tests alembic benchmarks openapi
	$(BIN)/ruff format --check app tests alembic benchmarks openapi

typecheck:
	$(BIN)/mypy app

hadolint:
	$(BIN)/hadolint Dockerfile

# `docker compose config` where the compose plugin is installed; tests/test_deploy.py
# checks the file's structure everywhere.
compose-config:
	@if docker compose version >/dev/null 2>&1; then \
		POSTGRES_PASSWORD=config-check docker compose config --quiet && echo "compose.yaml: valid"; \
	else \
		echo "compose.yaml: docker compose is not installed here, 'docker compose config' not run"; \
	fi

pytest:
	$(BIN)/pytest

## Regenerate the committed OpenAPI document after changing the API.
openapi: install
	$(BIN)/rapport openapi > openapi/openapi.json

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
