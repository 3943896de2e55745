# Two commands on a fresh machine: `make run` (whole DAG) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(abspath $(VENV))/bin
STAMP  := $(VENV)/.installed
export PATH := $(BIN):$(PATH)

.PHONY: setup run test bench lint dvc-check clean

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	snakemake --cores 8 all

test: $(STAMP)
	python -m pytest -q tests

bench: $(STAMP)
	python -m pipelines.bench --params params.yaml

lint: $(STAMP)
	snakemake --lint
	python -m pipelines.dag --check

dvc.yaml: params.yaml pipelines/dag.py
	python -m pipelines.dag --write

clean:
	rm -rf data results logs .snakemake
