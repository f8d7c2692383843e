# The two commands a fresh machine needs: `make up` and `make test`.
# Both run the idempotent set-up first (virtualenv, packages, stubs, model zoo).
.PHONY: setup up down status test lint

CONFIG ?=

setup:
	@scripts/bootstrap.sh

up: setup
	@.venv/bin/fleet up $(if $(CONFIG),--config $(CONFIG),)

down:
	@.venv/bin/fleet down

status:
	@.venv/bin/fleet status

test: setup
	@.venv/bin/ruff check .
	@.venv/bin/python -m pytest tests

lint: setup
	@.venv/bin/ruff check .
	@.venv/bin/ruff format --check .
