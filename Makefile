# glucogate: the two set-up commands are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# Debian packages the integration tests run for real (broker and InfluxDB-API server;
# openssl makes the TLS test certificates).
SYSTEM_PACKAGES := mosquitto victoria-metrics chromium openssl postgresql
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test lint typecheck system-deps install install-test bench clean

demo: $(VENV)/.installed
	$(VENV)/bin/glucogate demo --out demo-output

# Lint and type checks first, so that pytest's summary is the run's last line.
test: $(VENV)/.installed-test system-deps lint typecheck
	GLUCOGATE_REQUIRE_SERVICES=1 $(PY) -m pytest -q -p no:cacheprovider -n 2 --dist loadfile

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.installed-test
	$(VENV)/bin/mypy

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PIP) install -q -e '.[reports]'
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(VENV)/bin/python
	$(PIP) install -q -e '.[test]'
	touch $@ $(VENV)/.installed

# Installs the broker, the time-series server and Chromium (kiosk page tests, driven by
# Playwright with Debian's browser) from Debian's packages if missing.
# They are started by the test harness (tests/harness/services.py) on free loopback
# ports for the run and stopped afterwards; the packages' own system services are not used.
system-deps:
	@missing=""; \
	command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || missing="$$missing mosquitto"; \
	command -v victoria-metrics >/dev/null || missing="$$missing victoria-metrics"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v openssl >/dev/null || missing="$$missing openssl"; \
	ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || command -v pg_ctl >/dev/null || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing from Debian's packages"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(SYSTEM_PACKAGES); \
	fi

bench: $(VENV)/.installed-test
	$(PIP) install -q -e '.[test,bench]'
	@for b in bench/*_bench.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) demo-output .pytest_cache .mypy_cache .ruff_cache
