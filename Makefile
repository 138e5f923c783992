# dr2bench: `make demo` runs the demo study, `make test` the test suite.
# Each target creates or reuses .venv and installs the project with its pinned dependencies.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PIP := $(PY) -m pip install --disable-pip-version-check -q -c constraints.txt

.PHONY: install demo test lint format bench

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) -e '.[dev,ray]'
	# setuptools leaves dr2bench.egg-info in the checkout; from the checkout's root it would
	# shadow the installed metadata (and its entry points), so it goes.
	rm -rf dr2bench.egg-info
	# basicsr is a test reference only; its setup.py imports torch, hence no build isolation.
	$(PIP) --no-build-isolation basicsr==1.4.2
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/dr2bench run configs/demo.yaml --report

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(STAMP)
	$(PY) -m benchmarks
