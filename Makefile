# The two commands of the README. Both set everything up first (idempotent, fast when done).
#   make demo   train a small model, sample with it and with HMC, print tau_int side by side;
#               then the best committed network model beside HMC where HMC freezes
#   make test   run the test suite
VENV ?= .venv
PY := $(VENV)/bin/python
export L2HMC_VENV := $(abspath $(VENV))

.PHONY: setup demo test
setup:
	@bash scripts/setup.sh

demo: setup
	$(PY) bin/train.py $(ARGS)
	$(PY) bin/showcase.py

# Tests run in up to 4 worker processes (pytest-xdist; one per core); the slowest are listed.
TEST_WORKERS ?= -n auto --maxprocesses 4
test: setup
	$(PY) -m pytest $(TEST_WORKERS) --durations 15 $(PYTEST_ARGS)
