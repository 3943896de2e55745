"""Bad inputs that used to get through (issue #14): text lists with a byte-order mark, malformed
or unreachable rows of the YouTube clip list, silent music, a MusicToDance ``config.json`` whose
end comes before its start, and a YAML syntax error in params.yaml. Each gets one line naming the
file and the reason, and ``on_error`` decides between skipping (listed) and stopping.
(Silent music through the whole data pipeline is a case of tests/workflow/test_bad_inputs.py.)"""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from pipelines.cli import run_stage
from pipelines.config import REPO_ROOT, ParamsError, load_params
from pipelines.data.audio_io import SILENT_PEAK_DBFS, read_audio_mono
from pipelines.data.datasets import index_aist_layout, index_musictodance, read_musictodance_config
from pipelines.errors import InputError, Skips
from pipelines.files import read_csv
from pipelines.stages import acquire, youtube_clips

from ..helpers import base_params, make_params, write_params

BOM = "\ufeff"


def _error_lines(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]


# --- 1. text lists with a UTF-8 byte-order mark ---------------------------------------------------

NAMES = {
    "train": ["gBR_sBM_cAll_d04_mBR0_ch01", "gBR_sBM_cAll_d05_mBR0_ch02", "gHO_sBM_cAll_d19_mHO0_ch01"],
    "val": ["gHO_sBM_cAll_d20_mHO1_ch01"],
    "test": ["gBR_sFM_cAll_d06_mBR1_ch03", "gHO_sFM_cAll_d21_mHO2_ch04"],
}


def _aist_tree(root, *, bom: bool):
    """A minimal AIST++ layout (the index only checks that the files are there)."""
    ann = root / "annotations"
    for d in (ann / "splits", ann / "keypoints3d", root / "music"):
        d.mkdir(parents=True)
    prefix = BOM if bom else ""
    for split, names in NAMES.items():
        (ann / "splits" / f"crossmodal_{split}.txt").write_text(prefix + "\n".join(names) + "\n", encoding="utf-8")
        for name in names:
            (ann / "keypoints3d" / f"{name}.pkl").write_bytes(b"")
            (root / "music" / f"{name.split('_')[4]}.wav").write_bytes(b"")
    # the ignore list drops the first training name: with the mark stuck to it, it would not
    (ann / "ignore_list.txt").write_text(prefix + NAMES["train"][0] + "\n", encoding="utf-8")
    return root


@pytest.mark.parametrize("policy", ["fail", "skip"])
def test_lists_with_a_byte_order_mark_give_the_same_index(tmp_path, policy):
    plain = _aist_tree(tmp_path / "plain", bom=False)
    marked = _aist_tree(tmp_path / "bom", bom=True)
    assert (marked / "annotations" / "splits" / "crossmodal_train.txt").read_bytes().startswith(b"\xef\xbb\xbf")
    out = {}
    for label, root in (("plain", plain), ("bom", marked)):
        skips = Skips(policy)
        rows, excluded, info = index_aist_layout(
            root, root / "music", keypoints="keypoints3d", val_fraction=0.1, seed=0, skips=skips
        )
        assert skips.rows == []
        out[label] = (
            [(r["sequence"], r["split"]) for r in rows],
            [e["item"] for e in excluded],
            info,
        )
    assert out["bom"] == out["plain"]
    rows, excluded, _ = out["bom"]
    assert excluded == [NAMES["train"][0]]
    assert (NAMES["val"][0], "val") in rows and (NAMES["test"][0], "test") in rows and len(rows) == 5


# --- 2. the YouTube clip list follows on_error ---------------------------------------------------


def _youtube_params(tmp_path, links, on_error):
    params = make_params(tmp_path, on_error=on_error)
    params["youtube"].update(links=str(links), target=str(tmp_path / "clips"))
    return params


def test_malformed_row_stops_the_list_with_one_line_under_fail(tmp_path, capsys):
    links = tmp_path / "links.csv"
    links.write_text(
        "missing/first.mp4,00:00:00,00:00:05\nhttps://example.invalid/v,00:00:10,00:00:05\n", encoding="utf-8"
    )
    cfg = write_params(tmp_path / "params.yaml", _youtube_params(tmp_path, links, "fail"))
    assert run_stage(youtube_clips.main, "stage", ["--params", str(cfg)]) == 1
    (line,) = _error_lines(capsys)
    assert line == f"error: {links}: line 2: end 00:00:05 is not after start 00:00:10"
    assert not (tmp_path / "clips" / "manifest.csv").exists()


def test_failed_download_stops_the_run_under_fail(tmp_path, capsys):
    links = tmp_path / "links.csv"
    links.write_text("\n" + "missing/video.mp4,00:00:00,00:00:05\n", encoding="utf-8")
    cfg = write_params(tmp_path / "params.yaml", _youtube_params(tmp_path, links, "fail"))
    assert run_stage(youtube_clips.main, "stage", ["--params", str(cfg)]) == 1
    (line,) = _error_lines(capsys)
    assert line.startswith(f"error: {links}: line 2: missing/video.mp4: local file ") and "not found" in line
    assert not (tmp_path / "clips" / "manifest.csv").exists()


def test_skip_lists_malformed_rows_and_failed_downloads_and_cuts_the_rest(shared_data, tmp_path):
    video = shared_data / "youtube" / "clip_0_0" / "video.mp4"
    links = tmp_path / "links.csv"
    links.write_text(
        BOM
        + "\n".join(
            [
                f"{video},00:00:00,00:00:05",  # row 0: one window
                "only,two",  # row 1: malformed
                "missing/video.mp4,00:00:00,00:00:05",  # row 2: no such file
                f"{video},00:00:0x,00:00:05",  # row 3: bad time
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    youtube_clips.main(_youtube_params(tmp_path, links, "skip"))
    clips = tmp_path / "clips"
    manifest = read_csv(clips / "manifest.csv")
    assert [(m["clip"], m["status"]) for m in manifest] == [("clip_0_0", "ok"), ("clip_2", "failed")]
    skipped = {r["item"]: r for r in read_csv(clips / "skipped.csv")}
    assert list(skipped) == ["clip_1", "clip_3", "clip_2"]  # malformed rows while reading, then the clips
    assert all(r["path"] == str(links) for r in skipped.values())
    assert skipped["clip_1"]["reason"] == "line 2: expected url,start,end, got 2 fields"
    assert skipped["clip_3"]["reason"].startswith("line 4: not a HH:MM:SS time")
    assert skipped["clip_2"]["reason"].startswith("line 3: missing/video.mp4: local file")
    assert (clips / "clip_0_0" / "audio.wav").is_file()


# --- 3. silent music ------------------------------------------------------------------------------


def test_silence_is_refused_as_music_but_accepted_where_asked(tmp_path):
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(22050 * 2, np.float32), 22050)
    with pytest.raises(InputError) as exc:
        read_audio_mono(silent, min_sample_rate=16000, min_seconds=1, min_peak_dbfs=SILENT_PEAK_DBFS)
    assert str(exc.value) == f"{silent}: silent: peak -inf dBFS is below -60 dBFS"
    hiss = tmp_path / "hiss.wav"  # dither-level noise is no music either
    sf.write(hiss, 1e-4 * np.random.default_rng(0).standard_normal(22050 * 2).astype(np.float32), 22050)
    with pytest.raises(InputError, match=r"silent: peak -[0-9.]+ dBFS is below -60 dBFS"):
        read_audio_mono(hiss, min_sample_rate=16000, min_seconds=1, min_peak_dbfs=SILENT_PEAK_DBFS)
    # without the keyword (a clip's stem may be empty), silence reads as before
    y, sr = read_audio_mono(silent, min_sample_rate=16000, min_seconds=1)
    assert sr == 22050 and not y.any()
    quiet = tmp_path / "quiet.wav"  # quiet music (-40 dBFS) is still music
    t = np.arange(22050 * 2) / 22050
    sf.write(quiet, (0.01 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 22050)
    read_audio_mono(quiet, min_sample_rate=16000, min_seconds=1, min_peak_dbfs=SILENT_PEAK_DBFS)


# --- 4. MusicToDance config.json ------------------------------------------------------------------


def test_real_musictodance_configs_are_accepted(shared_data, mtd_root):
    full = shared_data / "musictodance_full"
    for config in sorted(mtd_root.glob("DANCE_*/config.json")) + sorted(full.glob("DANCE_*/config.json")):
        start, end = read_musictodance_config(config)
        assert json.loads(config.read_text()) == {"start_position": start, "end_position": end}


def _mtd_copy(mtd_root, tmp_path):
    """The sample dances as links to the real files, with config.json files of our own."""
    root = tmp_path / "mtd"
    for d in sorted(mtd_root.glob("DANCE_*")):
        (root / d.name).mkdir(parents=True)
        for f in ("audio.mp3", "skeletons.json"):
            (root / d.name / f).symlink_to(d / f)
        shutil.copy(d / "config.json", root / d.name / "config.json")
    return root


@pytest.mark.parametrize(
    "config, reason",
    [
        ({"start_position": 200, "end_position": 100}, "end_position 100 is not after start_position 200"),
        ({"start_position": 50, "end_position": 50}, "end_position 50 is not after start_position 50"),
        ({"start_position": -3, "end_position": 100}, "start_position -3 is negative"),
        ({"start_position": 0}, "needs an integer end_position (music frame at 25 fps), got None"),
        ({"start_position": "0", "end_position": 10}, "needs an integer start_position (music frame at 25 fps)"),
    ],
)
def test_bad_musictodance_config_is_skipped_and_listed(mtd_root, tmp_path, config, reason):
    root = _mtd_copy(mtd_root, tmp_path)
    bad = root / "DANCE_W_23" / "config.json"
    bad.write_text(json.dumps(config))
    skips = Skips("skip")
    rows, _, _ = index_musictodance(root, val_fraction=0.2, test_fraction=0.2, seed=0, skips=skips, motion_fps=25)
    assert "DANCE_W_23" not in {r["sequence"] for r in rows} and len(rows) == 4
    (row,) = skips.rows
    assert row["item"] == "DANCE_W_23" and row["path"] == str(bad) and row["reason"].startswith(reason)


def test_bad_musictodance_config_stops_acquire_with_one_line(mtd_root, tmp_path, capsys):
    root = _mtd_copy(mtd_root, tmp_path)
    bad = root / "DANCE_C_2" / "config.json"
    bad.write_text('{"start_position": 2056, "end_position": 156}')
    params = make_params(tmp_path, dataset="musictodance", on_error="fail")
    params["datasets"]["musictodance"]["root"] = str(root)
    cfg = write_params(tmp_path / "params.yaml", params)
    assert run_stage(acquire.main, "stage", ["--params", str(cfg)]) == 1
    assert _error_lines(capsys) == [f"error: {bad}: end_position 156 is not after start_position 2056"]
    assert not (tmp_path / "data" / "musictodance" / "index").exists()


# --- 5. a YAML syntax error in params.yaml ---------------------------------------------------------


def _broken_params_text() -> tuple[str, int]:
    """params.yaml with a stray ``:`` on the line of ``seed:``; that line's number."""
    lines = (REPO_ROOT / "params.yaml").read_text().splitlines()
    n = next(i for i, line in enumerate(lines) if line.startswith("seed:"))
    lines[n] = lines[n].split("#")[0].rstrip() + " : oops"
    return "\n".join(lines) + "\n", n + 1


def test_yaml_syntax_error_names_the_file_and_the_line(tmp_path):
    text, line = _broken_params_text()
    path = tmp_path / "params.yaml"
    path.write_text(text)
    with pytest.raises(ParamsError) as exc:
        load_params(path)
    msg = str(exc.value)
    assert msg.startswith(f"{path}: line {line}, column ") and "mapping values are not allowed here" in msg, msg
    assert "\n" not in msg
    # a byte-order mark is no syntax error
    write_params(path, base_params())
    path.write_text(BOM + path.read_text(), encoding="utf-8")
    assert load_params(path) == base_params()


def test_snakemake_reports_the_yaml_error_with_its_line(tmp_path):
    for item in ("workflow", "pipelines"):
        shutil.copytree(REPO_ROOT / item, tmp_path / item, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO_ROOT / "Snakefile", tmp_path / "Snakefile")
    text, line = _broken_params_text()
    (tmp_path / "params.yaml").write_text(text)
    out = subprocess.run([sys.executable, "-m", "snakemake", "-n"], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode != 0
    lines = [x for x in (out.stdout + out.stderr).splitlines() if x.startswith("params.yaml:")]
    assert len(lines) == 1 and lines[0].startswith(f"params.yaml: line {line}, column "), out.stderr[-2000:]
    assert "mapping values are not allowed here" in lines[0]
