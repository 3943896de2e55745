"""Test helpers: the real sample data in ../shared/data, small pipeline configs, and running
the stages in-process in DAG order. Fixtures that wrap these live in conftest.py."""

from __future__ import annotations

import copy
import os
import shutil
from pathlib import Path

import pytest
import yaml

from pipelines.config import REPO_ROOT, validate_params

SHARED = (REPO_ROOT / ".." / "shared" / "data").resolve()


def require(path: Path) -> Path:
    """``path``, or fail under CI (``CI`` set) / skip elsewhere when it is missing."""
    if not path.exists():
        msg = f"real sample data missing: {path} (expected ../shared/data beside the repository)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return path


def venv_python(venv: str) -> str:
    """The interpreter of a stage-only environment (.venv-pose, .venv-spleeter); fails under CI
    and skips elsewhere when it has not been built."""
    python = REPO_ROOT / venv / "bin" / "python"
    if not python.exists():
        msg = f"{python} missing: `make {venv}/.installed` creates it"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return str(python)


def base_params() -> dict:
    return yaml.safe_load((REPO_ROOT / "params.yaml").read_text())


TINY_SYNTHETIC = {
    "genres": ["BR", "HO", "JB"],
    "pieces_per_genre": 3,
    "basic_per_piece": 1,
    "advanced_per_piece": 1,
    "basic_seconds": [7.5, 8.0],
    "advanced_seconds": [9.0, 10.0],
    "music_seconds": 10.5,
    "music_sample_rate": 22050,
    "nan_sequences": 3,
    "ignored_sequences": 1,
}


def make_params(tmp_path: Path, **overrides) -> dict:
    """params.yaml with outputs under ``tmp_path`` and a tiny synthetic dataset.

    Overrides name nested keys with ``__``: ``make_params(tmp, train__max_epochs=2)``.
    """
    p = copy.deepcopy(base_params())
    p["data_dir"] = str(tmp_path / "data")
    p["results_dir"] = str(tmp_path / "results")
    p["models_dir"] = str(tmp_path / "models")
    p["datasets"]["synthetic"] = dict(TINY_SYNTHETIC)
    p["workers"] = 1
    p["train"].update(max_epochs=3, patience=2, batch_size=16)
    p["evaluate"]["chance_draws"] = 20
    p["evaluate"]["seeds"] = 2  # two runs: the multi-seed path is exercised
    p["evaluate"]["bootstrap_draws"] = 200
    # MCLEMCD: one variant, a few steps (tests/models/test_mclemcd.py trains properly)
    p["mclemcd"]["sizes"]["small"].update(phase1_epochs=1, phase2_epochs=1, epoch_windows=128)
    p["mclemcd"]["ablation"] = {"collaborative": [True], "regulariser": ["fc"], "input": ["joints"]}
    p["mclemcd"]["main"] = {"collaborative": True, "regulariser": "fc", "input": "joints"}
    # MotionBeat: a narrow model, a few short epochs (tests/models/test_motionbeat.py checks the parts)
    p["motionbeat"].update(width=16, heads=2, layers=1, embed_dim=16, max_epochs=2, epoch_windows=64)
    p["motionbeat"]["variants"] = {"no_phase": {"phase_rotation": False}}
    p["motionbeat"]["variant_seeds"] = 1
    # dance to music: a small offline tokenizer (tests/models/test_audio_tokenizer.py checks it)
    p["dance2music"]["mel_kmeans"].update(codebook_size=16, max_frames=4000)
    # and a narrow generator, two epochs (tests/models/test_dance2music.py checks the parts)
    p["dance2music"].update(
        width=32, heads=2, encoder_layers=1, decoder_layers=1, batch_size=8, max_epochs=2, val_windows=4, samples=1
    )
    for key, value in overrides.items():
        node = p
        parts = key.split("__")
        for part in parts[:-1]:
            node = node[part]
        node[parts[-1]] = value
    return validate_params(p)


def write_params(path: Path, params: dict) -> Path:
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


def _data_stage_mains() -> list:
    from pipelines.stages import acquire, audio_features, data_report, motion_features, shards, windows

    return [s.main for s in (acquire, audio_features, motion_features, windows, shards, data_report)]


#: The data stages' ``main`` functions (acquire .. data_report), in DAG order.
DATA_STAGE_MAINS = _data_stage_mains()


def run_all(params: dict) -> None:
    """The data stages (acquire .. data_report), in-process."""
    for main in DATA_STAGE_MAINS:
        main(params)


def run_models(params: dict) -> None:
    """Train and evaluate every run of every retrieval model, MotionBeat, MCLEMCD and the dance-to-music
    generator, summarize, then write the report, in-process."""
    from pipelines.config import runs, seed_indices
    from pipelines.families.dance2music import stage_evaluate as evaluate_dance2music
    from pipelines.families.dance2music import stage_fit_tokenizer as fit_tokenizer
    from pipelines.families.dance2music import stage_train as train_dance2music
    from pipelines.families.mclemcd import stage_seed as mclemcd_seed
    from pipelines.families.mclemcd import stage_train as mclemcd
    from pipelines.families.motionbeat import stage_evaluate as evaluate_motionbeat
    from pipelines.families.motionbeat import stage_train as train_motionbeat
    from pipelines.families.retrieval.names import RETRIEVAL_MODELS, model_runs
    from pipelines.families.retrieval.stage_evaluate import evaluate_model
    from pipelines.families.retrieval.stage_train import train_model
    from pipelines.stages import report, summarize

    for name in RETRIEVAL_MODELS:
        for run in model_runs(params, name):
            train_model(params, name, seed_index=run["seed_index"], fold=run["fold"])
            evaluate_model(params, name, seed_index=run["seed_index"], fold=run["fold"])
    for run in runs(params):
        train_motionbeat.train(params, seed_index=run["seed_index"], fold=run["fold"])
        evaluate_motionbeat.evaluate(params, seed_index=run["seed_index"], fold=run["fold"])
    mclemcd.main(params)
    for k in seed_indices(params)[1:]:
        mclemcd_seed.main(params, seed_index=k)
    fit_tokenizer.main(params)
    for k in seed_indices(params):
        train_dance2music.train(params, seed_index=k)
    evaluate_dance2music.main(params)
    summarize.main(params)
    report.main(params)


#: What a copy of the workflow needs to run the DAG (Snakemake's files, the package, DVC's ignore list).
WORKFLOW_FILES = ("Snakefile", "workflow", "pipelines", ".dvcignore")


def copy_item(src: Path, dst: Path) -> None:
    """Copy a file or a folder (without ``__pycache__``) to ``dst``."""
    if src.is_dir():
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
    else:
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, dst)


def workflow_copy(work: Path, params: dict, *, extra: tuple[str, ...] = ()) -> Path:
    """``work`` holding the workflow (:data:`WORKFLOW_FILES` and ``extra`` repository files) and
    ``params`` as its params.yaml, for running Snakemake or DVC on it as a subprocess."""
    work.mkdir(parents=True)
    for item in WORKFLOW_FILES + tuple(extra):
        copy_item(REPO_ROOT / item, work / item)
    write_params(work / "params.yaml", params)
    return work


def tiny_dag_params(tmp_path: Path) -> dict:
    """Tiny params whose outputs go under the workflow copy's own data/, results/ and models/."""
    params = make_params(tmp_path, evaluate__seeds=1)
    params["data_dir"], params["results_dir"], params["models_dir"] = "data", "results", "models"
    return params
