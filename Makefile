# powderkeg — developer entry points. Each target creates .venv if needed.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
DEMO_DIR ?= demo-output

.PHONY: demo test bench lint clean venv-run venv-dev browser

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

## make browser: Debian's Chromium for the dashboard and report browser tests (installed with
## apt-get when running as root and missing; otherwise stop and name the command)
CHROMIUM := /usr/bin/chromium
browser:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian's chromium for the browser tests (apt-get)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  [ -x $(CHROMIUM) ] || { echo "error: apt-get did not install $(CHROMIUM)" >&2; exit 1; }; \
	else \
	  echo "error: the browser tests need Debian's Chromium at $(CHROMIUM)." >&2; \
	  echo "Install it with:  sudo apt-get update && sudo apt-get install -y chromium" >&2; \
	  exit 1; \
	fi

## make test: the whole test suite (no network: sockets are disabled in tests)
test: venv-dev browser
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
