"""Dance to music through its stages on the tiny synthetic set: tokenizer, two training runs, the
evaluation beside its baselines, samples with audio and video, and the report's section."""

import json
import subprocess
import wave

import numpy as np
import pytest

from pipelines.config import Paths
from pipelines.families.dance2music import stage_evaluate as evaluate_dance2music
from pipelines.families.dance2music import stage_fit_tokenizer as fit_tokenizer
from pipelines.families.dance2music import stage_train as train_dance2music
from pipelines.families.dance2music.files import generation_results, generator_files
from pipelines.families.dance2music.report import generation_section
from pipelines.families.retrieval.stage_train import train_model
from pipelines.ingest.youtube import ffmpeg_exe
from pipelines.reports.doc import Doc
from pipelines.training.checkpoint import load_checkpoint

from ..helpers import make_params, run_all

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dance2music")
    params = make_params(tmp)
    run_all(params)
    train_model(params, "temporal", seed_index=0)
    fit_tokenizer.main(params)
    for k in range(params["evaluate"]["seeds"]):
        train_dance2music.train(params, seed_index=k)
    evaluate_dance2music.main(params)
    return params


def test_kept_epoch_is_the_best_free_running_validation(generated):
    for k in range(generated["evaluate"]["seeds"]):
        ckpt = load_checkpoint(generator_files(generated, f"seed{k}")["checkpoint"])
        history = ckpt["record"]["history"]
        monitor = f"val_free_{generated['dance2music']['select_by']}"
        errors = [row[monitor] for row in history]
        assert ckpt["record"]["best_epoch"] == int(np.argmin(errors))
        assert all(np.isfinite(row["val_free_mel_error"]) and row["val_free_timbre_error"] >= 0 for row in history)
        assert all({"train_loss", "val_loss", "val_accuracy", "val_free_accuracy"} <= set(row) for row in history)
        assert (generator_files(generated, f"seed{k}")["live"] / "metrics.json").exists()


def test_evaluation_scores_every_run_beside_its_baselines(generated):
    r = json.loads(generation_results(generated)["metrics"].read_text())
    assert sorted(r["runs"]) == ["seed0", "seed1"] and r["model"]["mel_error"]["n"] == 2
    assert set(r["baselines"]) == {"unigram", "nearest_neighbour", "round_trip", "real"}
    assert r["baselines"]["round_trip"]["audio"]["mel_error"] == 0.0  # the true codes against themselves
    # the synthetic dances step on the music's beats: the real music must hit the kinetic beats
    real = r["baselines"]["real"]["audio"]
    assert real["beat_hit"] > 0.6 and real["beat_align"] > 0.6
    assert r["baselines"]["unigram"]["audio"]["beat_align"] < real["beat_align"]
    for part in ("teacher_forced", "free_running"):
        assert r["runs"]["seed0"]["tokens"][part]["perplexity"] > 1
    assert set(r["margin_over_nearest_neighbour"]) >= {"mel_error", "beat_hit", "beat_align", "crossmodal_rank"}
    assert r["runs"]["seed0"]["audio"]["crossmodal"]["n_queries"] == r["audio_windows"]


def test_samples_have_audio_and_videos_with_sound_and_the_report_links_them(generated, tmp_path):
    r = json.loads(generation_results(generated)["metrics"].read_text())
    samples = generation_results(generated)["samples"]
    (s,) = r["samples"]
    for name in s["audio"].values():
        with wave.open(str(samples / name)) as w:
            assert w.getnframes() / w.getframerate() == pytest.approx(generated["dance2music"]["seconds"], abs=0.1)
    for name in s["videos"].values():
        probe = subprocess.run([ffmpeg_exe(), "-i", str(samples / name)], capture_output=True, text=True).stderr
        assert "Video: h264" in probe and "Audio: aac" in probe
    doc = Doc(tmp_path, "report_figures")
    generation_section(generated, doc)
    md = doc.markdown()
    assert "## Dance to music" in md and "nearest neighbour" in md
    html = doc.html("t")
    links = [f"dance2music/samples/{n}" for n in [*s["audio"].values(), *s["videos"].values()]]
    assert all(f"src='{link}'" in html for link in links)
    assert all((Paths(generated).results / link).exists() for link in links)
