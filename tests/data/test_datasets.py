"""The dataset records (pipelines/datasets/): each consistent with params.yaml, the schema and
the skeletons; no dataset branch outside them; a new dataset needs only its record, its entry
and its params section."""

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from pipelines import dag
from pipelines.config import REPO_ROOT, SCHEMA_PATH, ParamsError, validate_params
from pipelines.data import synthetic as synthetic_generator
from pipelines.data.skeleton import Skeleton
from pipelines.datasets import (
    DATASETS,
    SYNTHETIC,
    Dataset,
    audio_sample_rate,
    dataset,
    motion_fps,
    skeleton_layout,
    window_specs,
)

from ..helpers import base_params

PACKAGE = REPO_ROOT / "pipelines"
#: Modules of pipelines/datasets that are not a dataset.
NOT_A_DATASET = {"__init__", "record", "stages"}


def _params(name: str) -> dict:
    return {**base_params(), "dataset": name}


def test_every_dataset_module_is_listed_once_under_its_name():
    modules = {p.stem for p in (PACKAGE / "datasets").glob("*.py")} - NOT_A_DATASET
    assert modules == set(DATASETS)
    assert {"synthetic", "aistpp", "musictodance", "youtube"} <= set(DATASETS)
    for name, record in DATASETS.items():
        assert isinstance(record, Dataset) and record.name == name
        module = __import__(f"pipelines.datasets.{name}", fromlist=["DATASET"])
        assert module.DATASET is record


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_a_record_is_consistent(name):
    params, record = _params(name), DATASETS[name]
    assert dataset(params) is record
    fps = motion_fps(params)
    assert isinstance(fps, int) and fps > 0
    assert callable(record.motion_fps) or record.motion_fps == fps
    assert Skeleton(skeleton_layout(params)).num_joints > 0
    specs = window_specs(params)
    assert specs and all(s["frames"] > 0 and s["stride"] > 0 for s in specs)
    assert audio_sample_rate(params) == fps * params["audio"]["hop_length"]
    # the params that set the frame rate or the windows exist, and changing them is what changes those
    for key in record.frame_params:
        node = params
        for part in key.split("."):
            node = node[part]
    for hook in (record.source_deps, record.motion_deps, record.ground_truth):
        assert all(isinstance(f, str) and f for f in hook(params))
    assert record.source_deps(params), "a dataset reads (or writes) some source files"
    assert all(isinstance(code, str) and code for code in record.genre_names)
    if record.codes is not None:
        summary, folder = record.codes(params)
        assert isinstance(summary, str) and isinstance(folder, Path)


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_each_dataset_has_its_params_section_and_schema(name):
    params = base_params()
    schema = json.loads(SCHEMA_PATH.read_text())
    assert name in params["datasets"], f"params.yaml: no section datasets.{name}"
    assert name in schema["properties"]["datasets"]["properties"], f"schema: no datasets.{name}"
    validate_params(_params(name))


def test_the_synthetic_record_runs_at_the_generators_frame_rate():
    assert SYNTHETIC.fps(base_params()) == synthetic_generator.MOTION_FPS


def test_youtube_windows_and_frame_rate_come_from_the_youtube_section():
    params = _params("youtube")
    params["youtube"] = {**params["youtube"], "fps": 30, "window_seconds": 4.0}
    assert motion_fps(params) == 30
    assert window_specs(params) == [{"frames": 120, "stride": 120}]
    assert not dataset(params).labelled


def test_an_unknown_dataset_is_one_line_naming_the_known_ones():
    params = base_params()
    with pytest.raises(ParamsError, match=r"^params.yaml: dataset: 'imagenet' has no section datasets.imagenet"):
        validate_params({**params, "dataset": "imagenet"})
    # a section without a module: the record is missing
    with pytest.raises(ParamsError) as exc:
        dataset({**params, "dataset": "nosuchdataset"})
    assert "nosuchdataset" in str(exc.value) and "synthetic" in str(exc.value) and "\n" not in str(exc.value)


def test_a_new_dataset_needs_only_its_record_and_its_params_section(monkeypatch):
    """The README checklist, minus the file: a record listed in DATASETS and a `datasets.<name>`
    section give the whole DAG, its data under data/<name>/."""
    monkeypatch.setitem(DATASETS, "toy", replace(SYNTHETIC, name="toy"))
    params = _params("toy")
    params["datasets"] = {**params["datasets"], "toy": dict(params["datasets"]["synthetic"])}
    stages = dag.stages(params)
    assert "datasets.toy" in stages["acquire"].params
    assert stages["acquire"].outs == [f"{params['data_dir']}/toy/raw", f"{params['data_dir']}/toy/index"]
    assert "report" in stages
    for stage in stages.values():
        stage.param_values(params)  # every declared key exists
    assert set(stages) == set(dag.stages(_params("synthetic")))


#: A branch on the dataset's name: what the dataset records replace.
BRANCH = [
    re.compile(r"""params\[["']dataset["']\]\s*(==|!=|\bin\s*[(\[{])"""),
    re.compile(r"""\bds\s*(==|!=)"""),
    re.compile(r"""\bdataset\s*(==|!=)\s*["']"""),
    re.compile(r"""(==|!=)\s*["'](""" + "|".join(map(re.escape, DATASETS)) + r""")["']"""),
]


def test_no_dataset_branch_outside_the_dataset_modules():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(REPO_ROOT)
        if rel.parts[1] == "datasets":
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if any(p.search(line) for p in BRANCH):
                offenders.append(f"{rel}:{n}: {line.strip()}")
    assert not offenders, "branch on the dataset name (use its record, pipelines/datasets):\n" + "\n".join(offenders)
