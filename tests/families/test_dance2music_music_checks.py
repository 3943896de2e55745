"""Generated music scored by the retrieval model: the music inputs are the shards' (same features, same
frame alignment), the cross-modal check ranks as evaluation does, the genre check predicts as the probe."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from pipelines.config import Paths
from pipelines.data.audio_io import read_audio_mono
from pipelines.datasets import audio_sample_rate, motion_fps
from pipelines.evaluation.retrieval import pessimistic_ranks
from pipelines.families.dance2music.music_checks import (
    audio_inputs,
    crossmodal_check,
    genre_check,
    motion_inputs,
)
from pipelines.families.retrieval.model import (
    AUDIO_INPUTS,
    MOTION_INPUTS,
    build_model,
    embed,
    feature_stats,
    load_windows,
    model_from_checkpoint,
)
from pipelines.files import read_csv
from pipelines.training.checkpoint import load_checkpoint, save_checkpoint

from ..helpers import make_params, run_all


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny synthetic dataset's data stages and a randomly initialised temporal model, saved as
    stage ``train_temporal`` saves it (training statistics in its standardisers)."""
    params = make_params(tmp_path_factory.mktemp("generated_music"))
    run_all(params)
    paths, W = Paths(params), params["train"]["window_frames"]
    train = load_windows(paths.shard_file(W, "train"))
    torch.manual_seed(0)
    dims = {"audio_dim": train["audio"].shape[-1], "motion_dim": train["motion"].shape[-1]}
    model = build_model(
        "temporal",
        params["temporal"],
        **dims,
        audio_stats=feature_stats(train["audio"]),
        motion_stats=feature_stats(train["motion"]),
    )
    checkpoint = save_checkpoint(
        paths.model_files("temporal")["checkpoint"].parent.joinpath("random.pt"),
        state_dict=model.state_dict(),
        model="temporal",
        params={
            "temporal": params["temporal"],
            "train": params["train"],
            "seed": params["seed"],
            "dataset": "synthetic",
        },
        dims=dims,
        inputs={"audio": list(AUDIO_INPUTS), "motion": list(MOTION_INPUTS)},
    )
    return params, checkpoint, load_windows(paths.shard_file(W, "test"))


def music_from(params: dict, meta: dict) -> tuple[np.ndarray, int]:
    """A window's real music: its sequence's music file from the window's motion frame on."""
    row = {r["sequence"]: r for r in read_csv(Paths(params).index / "sequences.csv")}[meta["sequence"]]
    y, sr = read_audio_mono(row["audio_path"], min_sample_rate=16000, min_seconds=1.0)
    start_s = float(row["audio_offset_s"]) + meta["start_frame"] / motion_fps(params)
    return y[int(round(start_s * sr)) :], sr


def query(params: dict, meta: dict) -> dict:
    y, sr = music_from(params, meta)
    return {
        "audio": y,
        "sr": sr,
        "sequence": meta["sequence"],
        "pose_start": meta["start_frame"],
        "genre": meta["genre"],
    }


@pytest.mark.slow
def test_audio_inputs_are_the_shards(tiny):
    params, _, test = tiny
    W = params["train"]["window_frames"]
    first = [i for i, m in enumerate(test["meta"]) if m["start_frame"] == 0]
    assert len(first) >= 3
    for i in first:  # the whole music file from the sequence's start: every frame as in the shard
        y, sr = music_from(params, test["meta"][i])
        x = audio_inputs(params, audio=y, sr=sr, frames=W)
        assert x.shape == test["audio"][i].shape and x.dtype == torch.float32
        torch.testing.assert_close(x, test["audio"][i], atol=1e-3, rtol=1e-5)
    # a later window (a whole number of samples in): the same spectra frame for frame, past the
    # first two (the spectrogram's centre padding sees silence before the cut, the shard the music)
    i = next(i for i, m in enumerate(test["meta"]) if m["start_frame"] == 114)
    y, sr = music_from(params, test["meta"][i])
    x, shard = audio_inputs(params, audio=y, sr=sr, frames=W)[:, :96], test["audio"][i][:, :96]
    assert (x[2:] - shard[2:]).abs().max() < 0.25  # dB
    assert (x[3:] - shard[2:-1]).abs().max() > 2.0  # one frame off would show


@pytest.mark.slow
def test_motion_inputs_are_the_shards(tiny):
    params, _, test = tiny
    queries = [{"sequence": m["sequence"], "pose_start": m["start_frame"]} for m in test["meta"]]
    assert torch.equal(motion_inputs(params, queries=queries), test["motion"])
    with pytest.raises(ValueError, match="leave"):
        motion_inputs(params, queries=[{"sequence": test["meta"][-1]["sequence"], "pose_start": 10_000}])


@pytest.mark.slow
def test_crossmodal_check_ranks_as_the_shard_windows(tiny):
    params, checkpoint, test = tiny
    first = [i for i, m in enumerate(test["meta"]) if m["start_frame"] == 0]
    result = crossmodal_check(params, checkpoint=checkpoint, queries=[query(params, test["meta"][i]) for i in first])
    model = model_from_checkpoint(load_checkpoint(checkpoint))
    a, m = (t.numpy() for t in embed(model, test["audio"][first], test["motion"][first], device=torch.device("cpu")))
    ranks = pessimistic_ranks(a @ m.T)
    n = len(first)
    assert result["n_queries"] == n
    assert result["exact_ranks"] == [int(ranks[q, q]) for q in range(n)]  # one window per sequence here
    assert result["sequence_ranks"] == result["exact_ranks"]
    assert result["exact"]["model"]["R@1"] == np.mean(np.diag(ranks) == 1)
    assert result["exact"]["model"]["median_rank"] == np.median(np.diag(ranks))
    assert abs(result["exact"]["chance"]["R@1"] - 1 / n) < 0.15 and result["exact"]["relevant_per_query"] == 1


@pytest.mark.slow
def test_genre_check_predicts_as_the_probe(tiny):
    params, checkpoint, test = tiny
    picks = [i for i, m in enumerate(test["meta"]) if m["start_frame"] in (0, 114)]
    queries = [query(params, test["meta"][i]) for i in picks]
    result = genre_check(params, checkpoint=checkpoint, queries=queries, seed=3)
    model = model_from_checkpoint(load_checkpoint(checkpoint))
    train = load_windows(Paths(params).shard_file(params["train"]["window_frames"], "train"))
    cpu = torch.device("cpu")
    a_train = embed(model, train["audio"], train["motion"], device=cpu)[0].numpy()
    genres = [m["genre"] for m in train["meta"]]
    W = params["train"]["window_frames"]
    music = torch.stack([audio_inputs(params, audio=q["audio"], sr=q["sr"], frames=W) for q in queries])
    a = embed(model, music, test["motion"][picks], device=cpu)[0].numpy()
    expected = LogisticRegression(max_iter=2000, C=1.0, random_state=3).fit(a_train, genres).predict(a)
    truth = [test["meta"][i]["genre"] for i in picks]
    assert result["predicted"] == list(expected)
    assert result["correct"] == [int(p == t) for p, t in zip(expected, truth)]
    assert result["accuracy"] == np.mean(result["correct"]) and result["n_queries"] == len(picks)
    assert result["train_windows"] == len(genres)
    assert result["chance"] == np.mean([t == result["majority_class"] for t in truth])


def test_too_short_audio_is_refused(tmp_path):
    params = make_params(tmp_path)
    W, hop, sr = params["train"]["window_frames"], params["audio"]["hop_length"], audio_sample_rate(params)
    y = np.random.default_rng(0).standard_normal((W - 1) * hop).astype(np.float32) * 0.1
    assert audio_inputs(params, audio=y, sr=sr, frames=W).shape[0] == W  # the last frame centred on the end
    with pytest.raises(ValueError, match="needs"):
        audio_inputs(params, audio=y[:-1], sr=sr, frames=W)
    with pytest.raises(ValueError, match="needs"):
        audio_inputs(params, audio=np.zeros(0, np.float32), sr=sr, frames=W)
    with pytest.raises(ValueError, match="mono"):
        audio_inputs(params, audio=np.stack([y, y]), sr=sr, frames=W)
