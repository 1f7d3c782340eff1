# Two commands do all set-up: `make run` and `make test`. Both install what is missing.
SHELL := /bin/bash
PY := .venv/bin/python
export UV_PYTHON_DOWNLOADS := never

.PHONY: run test install install-test proto proto-check lint unit contract e2e bench clean

run: install
	$(PY) -m devstack.run

test: install-test proto-check lint
	$(PY) -m pytest

install:
	@devstack/install.sh run

install-test:
	@devstack/install.sh test

proto: install-test
	$(PY) -m devstack.protogen

proto-check:
	$(PY) -m devstack.protogen --check

lint:
	$(PY) -m devstack.buflint

unit: install-test
	$(PY) -m pytest tests/unit

contract: install-test
	$(PY) -m pytest tests/contract

e2e: install-test
	$(PY) -m pytest tests/e2e

bench: install-test
	$(PY) -m bench.edge

clean:
	rm -rf .state .pytest_cache build
