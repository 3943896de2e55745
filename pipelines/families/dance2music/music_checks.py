"""Generated music (dance to music) scored by the trained retrieval model: the cross-modal check and
the genre probe.

A query is a piece of audio made for a dance: ``audio`` (mono float32), ``sr`` (Hz), the
``sequence`` of the index it accompanies, ``pose_start`` (the motion frame where the audio's
sample 0 falls) and ``genre`` (the dance's). The retrieval model (stage ``train_temporal``'s
checkpoint) reads both as it reads a shard window of ``train.window_frames`` frames:

- music: :func:`audio_inputs`, the shards' per-frame features (``AUDIO_INPUTS`` of
  :mod:`pipelines.families.retrieval.model`) from :func:`pipelines.features.audio.extract_audio_features`
  at ``sr = motion_fps * hop_length``, so that analysis frame ``i`` (centred at ``i / fps`` s)
  pairs with motion frame ``pose_start + i``;
- motion: :func:`motion_inputs`, the window's joints and velocities from the motion feature
  files (:func:`pipelines.features.beat_windows.frame_windows`, what evaluation moves windows with).

One difference from the shards stays: a shard window's music frames are cut from features of
the whole music file, a query's are computed on its own audio. Frames near the audio's start
(the spectrogram's centre padding, the onset envelope's lag) and the estimated ``audio/beats``
(the beat tracker sees only the query's seconds) can differ from the real window's, even for
the real music cut at the same place; at ``pose_start`` 0 with the whole file they are the same.

:func:`crossmodal_check` ranks every query's music against the motion of every query's window
(music → motion, cosine similarity, ties against the model: :mod:`pipelines.evaluation.retrieval`);
:func:`genre_check` fits the evaluation's genre probe
(:func:`pipelines.evaluation.classification.genre_probe`) on the training windows' music
embeddings and predicts each query's genre.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from ...config import Paths
from ...datasets import motion_fps
from ...evaluation.classification import genre_probe, majority_class
from ...evaluation.retrieval import chance_retrieval_metrics, per_query_metrics, relevance, retrieval_metrics
from ...features.audio import audio_feature_kwargs, extract_audio_features
from ...features.beat_windows import Features, frame_windows
from ...files import read_csv
from ...training.checkpoint import load_checkpoint
from ..retrieval.model import AUDIO_INPUTS, embed, frame_features, load_windows, model_from_checkpoint

KS = (1, 5)
CPU = torch.device("cpu")


def audio_inputs(params: dict, *, audio: np.ndarray, sr: int, frames: int) -> torch.Tensor:
    """The retrieval model's per-frame music inputs of a waveform, as the shards hold them.

    Parameters
    ----------
    params : dict
    audio : np.ndarray, shape (n_samples,)
        Mono samples in [-1, 1]; sample 0 is at motion frame 0 of the window.
    sr : int
        Sample rate of ``audio``, Hz (resampled to ``motion_fps * hop_length``).
    frames : int
        Window length, motion frames (``train.window_frames``).

    Returns
    -------
    torch.Tensor, shape (frames, Da), float32
        ``audio/logmel`` (dB), ``audio/mfcc``, ``audio/onset_env`` and ``audio/beats`` (0/1)
        concatenated (``AUDIO_INPUTS``), one row per motion frame; frame ``i`` is centred at
        ``i / motion_fps`` s.

    Raises
    ------
    ValueError
        When ``audio`` is not 1-D or gives fewer than ``frames`` frames (it must last at least
        ``(frames - 1) / motion_fps`` s: the last frame is centred there, as in the shards).
    """
    y = np.asarray(audio, dtype=np.float32)
    if y.ndim != 1:
        raise ValueError(f"audio must be mono (n_samples,), got shape {y.shape}")
    kwargs = audio_feature_kwargs(params)
    have = 1 + int(np.ceil(y.size * kwargs["sr"] / sr)) // kwargs["hop_length"]  # librosa's centred frames
    if y.size == 0 or have < frames:
        raise ValueError(
            f"audio of {y.size / sr:.3f} s gives {have if y.size else 0} frames at {motion_fps(params)} fps; "
            f"the window needs {frames} ({(frames - 1) / motion_fps(params):.3f} s)"
        )
    feats = extract_audio_features(y, sr_in=int(sr), **kwargs)
    if feats["onset_env"].shape[0] < frames:
        raise ValueError(f"audio gives {feats['onset_env'].shape[0]} frames; the window needs {frames}")
    batch = {name: torch.from_numpy(feats[name.split("/", 1)[1]][None, :frames]) for name in AUDIO_INPUTS}
    return frame_features(batch, AUDIO_INPUTS)[0]


def motion_inputs(params: dict, *, queries: list[dict]) -> torch.Tensor:
    """The retrieval model's motion inputs of each query's window: ``train.window_frames`` frames of
    its ``sequence`` from ``pose_start``, shape (Q, W, Dm) (joints then velocities, as the shards).

    Raises
    ------
    ValueError
        For a sequence not in ``index/sequences.csv``, or a window that leaves its sequence's motion.
    """
    rows = {r["sequence"]: r for r in read_csv(Paths(params).index / "sequences.csv")}
    fps, metas = motion_fps(params), []
    for q in queries:
        if q["sequence"] not in rows:
            raise ValueError(f"sequence {q['sequence']!r} is not in the index")
        row, start = rows[q["sequence"]], int(q["pose_start"])
        offset = int(round(float(row["audio_offset_s"]) * fps))  # the windows stage's rule
        metas.append(
            {
                "sequence": row["sequence"],
                "piece": row["piece"],
                "start_frame": start,
                "audio_start_frame": start + offset,
            }
        )
    windows = frame_windows(params, metas, features=Features(params))
    if not windows["ok"].all():
        bad = [f"{m['sequence']}@{m['start_frame']}" for m, ok in zip(metas, windows["ok"]) if not ok]
        raise ValueError(f"{len(bad)} window(s) leave their sequence's motion: {', '.join(bad[:5])}")
    return windows["motion"].float()


def _load_model(params: dict, checkpoint: Path) -> nn.Module:
    """The retrieval model of ``checkpoint`` (eval mode), checked to read windows of ``train.window_frames``."""
    ckpt = load_checkpoint(Path(checkpoint), missing_hint="run stage train_temporal first")
    trained_on, frames = ckpt["params"]["train"]["window_frames"], params["train"]["window_frames"]
    if trained_on != frames:
        raise ValueError(f"{checkpoint}: trained on {trained_on}-frame windows, params say {frames}")
    return model_from_checkpoint(ckpt)


def _music_inputs(params: dict, queries: list[dict]) -> torch.Tensor:
    """:func:`audio_inputs` of every query, shape (Q, W, Da)."""
    frames = params["train"]["window_frames"]
    return torch.stack([audio_inputs(params, audio=q["audio"], sr=q["sr"], frames=frames) for q in queries])


@torch.no_grad()
def _music_embeddings(model: nn.Module, audio: torch.Tensor, batch_size: int = 256) -> np.ndarray:
    """l2-normalised music embeddings (N, E) of music inputs (N, W, Da), in eval mode (as :func:`embed`)."""
    model.eval()
    return torch.cat([model.embed_audio(audio[s : s + batch_size]) for s in range(0, len(audio), batch_size)]).numpy()


def music_inputs(params: dict, *, queries: list[dict]) -> torch.Tensor:
    """:func:`audio_inputs` of every query, shape (Q, W, Da): compute once, pass to both checks."""
    return _music_inputs(params, queries)


def crossmodal_check(params: dict, *, checkpoint: Path, queries: list[dict], music: torch.Tensor | None = None) -> dict:
    """Music → motion retrieval of generated music among the queries' own motion windows.

    Every query's music embedding is scored (cosine) against the motion embedding of every query's
    window, ranks counting ties against the model (:func:`pipelines.evaluation.retrieval.pessimistic_ranks`).

    Parameters
    ----------
    params : dict
    checkpoint : Path
        A retrieval model's checkpoint (stage ``train_temporal``: ``Paths(params).model_files("temporal")``).
    queries : list of dict
        ``audio`` (n_samples,) float32, ``sr`` (Hz), ``sequence``, ``pose_start`` (motion frame of
        the audio's sample 0) and ``genre`` (module docstring).
    music : torch.Tensor, optional
        The queries' :func:`music_inputs`, when already computed.

    Returns
    -------
    dict
        ``n_queries``; per level, ``exact`` (relevant: the query's own window, every gallery item
        with the same sequence and ``pose_start``) and ``sequence`` (any window of its sequence):
        ``model`` and ``chance`` (random scores, ``evaluate.chance_draws`` draws) each with
        ``R@1``, ``R@5``, ``median_rank`` and ``mAP``, and ``relevant_per_query``;
        ``exact_ranks`` and ``sequence_ranks``: each query's best rank of a relevant item
        (lists of Q ints, in query order, for paired bootstraps).
    """
    model = _load_model(params, checkpoint)
    audio = _music_inputs(params, queries) if music is None else music
    motion = motion_inputs(params, queries=queries)
    a, m = (t.numpy() for t in embed(model, audio, motion, device=CPU))
    scores = a @ m.T  # music queries (rows) x motion gallery (columns)
    meta = [{"id": f"{q['sequence']}@{int(q['pose_start'])}", "sequence": q["sequence"]} for q in queries]
    ecfg = params["evaluate"]
    out: dict = {"n_queries": len(queries)}
    for level, key in (("exact", "id"), ("sequence", "sequence")):
        rel = relevance(meta, meta, key=key)
        out[level] = {
            "model": retrieval_metrics(scores, rel, ks=KS),
            "chance": chance_retrieval_metrics(rel, ks=KS, draws=ecfg["chance_draws"], seed=params["seed"]),
            "relevant_per_query": float(rel.sum(axis=1).mean()),
        }
        out[f"{level}_ranks"] = [int(r) for r in per_query_metrics(scores, rel, ks=KS)["rank"]]
    return out


def _probe_predictions(train_emb: np.ndarray, train_genre: list[str], emb: np.ndarray, *, seed: int) -> list[str]:
    """Each row of ``emb``'s genre as predicted by :func:`genre_probe` fitted on the training embeddings.

    ``genre_probe`` returns counts, not predictions: given every query as its own true class, row
    ``query i`` of its confusion matrix holds one 1, in the column of the genre it predicts.
    """
    names = [f"query:{i:07d}" for i in range(len(emb))]  # never a genre name
    probe = genre_probe(train_emb, train_genre, emb, [{"genre": n, "sequence": n} for n in names], seed=seed)
    confusion, labels = np.asarray(probe["confusion"]), probe["labels"]
    return [labels[int(np.argmax(confusion[labels.index(n)]))] for n in names]


def genre_check(
    params: dict, *, checkpoint: Path, queries: list[dict], seed: int, music: torch.Tensor | None = None
) -> dict:
    """The genre of generated music by the evaluation's linear probe on the model's music embeddings.

    The probe (:func:`pipelines.evaluation.classification.genre_probe`) is fitted on the music
    embeddings of the training split's windows (the ``w<train.window_frames>_train.h5`` shard's
    stored inputs, as stage ``evaluate`` does) and their genres, then predicts each query.

    Parameters
    ----------
    params : dict
    checkpoint : Path
        A retrieval model's checkpoint (see :func:`crossmodal_check`).
    queries : list of dict
        As :func:`crossmodal_check`; ``genre`` is the dance's genre, the truth.
    seed : int
        The probe's random state.
    music : torch.Tensor, optional
        The queries' :func:`music_inputs`, when already computed.

    Returns
    -------
    dict
        ``accuracy`` (share of queries predicted as their dance's genre), ``chance`` (the share
        whose genre is the training windows' majority class, ``majority_class``), ``n_queries``,
        ``train_windows``, and per query (query order) ``predicted`` genres and ``correct`` (0/1 ints).
    """
    model = _load_model(params, checkpoint)
    train = load_windows(Paths(params).shard_file(params["train"]["window_frames"], "train"))
    train_genre = [m["genre"] for m in train["meta"]]
    a_train = _music_embeddings(model, train["audio"])
    a = _music_embeddings(model, _music_inputs(params, queries) if music is None else music)
    predicted = _probe_predictions(a_train, train_genre, a, seed=seed)
    truth = [q["genre"] for q in queries]
    correct = [int(p == t) for p, t in zip(predicted, truth)]
    majority = majority_class(train_genre)
    return {
        "accuracy": float(np.mean(correct)),
        "chance": float(np.mean([t == majority for t in truth])),
        "majority_class": majority,
        "n_queries": len(queries),
        "train_windows": len(train_genre),
        "predicted": predicted,
        "correct": correct,
    }
