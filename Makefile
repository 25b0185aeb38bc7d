# powderkeg — developer entry points. Each target creates .venv if needed.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
DEMO_DIR ?= demo-output

.PHONY: demo test bench lint clean venv-run venv-dev

$(VENV)/.run-stamp: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[web,dist]'
	touch $@

$(VENV)/.dev-stamp: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[dev]'
	touch $@ $(VENV)/.run-stamp

venv-run: $(VENV)/.run-stamp
venv-dev: $(VENV)/.dev-stamp

## make demo: build a store from the synthetic market, run every analytic, write the HTML report
demo: venv-run
	$(VENV)/bin/powderkeg demo --dir $(DEMO_DIR)

## make test: the whole test suite (no network: sockets are disabled in tests)
test: venv-dev
	$(VENV)/bin/python -m pytest

## make bench: every benchmark against its peer tool, printing ratios
bench: venv-dev
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

lint: venv-dev
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache
