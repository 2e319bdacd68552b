# Two commands matter: `make run` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements-dev.lock pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test install lint typecheck openapi hadolint pytest bench clean

$(STAMP): requirements-dev.lock pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

## Start the service on http://127.0.0.1:8000 (embedded PostgreSQL unless DATABASE_URL is set).
run: install
	$(BIN)/rapport serve --demo

## The whole gate: lint, format, types, Dockerfile, OpenAPI drift, tests.
test: install lint typecheck hadolint pytest

lint:
	$(BIN)/ruff check app tests alembic benchmarks openapi
	$(BIN)/ruff format --check app tests alembic benchmarks openapi

typecheck:
	$(BIN)/mypy app

hadolint:
	$(BIN)/hadolint Dockerfile

pytest:
	$(BIN)/pytest

## Regenerate the committed OpenAPI document after changing the API.
openapi: install
	$(BIN)/rapport openapi > openapi/openapi.json

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
