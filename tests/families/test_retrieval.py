"""Training, evaluation and the report on a tiny synthetic run."""

import json

import numpy as np
import pytest
import torch

from pipelines.config import Paths
from pipelines.families.retrieval.model import (
    build_model,
    feature_stats,
    fit_ridge,
    frame_features,
    model_from_checkpoint,
    pool,
)
from pipelines.families.retrieval.names import RETRIEVAL_MODELS
from pipelines.families.retrieval.stage_train import train_model
from pipelines.training.checkpoint import load_checkpoint

from ..helpers import make_params, run_all, run_models


def model_paths(params: dict, model: str) -> dict:
    return Paths(params).model_files(model)


def load_model(path):
    ckpt = load_checkpoint(path)
    return model_from_checkpoint(ckpt), ckpt


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("models")
    params = make_params(tmp)
    run_all(params)
    run_models(params)
    return params


def check_selection(record: dict, tcfg: dict, *, min_delta: float = 1e-4) -> None:
    """The training record follows the rule of :func:`pipelines.training.loop.fit`, replayed over
    its validation history: the best epoch is the last one to beat every earlier best by more than
    ``min_delta`` on ``train.select_by``, and training ran ``max_epochs`` or stopped at the first
    epoch ``patience`` epochs after the best."""
    key, history = tcfg["select_by"], record["history"]
    sign = -1.0 if key == "val_loss" else 1.0  # higher is better after the sign
    assert record["epochs_run"] == len(history) >= 1 and [h["epoch"] for h in history] == list(range(len(history)))
    best, best_score = -1, -np.inf
    for h in history:
        if sign * h[key] > best_score + min_delta:
            best, best_score = h["epoch"], sign * h[key]
        elif h["epoch"] - best >= tcfg["patience"]:
            assert h["epoch"] == len(history) - 1, f"training went on after the stopping epoch {h['epoch']}"
    stopped_early = len(history) < tcfg["max_epochs"]
    assert not stopped_early or len(history) - 1 - best == tcfg["patience"], (len(history), best)
    assert record["best_epoch"] == best and record[f"best_{key}"] == history[best][key]


def val_score_of_checkpoint(params: dict, ckpt: dict) -> float:
    """``train.select_by`` of a checkpoint's weights on the validation windows, scored as training does."""
    from pipelines.evaluation.retrieval import relevance
    from pipelines.families.retrieval.model import run_windows
    from pipelines.families.retrieval.training import _piece_ids, validation_scores
    from pipelines.training.runtime import configure_device

    tcfg, device = params["train"], configure_device(params)  # where the stage trained and scored it
    val = run_windows(params, fold=None, roles=("val",))["val"]
    _piece_ids(val, {})
    val["piece_relevance"] = relevance(val["meta"], val["meta"], key="piece")
    model = model_from_checkpoint(ckpt).to(device)
    scores = validation_scores(model, val, device=device, batch_size=tcfg["batch_size"], rule=tcfg["negatives"])
    return scores[tcfg["select_by"]]


@pytest.mark.slow
def test_checkpoints_carry_their_params_and_the_selected_epoch(trained):
    p = Paths(trained)
    for name in RETRIEVAL_MODELS:
        model, ckpt = load_model(model_paths(trained, name)["checkpoint"])
        assert ckpt["params"][name] == trained[name] and ckpt["params"]["train"] == trained["train"]
        assert ckpt["inputs"]["audio"][0] == "audio/logmel"
    bests = []
    for name in ("clip", "temporal"):
        for k in range(trained["evaluate"]["seeds"]):
            ckpt = load_checkpoint(p.model_files(name, f"seed{k}")["checkpoint"])
            record, key = ckpt["record"], trained["train"]["select_by"]
            check_selection(record, trained["train"])
            # the weights kept are the best epoch's: scoring them again gives that epoch's number
            assert val_score_of_checkpoint(trained, ckpt) == pytest.approx(record[f"best_{key}"], abs=1e-6), (name, k)
            bests.append(record["best_epoch"] < record["epochs_run"] - 1)
    assert any(bests), "every run kept its last epoch: the restore of an earlier one went unchecked"


@pytest.mark.slow
def test_early_stopping_ends_a_stage_run_after_patience_epochs(trained, tmp_path):
    """train_model with a learning rate of 0: the validation score never improves after the first
    epoch, so training stops ``patience`` epochs later, long before ``max_epochs``."""
    params = {
        **trained,
        "models_dir": str(tmp_path / "models"),
        "train": {**trained["train"], "max_epochs": 8, "patience": 2},
        "clip": {**trained["clip"], "lr": 0.0},
    }
    record = load_checkpoint(train_model(params, "clip"))["record"]
    check_selection(record, params["train"])
    assert record["best_epoch"] == 0 and record["epochs_run"] == 3
    assert len({h[params["train"]["select_by"]] for h in record["history"]}) == 1  # nothing improved


@pytest.mark.slow
def test_curves_logged_with_dvclive(trained):
    for name in ("clip", "temporal"):
        live = model_paths(trained, name)["live"]
        assert (live / "metrics.json").exists()
        rows = (live / "plots" / "metrics" / "val_loss.tsv").read_text().splitlines()
        assert rows[0].split("\t")[:2] == ["step", "val_loss"] and len(rows) > 1
        rows = (live / "plots" / "metrics" / "val_piece_map.tsv").read_text().splitlines()
        assert rows[0].split("\t")[:2] == ["step", "val_piece_map"] and len(rows) > 1


@pytest.mark.slow
def test_metrics_json_stores_chance_beside_every_number(trained):
    m = json.loads(model_paths(trained, "temporal")["evaluation"].read_text())
    for gallery in ("windows", "sequences"):
        for direction in ("music_to_motion", "motion_to_music"):
            for level in ("exact", "piece", "genre"):
                entry = m["retrieval"][gallery][direction][level]
                assert set(entry["model"]) == set(entry["chance"]) == {"R@1", "R@5", "R@10", "median_rank", "mAP"}
    assert 0 <= m["genre_probe"]["motion"]["window_accuracy"] <= 1
    assert "chance_window" in m["genre_probe"]["motion"]


@pytest.mark.slow
def test_report_written(trained):
    p = Paths(trained)
    md = (p.results / "report.md").read_text()
    assert "| chance |" in md and "temporal" in md and "ceiling" in md
    assert "## MCLEMCD: music genre from dance" in md and "| with | fc |" in md
    html = (p.results / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 7
    figures = {f.name for f in (p.results / "report_figures").iterdir()}
    generated = {f for f in figures if f.startswith("generate_")}  # one sample's spectrograms (dance2music.samples: 1)
    assert len(generated) == 1 and figures - generated == {
        "recall_at_k.png",
        "similarity.png",
        "rank_histogram.png",
        "embedding_map.png",
        "confusion.png",
        "mclemcd_confusion.png",
    }


def test_ridge_recovers_a_linear_map():
    torch.manual_seed(0)
    audio = torch.randn(200, 10, 4)
    w = torch.randn(4, 3)
    motion = audio @ w
    a_stats, m_stats = feature_stats(audio), feature_stats(motion)
    model = build_model(
        "linear",
        {"alpha": 1e-6, "pooling": "mean"},
        audio_dim=4,
        motion_dim=3,
        audio_stats=a_stats,
        motion_stats=m_stats,
    )
    fit_ridge(model, audio, motion, alpha=1e-6)
    sim = model.embed_audio(audio) @ model.embed_motion(motion).t()
    assert (sim.argmax(dim=1) == torch.arange(200)).float().mean() > 0.95


def test_encoders_shapes_and_normalisation():
    batch = {
        "audio/logmel": torch.randn(3, 40, 96),
        "audio/mfcc": torch.randn(3, 40, 20),
        "audio/onset_env": torch.randn(3, 40),
        "audio/beats": torch.zeros(3, 40, dtype=torch.uint8),
        "motion/joints": torch.randn(3, 40, 17, 3),
        "motion/velocity": torch.randn(3, 40, 17, 3),
    }
    a = frame_features(batch, ("audio/logmel", "audio/mfcc", "audio/onset_env", "audio/beats"))
    m = frame_features(batch, ("motion/joints", "motion/velocity"))
    assert a.shape == (3, 40, 118) and m.shape == (3, 40, 102)
    assert pool(a, "mean_std").shape == (3, 236)
    cfgs = {
        "clip": {"pooling": "mean", "hidden": 16, "embed_dim": 8, "dropout": 0.0, "temperature_init": 0.07},
        "temporal": {
            "channels": 8,
            "layers": 2,
            "kernel_size": 3,
            "embed_dim": 8,
            "dropout": 0.0,
            "temperature_init": 0.07,
        },
    }
    for name, cfg in cfgs.items():
        model = build_model(
            name, cfg, audio_dim=118, motion_dim=102, audio_stats=feature_stats(a), motion_stats=feature_stats(m)
        )
        ea, em = model.embed_audio(a), model.embed_motion(m)
        assert ea.shape == em.shape == (3, 8)
        np.testing.assert_allclose(ea.norm(dim=1).detach().numpy(), 1.0, rtol=1e-5)
        loss = model.head.loss(ea, em)
        loss.backward()
        assert model.head.log_inv_temp.grad is not None


@pytest.mark.slow
def test_every_learned_model_trains_once_per_seed_and_the_summary_gathers_them(trained):
    p = Paths(trained)
    seeds = trained["evaluate"]["seeds"]
    for name in ("clip", "temporal"):
        ckpts = [load_checkpoint(p.model_files(name, f"seed{k}")["checkpoint"]) for k in range(seeds)]
        assert [c["params"]["seed"] for c in ckpts] == [trained["seed"] + k for k in range(seeds)]
        assert any(
            not torch.equal(ckpts[0]["state_dict"][k], ckpts[1]["state_dict"][k]) for k in ckpts[0]["state_dict"]
        )
        head = json.loads(p.headline(name).read_text())
        runs = [json.loads(p.model_files(name, f"seed{k}")["evaluation"].read_text()) for k in range(seeds)]
        values = [r["retrieval"]["windows"]["music_to_motion"]["piece"]["model"]["R@1"] for r in runs]
        assert head["runs"] == [f"seed{k}" for k in range(seeds)] and head["piece_R@1"]["values"] == values
        assert head["piece_R@1"]["mean"] == pytest.approx(np.mean(values))
        assert head["piece_R@1"]["std"] == pytest.approx(np.std(values, ddof=1))
        lo, hi = head["piece_R@1"]["ci95"]
        assert 0 <= lo <= values[0] <= hi <= 1
    assert json.loads(p.headline("linear").read_text())["runs"] == ["seed0"]  # closed form: one run
    margins = json.loads((p.results / "comparison.json").read_text())["margins"]
    assert {(m["model"], m["baseline"]) for m in margins} >= {("clip", "linear"), ("temporal", "linear")}
    for m in margins:
        lo, hi = m["ci95"]
        assert lo <= hi and m["excludes_zero"] == (lo > 0 or hi < 0)
    for name in ("linear", "clip", "temporal", "mclemcd"):  # what DVC shows: a few numbers per model
        shown = json.loads(p.metrics_file(name).read_text())
        assert len(shown) <= 8 and all(isinstance(v, (int, float)) for v in shown.values()), shown
    assert json.loads(p.metrics_file("clip").read_text())["piece_R@1"] == pytest.approx(
        json.loads(p.headline("clip").read_text())["piece_R@1"]["mean"], abs=1e-4
    )
    mc = json.loads(p.headline("mclemcd").read_text())
    assert mc["seeds"] == seeds and len(mc["window_accuracy"]["values"]) == seeds
    md = (p.results / "report.md").read_text()
    assert "## Margins with intervals" in md and " ± " in md


@pytest.mark.slow
def test_results_page_is_written_from_the_pipelines_json(trained):
    from pipelines.tools.numbers import render

    text = render(trained)
    head = json.loads(Paths(trained).headline("temporal").read_text())
    assert "## `synthetic`" in text and "| temporal | 2 |" in text
    assert f"{100 * head['piece_R@1']['mean']:.1f} ± {100 * head['piece_R@1']['std']:.1f}" in text
    assert "Margins" in text and "MCLEMCD" in text
