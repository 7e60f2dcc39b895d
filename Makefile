# Two commands on a fresh clone (Python 3.11):  make app   and   make test
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
ARTIFACTS ?= artifacts

.PHONY: install install-dev app demo test test-fast bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -r requirements.txt
	$(BIN)/pip install --no-deps -e .

install-dev: install
	$(BIN)/pip install -r requirements-dev.txt

# Builds the demo runs if the artifacts folder has none, then opens the dashboard on localhost
# (http://localhost:8501; .streamlit/config.toml binds it to 127.0.0.1).
app: install
	MRDIB_ARTIFACTS=$(ARTIFACTS) $(BIN)/python -m mrdib demo --artifacts $(ARTIFACTS) --if-empty
	MRDIB_ARTIFACTS=$(ARTIFACTS) $(BIN)/streamlit run app/main.py --server.address 127.0.0.1

demo: install
	$(BIN)/python -m mrdib demo --artifacts $(ARTIFACTS)

test: install-dev
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python benchmarks/bench_training.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
