# Two commands on a fresh machine: `make run` (whole DAG) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(abspath $(VENV))/bin
STAMP  := $(VENV)/.installed
export PATH := $(BIN):$(PATH)

.PHONY: setup run test test-fast bench bench-cluster bench-scale gpu-check numbers lint format lock clean push pull

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt
	touch $(STAMP)

# The pose stage's own environment (MediaPipe needs numpy < 2 and protobuf < 5).
POSE_STAMP := .venv-pose/.installed
$(POSE_STAMP): requirements-pose.txt
	$(PYTHON) -m venv .venv-pose
	.venv-pose/bin/pip install --disable-pip-version-check -q -r requirements-pose.txt
	touch $(POSE_STAMP)

# The Spleeter stem backend's own environment (TensorFlow 2.12 cannot live beside torch).
SPLEETER_STAMP := .venv-spleeter/.installed
$(SPLEETER_STAMP): requirements-spleeter.txt
	$(PYTHON) -m venv .venv-spleeter
	.venv-spleeter/bin/pip install --disable-pip-version-check -q -r requirements-spleeter.txt
	touch $(SPLEETER_STAMP)

setup: $(STAMP) $(POSE_STAMP) $(SPLEETER_STAMP)

# After Snakemake, `dvc commit` stores its outputs in DVC's cache (a fresh clone's is empty), so
# `dvc status` and `dvc repro` see the run; dvc.lock changes only where an output's bytes differ
# from the committed run's (git diff dvc.lock shows it).
# `dvc commit` swaps the fresh outputs for hard links into its cache, which bumps their folders'
# mtimes; `--touch` then tells Snakemake they are current (it runs nothing), so either runner
# can go on from here.
run: $(STAMP)
	snakemake --cores 8 all
	dvc commit --force --quiet
	snakemake --cores 1 all --touch --quiet
	python -m pipelines.tools.numbers --params params.yaml

# Share a run through a DVC remote (docs/dvc.md). `make push`
# uploads what DVC's cache holds of every output dvc.yaml tracks (after `make run` or `dvc repro`);
# `make pull` downloads and checks them out, then `--touch` tells Snakemake they are current, so
# on a fresh clone neither `dvc repro` nor `snakemake all` runs a stage. REMOTE=<name> picks a
# remote; empty: DVC's default one (`dvc remote add -d`).
REMOTE ?=
define dvc-remote-check
@if [ -n "$(REMOTE)" ]; then \
  dvc remote list | awk '{print $$1}' | grep -qxF '$(REMOTE)' || \
    { echo "make $@: no DVC remote named '$(REMOTE)' (dvc remote list shows the configured ones)" >&2; exit 1; }; \
else \
  dvc remote default >/dev/null 2>&1 || \
    { echo "make $@: no DVC remote configured: dvc remote add -d <name> <path or s3://bucket/prefix>, or make $@ REMOTE=<name>" >&2; exit 1; }; \
fi
endef

push: $(STAMP)
	$(dvc-remote-check)
	dvc push $(if $(REMOTE),--remote $(REMOTE))

pull: $(STAMP)
	$(dvc-remote-check)
	dvc pull $(if $(REMOTE),--remote $(REMOTE))
	snakemake --cores 1 all --touch --quiet

# docs/results.md from the JSON files the last run wrote
numbers: $(STAMP)
	python -m pipelines.tools.numbers --params params.yaml

# Every test, the whole-pipeline ones (marker `slow`) included; -rs prints why a test was skipped
# (the CUDA steps on a machine without a GPU).
test: $(STAMP) $(POSE_STAMP) $(SPLEETER_STAMP)
	python -m pytest -q -rs tests

# Everything but the whole-pipeline tests: a quick check while editing.
test-fast: $(STAMP) $(POSE_STAMP) $(SPLEETER_STAMP)
	python -m pytest -q -m "not slow" tests

bench: $(STAMP) $(POSE_STAMP) $(SPLEETER_STAMP)
	python -m pipelines.bench.data --params params.yaml
	python -m pipelines.bench.shards --params params.yaml
	python -m pipelines.families.mclemcd.bench --params params.yaml
	python -m pipelines.families.motionbeat.bench --params params.yaml
	python -m pipelines.families.dance2music.bench --params params.yaml
	python -m pipelines.bench.noop
	python -m pipelines.bench.ingest

# YouTube ingestion on a local one-node SLURM with 1 and 2 job slots (root: it starts slurmd).
bench-cluster: $(STAMP) $(POSE_STAMP)
	python -m pipelines.bench.ingest_scaling

# The data stages (acquire .. shards) at 1x, 4x and 16x the synthetic set (about 20 min, 16 GB of scratch disk).
bench-scale: $(STAMP)
	python -m pipelines.bench.scale --params params.yaml

# On a CUDA node: one training step of every model family, CPU beside GPU (ms/step, speed-up).
gpu-check: $(STAMP)
	python -m pipelines.bench.gpu_check --params params.yaml

lint: $(STAMP)
	ruff check pipelines tests
	ruff format --check pipelines tests
	snakefmt --check Snakefile workflow/rules
	snakemake --lint
	python -m pipelines.dag --check
	python -m pipelines.tools.params_schema --check

format: $(STAMP)
	ruff check --fix pipelines tests
	ruff format pipelines tests
	snakefmt Snakefile workflow/rules

lock: $(STAMP)
	$(PYTHON) -m venv /tmp/lock-venv && /tmp/lock-venv/bin/pip install -q -r requirements.in
	{ echo "# Exact pins for Python 3.11, generated from requirements.in by \`make lock\`."; \
	  echo "# torch is the CPU build where one is offered (a wheel on disk here)."; \
	  /tmp/lock-venv/bin/pip freeze | sed 's/^torch==\(.*\)+cpu$$/torch==\1/'; } > requirements.txt
	rm -rf /tmp/lock-venv
	$(PYTHON) -m venv /tmp/lock-venv && /tmp/lock-venv/bin/pip install -q -r requirements-pose.in
	{ echo "# Exact pins of .venv-pose (the pose stage), generated from requirements-pose.in."; \
	  /tmp/lock-venv/bin/pip freeze; } > requirements-pose.txt
	rm -rf /tmp/lock-venv
	$(PYTHON) -m venv /tmp/lock-venv && /tmp/lock-venv/bin/pip install -q -r requirements-spleeter.in
	{ echo "# Exact pins of .venv-spleeter (stems backend spleeter), generated from requirements-spleeter.in."; \
	  /tmp/lock-venv/bin/pip freeze; } > requirements-spleeter.txt
	rm -rf /tmp/lock-venv

dvc.yaml: params.yaml $(shell find pipelines -name '*.py')
	python -m pipelines.dag --write

clean:
	rm -rf data results logs .snakemake
