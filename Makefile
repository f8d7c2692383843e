# The two commands a fresh machine needs: `make up` and `make test`.
# Both run the idempotent set-up first (virtualenv, packages, stubs, model zoo).
.PHONY: setup up down status test lint bench microbench

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

# The standard comparison (issue 8): bare vLLM, Ray Serve LLM, llm-fleet (HTTP, gRPC), one
# after another on the same model; report and plots in loadtests/results/<UTC time>/.
bench: setup
	@.venv/bin/python -m loadtests.bench.compare $(BENCH_ARGS)

# The routing decision and the guard pipeline per request (pytest-benchmark).
microbench: setup
	@.venv/bin/python -m pytest loadtests/micro --benchmark-only \
		--benchmark-columns=min,median,mean,ops,rounds --benchmark-sort=name
