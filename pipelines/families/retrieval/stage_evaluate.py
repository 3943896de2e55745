"""Stage ``evaluate_<model>``: the evaluation protocol every model is scored by.

``python -m pipelines.families.retrieval.stage_evaluate --params params.yaml --model {linear,clip,temporal} --seed-index K``

Scores training run K (stage ``evaluate_<model>_seed<K>``); stage ``summarize`` gathers the runs.

Retrieval, both ways (music→motion and motion→music), over two explicitly defined
galleries built from the **test** split's ``train.window_frames``-frame windows:

- ``windows``: every test window is a query and a gallery item;
- ``sequences``: a sequence's embedding is the mean of its windows' embeddings.

Each is scored at three relevance levels: ``exact`` (the query's own pair), ``piece``
(any item with the same music piece) and ``genre`` (same genre). Metrics are R@K, median
rank of the first relevant item and mAP, with ties counted against the model; every number
is stored beside its chance level (the same metric on random scores, mean of
``evaluate.chance_draws`` seeded draws). When many dancers share a piece, exact-pair
retrieval is capped: several gallery items carry the very same music.

Genre linear probe: a logistic regression on frozen training-split embeddings, scored on
the test windows and per test sequence by majority vote (:func:`pipelines.evaluation.classification.vote`), for the motion and the audio
embeddings; chance is the majority-class rate.

Rhythm (:mod:`pipelines.evaluation.rhythm`, the protocol MotionBeat is scored by too): phase
discrimination (the true motion against the same dance moved along the beat grid, and another
dance at the same tempo; the moved windows come from the motion feature files), the
beat-tracking probe on the music encoder's per-step states (the temporal model; the pooled
models have none) and the BeatAlign of the top-ranked motion.

Outputs ``results/<dataset>/evaluation/<model>/seed<K>.json`` (every number),
``results/<dataset>/evaluation/<model>/seed<K>.npz`` (for the report: the test windows' ``audio`` and
``motion`` embeddings, their ``similarity`` matrix, the exact-pair ``recall`` curve and its
``recall_chance``, and each window's ``genre``, ``piece`` and ``sequence``, ``id``) and ``results/<dataset>/plots/recall_<model>_seed<K>.csv`` (a DVC plot).
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from ...cli import run_stage
from ...config import Paths, run_name
from ...datasets import motion_fps
from ...evaluation.runs import probe_sample, rhythm_scores, score_run
from ...features.beat_windows import Features, frame_shift, frame_windows, probe_reference, token_set
from ...training.checkpoint import load_checkpoint
from .model import embed, model_from_checkpoint, run_windows
from .names import RETRIEVAL_MODELS

log = logging.getLogger(__name__)


@torch.no_grad()
def _motion_embeddings(model, motion: torch.Tensor, batch_size: int = 256) -> np.ndarray:
    return torch.cat(
        [model.embed_motion(motion[s : s + batch_size]) for s in range(0, motion.shape[0], batch_size)]
    ).numpy()


@torch.no_grad()
def _steps(model, audio: torch.Tensor, windows: np.ndarray, batch_size: int = 128) -> list[np.ndarray]:
    out = []
    for s in range(0, len(windows), batch_size):
        out += list(model.audio_steps(audio[torch.as_tensor(windows[s : s + batch_size])]).numpy())
    return out


def frame_model_rhythm(params: dict, model, *, train: dict, test: dict, a_test: np.ndarray, m_test: np.ndarray) -> dict:
    """Rhythm metrics (:func:`pipelines.evaluation.runs.rhythm_scores`) of a model over frame windows:
    moved motion is read from the feature files; the probe uses the temporal model's conv steps."""
    fps = motion_fps(params)
    features = Features(params)
    grid = token_set(params, test["meta"], features=features)  # the beat grid of every test window

    def moved_motion(shift_tokens: int) -> tuple[np.ndarray, np.ndarray]:
        delta, ok = frame_shift(grid, shift_tokens)
        moved = frame_windows(params, test["meta"], delta=delta, features=features)
        return _motion_embeddings(model, moved["motion"]), ok & moved["ok"]

    probe = None
    if hasattr(model, "audio_steps"):
        pick = probe_sample(len(train["meta"]), seed=params["seed"])
        train_states = _steps(model, train["audio"], pick)
        n_steps = train_states[0].shape[0]

        def targets(ref: np.ndarray) -> np.ndarray:
            t = np.zeros(n_steps)
            t[np.clip((ref * fps // 2).astype(int), 0, n_steps - 1)] = 1
            return t

        train_ref = probe_reference(params, [train["meta"][i] for i in pick], features=features)
        probe = {
            "train_states": train_states,
            "train_targets": [targets(r) for r in train_ref],
            "test_states": _steps(model, test["audio"], np.arange(len(test["meta"]))),
            "test_positions": [(2 * np.arange(n_steps) + 0.5) / fps] * len(test["meta"]),  # a step covers two frames
        }
    return rhythm_scores(
        params,
        a_test=a_test,
        m_test=m_test,
        grid=grid,
        metas=test["meta"],
        moved_motion=moved_motion,
        features=features,
        probe=probe,
    )


def evaluate_model(params: dict, model_name: str, *, seed_index: int = 0, fold: int | None = None) -> dict:
    """Score one run of ``model_name`` on its test windows (the test split, or fold ``fold``)."""
    paths = Paths(params)
    run = {"name": run_name(seed_index=seed_index, fold=fold), "seed_index": seed_index, "fold": fold}
    out = paths.model_files(model_name, run["name"])
    ckpt = load_checkpoint(out["checkpoint"], missing_hint=f"run stage train_{model_name}_{run['name']} first")
    model = model_from_checkpoint(ckpt)
    windows = run_windows(params, fold=fold, roles=("train", "test"))
    train, test = windows["train"], windows["test"]
    device = torch.device("cpu")
    a_test, m_test = (t.numpy() for t in embed(model, test["audio"], test["motion"], device=device))
    a_train, m_train = (t.numpy() for t in embed(model, train["audio"], train["motion"], device=device))
    rhythm = frame_model_rhythm(params, model, train=train, test=test, a_test=a_test, m_test=m_test)
    return score_run(
        params,
        model_name=model_name,
        run=run,
        ckpt=ckpt,
        out=out,
        test=(a_test, m_test, test["meta"]),
        train=(a_train, m_train, train["meta"]),
        rhythm=rhythm,
    )


if __name__ == "__main__":
    raise SystemExit(
        run_stage(evaluate_model, __doc__.splitlines()[0], models=RETRIEVAL_MODELS, seeded=True, folded=True)
    )
