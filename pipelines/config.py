"""Loading and validating ``params.yaml``, and the paths every stage derives from it.

One place for each fact: the paths live here; each dataset's facts (frame rate, skeleton,
windows) in its module, :mod:`pipelines.datasets`.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = REPO_ROOT / "workflow" / "schemas" / "params.schema.json"

SPLITS = ("train", "val", "test")


#: Keys that moved: old dotted key -> new dotted key (an old key is an error naming the new place).
MOVED_KEYS = {"train.device": "device"}


class ParamsError(ValueError):
    """params.yaml is malformed; the message names the file and the bad key."""


def _moved_key_error(params: dict, *, source: str) -> None:
    for old, new in MOVED_KEYS.items():
        node = params
        for part in old.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            raise ParamsError(f"{source}: {old}: moved to `{new}` (set `{new}: {node}` and remove `{old}`)")


def validate_params(params: dict, *, source: str = "params.yaml") -> dict:
    """Validate a params mapping against the JSON schema (the checks across keys live beside the
    keys they check, in the model families: :func:`pipelines.registry.check_params`).

    Raises
    ------
    ParamsError
        With one line: ``<source>: <key.path>: <reason>``.
    """
    if isinstance(params, dict):
        _moved_key_error(params, source=source)
    schema = json.loads(SCHEMA_PATH.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(params), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        key = ".".join(str(p) for p in err.absolute_path) or "<top level>"
        raise ParamsError(f"{source}: {key}: {err.message}")
    if params["dataset"] not in params["datasets"]:  # each dataset is a section of `datasets`
        known = ", ".join(params["datasets"])
        raise ParamsError(
            f"{source}: dataset: {params['dataset']!r} has no section datasets.{params['dataset']} (known: {known})"
        )
    return params


def yaml_error_line(source: str, exc: yaml.YAMLError) -> str:
    """One line for a YAML syntax error: ``<source>: line N, column M: <problem> (<context>)``."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).strip().splitlines()[0]
    context = getattr(exc, "context", None)
    if context and getattr(exc, "context_mark", None) and exc.context_mark is not mark:
        context = f"{context} at line {exc.context_mark.line + 1}"
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return f"{source}: {where}{problem}" + (f" ({context})" if context else "")


def load_params(path: str | Path = "params.yaml") -> dict:
    """Read and validate ``params.yaml``.

    Raises
    ------
    ParamsError
        With one line: the file and what is wrong (a YAML syntax error with its line and column,
        or the bad key, see :func:`validate_params`).
    """
    path = Path(path)
    try:
        params = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise ParamsError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ParamsError(f"{path}: not UTF-8 text: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ParamsError(yaml_error_line(str(path), exc)) from exc
    return validate_params(params or {}, source=str(path))


class Paths:
    """Every stage output path of the configured dataset, relative to the repository root."""

    def __init__(self, params: dict):
        self.dataset = params["dataset"]
        self.base = Path(params["data_dir"]) / self.dataset
        self.results = Path(params["results_dir"]) / self.dataset
        self.models = Path(params["models_dir"]) / self.dataset
        self.clips = Path(params["youtube"]["target"])

    @property
    def raw(self) -> Path:
        """Generated source tree (a dataset with a ``generate`` hook: the synthetic one)."""
        return self.base / "raw"

    @property
    def index(self) -> Path:
        return self.base / "index"

    @property
    def audio_features(self) -> Path:
        return self.base / "features" / "audio"

    @property
    def motion_features(self) -> Path:
        return self.base / "features" / "motion"

    @property
    def windows(self) -> Path:
        return self.base / "windows"

    @property
    def shards(self) -> Path:
        return self.base / "shards"

    @property
    def data_report(self) -> Path:
        return self.results / "data_report"

    def shard_file(self, window_frames: int, split: str) -> Path:
        return self.shards / f"w{window_frames}_{split}.h5"

    def model_files(self, model: str, run: str = "seed0") -> dict[str, Path]:
        """Where one training run (``seed<K>`` or ``fold<F>``, see :func:`runs`) of a retrieval model
        keeps its checkpoint, training curves and evaluation outputs, and where the model's headline
        over all runs goes."""
        return {
            "checkpoint": self.models / model / f"{run}.pt",
            "live": self.models / model / f"{run}_live",
            "evaluation": self.results / "evaluation" / model / f"{run}.json",
            "eval": self.results / "evaluation" / model / f"{run}.npz",
            "recall_plot": self.results / "plots" / f"recall_{model}_{run}.csv",
            "headline": self.headline(model),
        }

    def headline(self, model: str) -> Path:
        """A model's summary over its runs: every headline number with its spread, interval and chance."""
        return self.results / "summary" / f"{model}.json"

    def metrics_file(self, model: str) -> Path:
        """A model's few headline numbers, the file DVC shows as its metrics (``dvc metrics show``)."""
        return self.results / "metrics" / f"{model}.json"


def runs(params: dict, *, deterministic: bool = False) -> list[dict]:
    """The training runs of a model under ``evaluate.protocol``: one per seed (``splits``; see
    :func:`seed_indices`) or one per fold (``kfold``, main seed). Each run is a dict with its
    ``name`` (``seed<K>`` / ``fold<F>``), ``seed_index`` and ``fold`` (None under ``splits``).
    ``deterministic``: the model's training involves no randomness (one run stands for every seed)."""
    if params["evaluate"]["protocol"] == "kfold":
        return [{"name": f"fold{f}", "seed_index": 0, "fold": f} for f in range(params["evaluate"]["folds"])]
    return [
        {"name": f"seed{k}", "seed_index": k, "fold": None} for k in seed_indices(params, deterministic=deterministic)
    ]


def run_name(*, seed_index: int = 0, fold: int | None = None) -> str:
    return f"fold{fold}" if fold is not None else f"seed{seed_index}"


def seed_indices(params: dict, *, deterministic: bool = False) -> list[int]:
    """The training runs of a model: ``evaluate.seeds`` of them, one for a model whose training
    involves no randomness (``deterministic``, e.g. the closed-form ``linear`` baseline)."""
    return [0] if deterministic else list(range(params["evaluate"]["seeds"]))


def run_seed(params: dict, seed_index: int) -> int:
    """The seed of training run ``seed_index``: ``seed`` + index, so run 0 is the main seed."""
    return int(params["seed"]) + seed_index
