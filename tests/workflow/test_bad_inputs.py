"""Every kind of bad input gets one line naming the file and the reason; ``on_error: skip``
lists it in a manifest and the run goes on; ``on_error: fail`` stops with no partial output."""

import collections
import pickle
import shutil

import numpy as np
import pytest
import soundfile as sf

from pipelines.cli import run_stage
from pipelines.config import Paths
from pipelines.data.datasets import parse_aist_name
from pipelines.data.synthetic import generate_synthetic
from pipelines.families.dance2music import stage_fit_tokenizer as fit_tokenizer
from pipelines.families.dance2music.data import dataset_examples
from pipelines.families.dance2music.tokenizer import load_tokenizer
from pipelines.files import read_csv

from ..helpers import DATA_STAGE_MAINS, make_params, run_all, write_params

pytestmark = pytest.mark.slow  # runs a whole (small) pipeline


@pytest.fixture(scope="module")
def clean_tree(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tree")
    generate_synthetic(make_params(tmp), tmp / "raw")
    return tmp / "raw"


def _seq(tree, piece):
    names = [n for f in sorted((tree / "annotations" / "splits").glob("*.txt")) for n in f.read_text().split()]
    ignored = set((tree / "annotations" / "ignore_list.txt").read_text().split())
    return next(n for n in names if parse_aist_name(n)["piece"] == piece and n not in ignored)


def _kp(tree, name):
    return tree / "annotations" / "keypoints3d" / f"{name}.pkl"


def _wav(tree, piece):
    return tree / "music" / f"{piece}.wav"


def truncated_wav(tree):
    f = _wav(tree, "mBR0")
    f.write_bytes(f.read_bytes()[:5000])
    return "audio_features", "mBR0", f, "truncated"


def empty_wav(tree):
    f = _wav(tree, "mBR1")
    f.write_bytes(b"")
    return "audio_features", "mBR1", f, "empty"


def low_sample_rate(tree):
    f = _wav(tree, "mHO0")
    sf.write(f, np.zeros(8000 * 12, np.float32), 8000)
    return "audio_features", "mHO0", f, "sample rate 8000 Hz is below"


def silent_wav(tree):
    f = _wav(tree, "mHO2")  # a test piece: the train and val pieces are taken
    info = sf.info(f)
    sf.write(f, np.zeros(info.frames, np.float32), info.samplerate)
    return "audio_features", "mHO2", f, "silent: peak -inf dBFS"


def all_nan_motion(tree):
    name = _seq(tree, "mJB0")
    with open(_kp(tree, name), "wb") as fh:
        pickle.dump({"keypoints3d": np.full((500, 17, 3), np.nan)}, fh)
    return "motion_features", name, _kp(tree, name), "frames are NaN"


def missing_keys(tree):
    name = _seq(tree, "mJB1")
    with open(_kp(tree, name), "wb") as fh:
        pickle.dump({"keypoints2d": np.zeros((500, 17, 3))}, fh)
    return "motion_features", name, _kp(tree, name), "missing keys ['keypoints3d']"


def foreign_class(tree):
    name = _seq(tree, "mJB2")
    with open(_kp(tree, name), "wb") as fh:
        pickle.dump({"keypoints3d": collections.OrderedDict(a=1)}, fh)
    return "motion_features", name, _kp(tree, name), "refused foreign class collections.OrderedDict"


def short_audio(tree):
    f = _wav(tree, "mHO1")
    sf.write(f, np.zeros(22050 * 3, np.float32) + 0.01 * np.random.default_rng(0).standard_normal(22050 * 3), 22050)
    return "windows", _seq(tree, "mHO1"), f, "lengths differ"


def listed_without_file(tree):
    split = tree / "annotations" / "splits" / "crossmodal_train.txt"
    split.write_text(split.read_text() + "gBR_sBM_cAll_d09_mBR2_ch99\n")
    return "index", "gBR_sBM_cAll_d09_mBR2_ch99", split, "is listed but"


CORRUPTIONS = [
    truncated_wav,
    empty_wav,
    low_sample_rate,
    silent_wav,
    all_nan_motion,
    missing_keys,
    foreign_class,
    short_audio,
    listed_without_file,
]
STAGE_OF = {
    "index": "acquire",
    "audio_features": "audio_features",
    "motion_features": "motion_features",
    "windows": "windows",
}


def _params(tmp_path, tree, on_error):
    params = make_params(tmp_path, dataset="aistpp", on_error=on_error)
    params["datasets"]["aistpp"].update(root=str(tree), music_dir=str(tree / "music"), val_fraction=0.3)
    return params


def test_skip_lists_every_bad_input_and_finishes(clean_tree, tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(clean_tree, tree)
    expected = [c(tree) for c in CORRUPTIONS]
    params = _params(tmp_path, tree, "skip")
    run_all(params)
    p = Paths(params)
    where = {
        "index": p.index,
        "audio_features": p.audio_features,
        "motion_features": p.motion_features,
        "windows": p.windows,
    }
    for stage, item, path, reason in expected:
        rows = {r["item"]: r for r in read_csv(where[stage] / "skipped.csv")}
        assert item in rows, (stage, item, rows)
        assert reason in rows[item]["reason"] and rows[item]["path"] == str(path)
    assert (p.shards / "manifest.json").exists()
    report = (p.data_report / "report.md").read_text()
    assert "bad inputs skipped" in report
    # dance to music leaves out what the feature stages skipped: the tokenizer is fitted without the
    # truncated and empty train music (reading it would stop the stage), and no example has
    # music that audio_features skipped (the silent test piece would tokenize quietly) or motion
    # that motion_features skipped
    fit_tokenizer.main(params)
    tokenizer = load_tokenizer(params)
    skipped_pieces = {r["item"] for r in read_csv(p.audio_features / "skipped.csv")}
    skipped_sequences = {r["item"] for r in read_csv(p.motion_features / "skipped.csv")}
    assert {"mBR0", "mBR1", "mHO2"} <= skipped_pieces and len(skipped_sequences) == 3
    for split in ("train", "test"):
        examples = dataset_examples(params, split=split, tokenizer=tokenizer)
        assert examples and not {e["piece"] for e in examples} & skipped_pieces
        assert not {e["sequence"] for e in examples} & skipped_sequences


@pytest.mark.parametrize("corrupt", CORRUPTIONS, ids=lambda c: c.__name__)
def test_fail_stops_with_one_line_and_no_partial_output(clean_tree, tmp_path, corrupt, capsys):
    tree = tmp_path / "tree"
    shutil.copytree(clean_tree, tree)
    stage, item, path, reason = corrupt(tree)
    params = _params(tmp_path, tree, "fail")
    cfg = write_params(tmp_path / "params.yaml", params)
    failed_at = None
    for main in DATA_STAGE_MAINS:
        if run_stage(main, "stage", ["--params", str(cfg)]) != 0:
            failed_at = main.__module__.split(".")[-1]
            break
    assert failed_at == STAGE_OF[stage]
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, errors
    assert str(path) in errors[0] and reason in errors[0]
    p = Paths(params)
    out_dir = {
        "acquire": p.index,
        "audio_features": p.audio_features,
        "motion_features": p.motion_features,
        "windows": p.windows,
    }[failed_at]
    assert not out_dir.exists()
    assert not [x for x in out_dir.parent.iterdir() if x.name.startswith(f".{out_dir.name}.tmp")]
