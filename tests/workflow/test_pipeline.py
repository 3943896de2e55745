import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import soundfile as sf
import yaml

from pipelines.config import REPO_ROOT, Paths
from pipelines.data import synthetic as syn
from pipelines.data.datasets import parse_aist_name
from pipelines.data.torch_data import ShardDataset, shard_loader
from pipelines.features.shards import verify_manifest
from pipelines.files import read_csv
from pipelines.stages import windows as windows_stage

from ..helpers import base_params, make_params, run_all, write_params

pytestmark = pytest.mark.slow  # runs a whole (small) pipeline


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tiny")
    params = make_params(tmp)
    run_all(params)
    return params


def test_synthetic_tree_has_the_aistpp_layout(tiny_run):
    raw = Paths(tiny_run).raw
    ann = raw / "annotations"
    for split in ("train", "val", "test"):
        assert (ann / "splits" / f"crossmodal_{split}.txt").is_file()
    assert (ann / "ignore_list.txt").read_text().strip()
    names = [p.stem for p in (ann / "keypoints3d").glob("*.pkl")]
    assert len(names) == 3 * 3 * 2 and {p.stem for p in (ann / "motions").glob("*.pkl")} == set(names)
    for n in names:
        meta = parse_aist_name(n)
        assert (raw / "music" / f"{meta['piece']}.wav").is_file()
        assert (raw / "music" / f"{meta['piece']}.beats.tsv").is_file()
    beats = np.loadtxt(raw / "music" / "mHO2.beats.tsv", skiprows=1)
    assert np.allclose(np.diff(beats[:, 0]), 60 / 120)  # house: 110 + 5k BPM
    assert set(beats[:, 1]) == {1, 2, 3, 4}


def test_shards_windows_and_torch_dataset(tiny_run):
    p = Paths(tiny_run)
    assert verify_manifest(p.shards) == []
    manifest = json.loads((p.shards / "manifest.json").read_text())
    seqs = {r["sequence"]: r for r in read_csv(p.windows / "sequences.csv")}
    for spec in tiny_run["windows"]:
        W = spec["frames"]
        rows = read_csv(p.windows / f"w{W}.csv")
        assert rows and all(int(r["start_frame"]) + W <= int(seqs[r["sequence"]]["usable_frames"]) for r in rows)
        for split in ("train", "val", "test"):
            name = f"w{W}_{split}.h5"
            assert manifest["files"][name]["windows"] == sum(r["split"] == split for r in rows)
            with h5py.File(p.shards / name) as f:
                n = f["index"].shape[0]
                assert f["motion/joints"].shape == (n, W, 17, 3)
                assert f["audio/logmel"].shape == (n, W, 96)
                assert f["motion/joints"].chunks[0] == min(tiny_run["shards"]["chunk_windows"], n)
                # Blosc (filter 32001) with LZ4 (compressor 1), byte-shuffle (1) at level 5: the defaults
                assert f["motion/joints"].id.get_create_plist().get_filter(0)[2][4:] == (5, 1, 1)
                assert {s.decode() for s in f["index"]["split"]} == {split}
    # pieces never cross splits in the synthetic crossmodal split
    piece_split = {}
    for r in seqs.values():
        assert piece_split.setdefault(r["piece"], r["split"]) == r["split"]
    ds = ShardDataset(p.shard_file(229, "train"), fields=("motion/joints", "audio/logmel", "motion/nan_mask"))
    item = ds[0]
    assert item["motion/joints"].shape == (229, 17, 3) and item["audio/logmel"].shape == (229, 96)
    assert set(item) >= {"sequence", "piece", "genre", "dancer", "split", "start_frame"}
    batches = list(shard_loader(ds, batch_size=4, shuffle=True, seed=0))
    assert sum(b["motion/joints"].shape[0] for b in batches) == len(ds)
    # the window really is that slice of the sequence's features
    with np.load(p.motion_features / f"{item['sequence']}.npz") as m:
        s = item["start_frame"]
        np.testing.assert_array_equal(item["motion/joints"].numpy(), m["joints"][s : s + 229])


def test_nan_frames_survive_as_mask(tiny_run):
    p = Paths(tiny_run)
    total = 0
    for f in p.motion_features.glob("*.npz"):
        with np.load(f) as m:
            total += int(m["nan_mask"].sum())
            assert np.isfinite(m["joints"]).all()
    assert total > 0
    assert json.loads((p.data_report / "summary.json").read_text())["nan_frames"] == total
    assert (p.data_report / "report.md").read_text().startswith("# Data report")


def test_same_seed_gives_byte_identical_shards(tiny_run, tmp_path):
    again = make_params(tmp_path)
    run_all(again)
    a = json.loads((Paths(tiny_run).shards / "manifest.json").read_text())["files"]
    b = json.loads((Paths(again).shards / "manifest.json").read_text())["files"]
    assert {k: v["sha256"] for k, v in a.items()} == {k: v["sha256"] for k, v in b.items()}
    for name in a:
        assert (Paths(tiny_run).shards / name).read_bytes() == (Paths(again).shards / name).read_bytes()


#: Denser windows than tiny_run's: the shards stage then writes ~65 MB for ~5 s, so a kill lands mid-shard.
DENSE_WINDOWS = [{"frames": 25, "stride": 5}, {"frames": 229, "stride": 8}, {"frames": 425, "stride": 20}]


def _dense_copy(tiny_run, root: Path) -> tuple[dict, Path]:
    """tiny_run's sources and features under ``root`` with DENSE_WINDOWS (windows stage rerun);
    tiny_run's shards are there as the previous output. Returns the params and their file."""
    params = make_params(root, windows=DENSE_WINDOWS)
    for name in ("raw", "index", "features", "shards"):
        shutil.copytree(Paths(tiny_run).base / name, Paths(params).base / name)
    windows_stage.main(params)
    return params, write_params(root / "params.yaml", params)


def _start_shards(params_file: Path, log: Path) -> tuple[subprocess.Popen, Path]:
    """The shards stage as a process of its own, once it has made its temporary: (process, temporary)."""
    folder = Path(yaml.safe_load(params_file.read_text())["data_dir"]) / "synthetic"
    before = set(folder.glob(".shards.tmp-*"))
    with open(log, "ab") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pipelines.stages.shards", "--params", str(params_file)],
            cwd=REPO_ROOT,
            stdout=fh,
            stderr=fh,
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        mine = [p for p in folder.glob(".shards.tmp-*") if p not in before and p.is_dir()]
        if mine:
            return proc, mine[0]
        assert proc.poll() is None, f"the shards stage ended before writing anything:\n{log.read_text()}"
        time.sleep(0.01)
    proc.kill()
    proc.wait()
    raise AssertionError(f"no temporary after 120 s:\n{log.read_text()}")


def _leftovers(base: Path) -> list[str]:
    return sorted(str(p.relative_to(base)) for p in base.rglob("*") if ".tmp-" in p.name or ".old-" in p.name)


def test_sigkilled_shard_stage_keeps_the_last_good_output_and_leaves_no_temporary(tiny_run, tmp_path):
    """The shards stage, run by hand as its own process, is killed with SIGKILL three times while
    it writes its shards (no Python cleanup can run), then rerun to the end. After each kill the
    previous shards are untouched and only that run's half-written temporary is left (the next
    start removes the earlier one: kills never pile up); after the rerun no temporary is left and
    the shards equal, byte for byte, those of an uninterrupted run on a copy of the same data."""
    ref_params, ref_file = _dense_copy(tiny_run, tmp_path / "uninterrupted")
    proc, _ = _start_shards(ref_file, tmp_path / "uninterrupted.log")
    began = time.monotonic()
    assert proc.wait(timeout=300) == 0, (tmp_path / "uninterrupted.log").read_text()
    writing_s = time.monotonic() - began  # from its temporary to its end
    ref = Paths(ref_params).shards

    params, params_file = _dense_copy(tiny_run, tmp_path / "killed")
    p = Paths(params)
    previous = {f.name: f.read_bytes() for f in p.shards.iterdir()}
    earlier = None
    for fraction in (0.1, 0.4, 0.7):
        proc, tmp = _start_shards(params_file, tmp_path / "killed.log")
        time.sleep(fraction * writing_s)
        assert proc.poll() is None, "the stage finished before the kill: make DENSE_WINDOWS denser"
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=60) == -signal.SIGKILL
        assert [s.name for s in tmp.glob("*.h5")], "killed before writing a shard"
        assert _leftovers(p.base) == [tmp.name]  # this run's, not the earlier runs' (removed at its start)
        assert earlier is None or not earlier.exists()
        assert {f.name: f.read_bytes() for f in p.shards.iterdir()} == previous and verify_manifest(p.shards) == []
        earlier = tmp

    done = subprocess.run(
        [sys.executable, "-m", "pipelines.stages.shards", "--params", str(params_file)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert _leftovers(p.base) == [] and _leftovers(ref.parent) == []
    assert sorted(f.name for f in p.shards.iterdir()) == sorted(f.name for f in ref.iterdir())
    for f in ref.iterdir():
        assert (p.shards / f.name).read_bytes() == f.read_bytes(), f.name
    assert verify_manifest(p.shards) == []


def test_musictodance_pipeline_on_real_dances(mtd_root, tmp_path):
    params = make_params(tmp_path, dataset="musictodance")
    params["datasets"]["musictodance"]["root"] = str(mtd_root)
    run_all(params)
    p = Paths(params)
    seqs = read_csv(p.windows / "sequences.csv")
    assert len(seqs) == 5
    splits = {r["sequence"]: r["split"] for r in seqs}
    assert sorted(splits.values()).count("test") == 1 and sorted(splits.values()).count("val") == 1
    for W in (25, 229, 425):
        rows = read_csv(p.windows / f"w{W}.csv")
        for r in rows:  # split by dance: every window of a dance has the dance's split
            assert r["split"] == splits[r["sequence"]]
        # audio offset = config start_position (25-fps frames)
        start = {r["sequence"]: int(r["audio_start_frame"]) - int(r["start_frame"]) for r in rows}
        cfg = json.loads((mtd_root / "DANCE_C_2" / "config.json").read_text())
        assert start["DANCE_C_2"] == cfg["start_position"]
    with h5py.File(p.shard_file(229, "train")) as f:
        assert f["motion/joints"].shape[2:] == (23, 3) and f.attrs["motion_fps"] == 25
        assert f.attrs["sample_rate"] == 12800 and f["motion/bones"].shape[2] == 22


def test_kfold_protocol_scores_every_model_on_real_dances(mtd_root, tmp_path):
    """Dance-grouped 2-fold cross-validation on the 5 shared dances, named splits for the data
    stages: every retrieval model trains and is scored once per fold, MCLEMCD pools its folds,
    and the headline numbers are means over folds with per-genre recall and balanced accuracy."""
    params = make_params(tmp_path, dataset="musictodance")
    params["datasets"]["musictodance"].update(root=str(mtd_root), splits={"test": ["DANCE_C_2"], "val": ["DANCE_W_14"]})
    params["evaluate"].update(protocol="kfold", folds=2)
    params["mclemcd"]["protocol"] = "kfold"
    params["train"]["crop_frames"] = 200
    run_all(params)
    p = Paths(params)
    splits = {r["sequence"]: r["split"] for r in read_csv(p.windows / "sequences.csv")}
    assert splits["DANCE_C_2"] == "test" and splits["DANCE_W_14"] == "val" and splits["DANCE_R_2"] == "train"
    from ..helpers import run_models

    run_models(params)
    for model in ("linear", "clip", "temporal", "motionbeat"):
        head = json.loads(p.headline(model).read_text())
        assert head["runs"] == ["fold0", "fold1"] and head["interval_over"] == "test queries of every fold"
        runs = [json.loads(p.model_files(model, f"fold{f}")["evaluation"].read_text()) for f in range(2)]
        tested = [set(np.load(p.model_files(model, f"fold{f}")["eval"])["sequence"]) for f in range(2)]
        assert not tested[0] & tested[1] and len(tested[0] | tested[1]) == 5  # each dance tested once
        assert sum(r["retrieval"]["windows"]["size"] for r in runs) == head["test_windows"]
        assert "balanced_accuracy" in runs[0]["genre_probe"]["motion"]
        assert 0 <= runs[0]["rhythm"]["phase"]["top1"] <= 1 and runs[0]["rhythm"]["beat_probe"] != {}
    mc = json.loads((p.results / "mclemcd" / "metrics.json").read_text())
    variant = next(iter(mc["variants"].values()))
    assert len(variant["per_fold"]) == 2 and variant["pieces"] == 5  # every dance tested once
    assert 0 <= variant["balanced_accuracy_window"] <= 1 and set(variant["per_genre_recall_window"]) <= {
        "C",
        "R",
        "T",
        "W",
    }
    assert "## Margins with intervals" in (p.results / "report.md").read_text()


@pytest.fixture
def aistpp_music(aistpp_root, tmp_path):
    """The 60 AIST music wavs are not redistributable: write synthetic music at each
    referenced piece's official tempo so the real motion can run through the pipeline."""
    music = tmp_path / "music"
    music.mkdir()
    for piece in {
        parse_aist_name(f.stem)["piece"] for f in (aistpp_root / "annotations" / "keypoints3d").glob("*.pkl")
    }:
        p = syn.make_piece(piece[1:3], int(piece[3]), np.random.default_rng(0))
        y, _ = syn.synth_music(p, seconds=34.0, sr=22050, rng=np.random.default_rng(1))
        sf.write(music / f"{piece}.wav", y, 22050)
    return music


def test_aistpp_pipeline_on_real_sequences(aistpp_root, aistpp_music, tmp_path):
    params = make_params(tmp_path, dataset="aistpp", on_error="skip")
    params["datasets"]["aistpp"].update(root=str(aistpp_root), music_dir=str(aistpp_music))
    run_all(params)
    p = Paths(params)
    info = json.loads((p.index / "info.json").read_text())
    assert info["val_source"] == "derived" and info["sequences"] == 4
    skipped = read_csv(p.index / "skipped.csv")
    assert len(skipped) > 900 and all("does not exist" in r["reason"] for r in skipped)
    excluded = read_csv(p.index / "excluded.csv")
    assert excluded and all(r["reason"] == "in the dataset's ignore list" for r in excluded)
    nan = sum(int(np.load(f)["nan_mask"].sum()) for f in p.motion_features.glob("*.npz"))
    assert nan > 0
    assert (p.shards / "manifest.json").exists()


def test_aistpp_missing_file_fails_with_one_line(aistpp_root, aistpp_music, tmp_path):
    params = make_params(tmp_path, dataset="aistpp", on_error="fail")
    params["datasets"]["aistpp"].update(root=str(aistpp_root), music_dir=str(aistpp_music))
    cfg = write_params(tmp_path / "params.yaml", params)
    out = subprocess.run(
        [sys.executable, "-m", "pipelines.stages.acquire", "--params", str(cfg)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "crossmodal_train.txt" in errors[0] and "does not exist" in errors[0]
    assert not Paths(params).index.exists()


def test_snakemake_reruns_only_what_changed(tmp_path):
    work = tmp_path / "wf"
    work.mkdir()
    for item in ("Snakefile", "workflow", "pipelines"):
        src = REPO_ROOT / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, work / item)
    params = make_params(tmp_path)
    params["data_dir"], params["results_dir"], params["models_dir"] = "data", "results", "models"
    write_params(work / "params.yaml", params)
    smk = [sys.executable, "-m", "snakemake", "--cores", "2"]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    run = subprocess.run(smk + ["all"], cwd=work, capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    dry = subprocess.run(smk + ["-n", "all"], cwd=work, capture_output=True, text=True, env=env)
    assert "Nothing to be done" in dry.stdout + dry.stderr
    params["windows"][0]["stride"] = 20
    write_params(work / "params.yaml", params)
    dry = subprocess.run(smk + ["-n", "--quiet", "rules", "all"], cwd=work, capture_output=True, text=True, env=env)
    text = dry.stdout + dry.stderr
    for rule in ("windows", "shards", "data_report"):
        assert f"\n{rule} " in text or f" {rule} " in text, text
    for rule in ("acquire", "audio_features", "motion_features"):
        assert rule not in text, text
    # one model's params: only that model's training, its evaluation and the report
    params["windows"][0]["stride"] = 25
    params["clip"]["lr"] = 0.002
    write_params(work / "params.yaml", params)
    dry = subprocess.run(smk + ["-n", "all"], cwd=work, capture_output=True, text=True, env=env)
    stats = (dry.stdout + dry.stderr).split("Job stats:")[1].split("total")[0]
    jobs = {line.split()[0] for line in stats.splitlines()[3:] if line.strip()}
    runs = {f"{stage}_clip_seed{k}" for stage in ("train", "evaluate") for k in range(params["evaluate"]["seeds"])}
    assert jobs == runs | {"summarize", "report", "all"}, stats
    bad = subprocess.run(smk + ["-n", "all", "--config", "seed=3"], cwd=work, capture_output=True, text=True, env=env)
    assert bad.returncode != 0 and "params.yaml is the only configuration" in bad.stdout + bad.stderr
    # a change to a library module reruns exactly the stages that import it (and what follows)
    params["clip"]["lr"] = base_params()["clip"]["lr"]
    write_params(work / "params.yaml", params)
    for module, expected in (
        ("pipelines/families/mclemcd/tables.py", {"mclemcd", "summarize", "report"}),
        ("pipelines/evaluation/stats.py", {"evaluate_dance2music", "summarize", "report"}),
        ("pipelines/data/skeleton.py", {"acquire", "motion_features", "data_report", "mclemcd"}),
    ):
        path = work / module
        original = path.read_bytes()
        path.write_bytes(original + b"\n# an edit\n")  # Snakemake compares content, not just mtimes
        dry = subprocess.run(smk + ["-n", "all"], cwd=work, capture_output=True, text=True, env=env)
        path.write_bytes(original)
        assert "Job stats:" in dry.stdout + dry.stderr, (module, dry.stdout[-3000:], dry.stderr[-3000:])
        stats = (dry.stdout + dry.stderr).split("Job stats:")[1].split("total")[0]
        # the jobs' rule names, whole (the stats table cuts long ones short)
        jobs = set(re.findall(r"^(?:local)?rule (\w+):", dry.stdout + dry.stderr, flags=re.M)) | {"all"}
        assert expected <= jobs, (module, stats)
        if module != "pipelines/data/skeleton.py":  # skeleton reruns acquire, and so everything after it
            assert jobs == expected | {"all"}, (module, stats)
