# Two commands on a fresh clone (Python 3.11):  make app   and   make test
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
ARTIFACTS ?= artifacts

.PHONY: install install-dev app demo test test-all bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -r requirements.txt
	$(BIN)/pip install --no-deps -e .

install-dev: install
	$(BIN)/pip install -r requirements-dev.txt

# Starts the dashboard on http://localhost:8501 (127.0.0.1 only) at once; when the artifacts folder
# has no runs, the demo runs build in the background with their progress on the Welcome page.
app: install
	mkdir -p $(ARTIFACTS)
	$(BIN)/python -m mrdib dashboard --artifacts $(ARTIFACTS)

demo: install
	$(BIN)/python -m mrdib demo --artifacts $(ARTIFACTS)

# `make test`: one pytest-xdist worker per core, leaving out the tests marked slow (worker-process
# end-to-end runs, notebooks, benchmarks). `make test-all` runs everything in one process, as CI
# does: two notebooks rendering figures through kaleido at once timed out under xdist.
test: install-dev
	$(BIN)/python -m pytest -n 2 -m "not slow"

test-all: install-dev
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python benchmarks/bench_training.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
