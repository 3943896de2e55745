"""Stage ``evaluate_motionbeat_<run>``: score one MotionBeat run by the retrieval models' protocol.

``python -m pipelines.families.motionbeat.stage_evaluate --params params.yaml --seed-index K [--fold F] [--variant V]``

The same test windows, galleries, relevance levels, chance levels, genre probe and files as
:mod:`pipelines.families.retrieval.stage_evaluate` (through :func:`pipelines.evaluation.runs.score_run`), and the
same rhythm protocol (:mod:`pipelines.evaluation.rhythm`): phase discrimination with the motion
tokens moved along the beat grid (the music and its bar phases kept), the beat-tracking probe on
the music encoder's per-token states, and the BeatAlign of the top-ranked motion.

For the main model (not the ablations) the beat probe is also fitted on the music tokens the
encoder reads (pooled log-mel, onset mean and peak; ``rhythm.beat_probe_input``) and on those
tokens plus their bar phase as sines and cosines of 1–16 cycles a bar
(``rhythm.beat_probe_input_phase``): what the tokenization alone gives a linear probe, so the
encoder's row can be read against it.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from ...cli import run_stage
from ...config import Paths, run_name
from ...datasets import motion_fps
from ...evaluation.rhythm import beat_probe
from ...evaluation.runs import probe_sample, rhythm_scores, score_run
from ...family import MAIN, resolve_variant
from ...family import model_name as family_model_name
from ...features.beat_windows import Features, probe_reference, role_metas, token_set
from ...training.checkpoint import load_checkpoint
from .model import motionbeat_from_checkpoint
from .training import embed_tokens

log = logging.getLogger(__name__)


@torch.no_grad()
def _shifted_motion(model, tokens, shift: int, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    n = len(tokens.meta)
    ok = tokens.shift_ok(np.arange(n), np.full(n, shift))
    out = []
    for s in range(0, n, batch_size):
        idx = np.arange(s, min(s + batch_size, n))
        batch = tokens.gather(idx, shift=np.where(ok[idx], shift, 0), length=int(tokens.win_len[idx].max()))
        out.append(model.embed_motion(batch).numpy())
    return np.concatenate(out), ok


def _per_window(tokens, values: np.ndarray) -> list[np.ndarray]:
    return [values[s : s + n] for s, n in zip(tokens.win_start, tokens.win_len)]


def input_token_states(tokens, *, with_phase: bool, harmonics: int = 16) -> list[np.ndarray]:
    """Per window, the music tokens the encoder reads (n_tokens, n_mels + 2); ``with_phase`` appends
    cos and sin of 2πk·(bar phase) for k = 1 … ``harmonics``."""
    x = tokens.tokens["audio"].numpy()
    if with_phase:
        angle = 2 * np.pi * tokens.tokens["phase"].numpy()[:, None] * np.arange(1, harmonics + 1)
        x = np.concatenate([x, np.cos(angle), np.sin(angle)], axis=1)
    return _per_window(tokens, x)


def evaluate(params: dict, *, seed_index: int = 0, fold: int | None = None, variant: str = MAIN) -> dict:
    """Score one MotionBeat run on its test windows (the test split, or fold ``fold``)."""
    params = resolve_variant(params, "motionbeat", variant)
    model_name = family_model_name("motionbeat", variant)
    paths = Paths(params)
    run = {"name": run_name(seed_index=seed_index, fold=fold), "seed_index": seed_index, "fold": fold}
    out = paths.model_files(model_name, run["name"])
    ckpt = load_checkpoint(out["checkpoint"], missing_hint=f"run stage train_{model_name}_{run['name']} first")
    model = motionbeat_from_checkpoint(ckpt)
    device = torch.device("cpu")
    metas = role_metas(params, fold=fold, roles=("train", "test"))
    features = Features(params)
    train_tok = token_set(params, metas["train"], features=features)
    test_tok = token_set(params, metas["test"], features=features)
    a_test, m_test, test_states = embed_tokens(model, test_tok, device=device, states=True)
    a_train, m_train, train_states = embed_tokens(model, train_tok, device=device, states=True)
    a_test, m_test, a_train, m_train = (x.numpy() for x in (a_test, m_test, a_train, m_train))
    fps = motion_fps(params)
    pick = probe_sample(len(metas["train"]), seed=params["seed"])
    beat_frame = train_tok.tokens["beat_frame"].numpy()
    centre = (test_tok.frames["frame"] + test_tok.frames["frame_end"]) / 2  # a beat predicted in a token: its centre
    targets = _per_window(train_tok, beat_frame)
    probe = {
        "train_states": [train_states[i] for i in pick],
        "train_targets": [targets[i] for i in pick],
        "test_states": test_states,
        "test_positions": [
            (c - int(m["start_frame"])) / fps for c, m in zip(_per_window(test_tok, centre), metas["test"])
        ],
    }
    rhythm = rhythm_scores(
        params,
        a_test=a_test,
        m_test=m_test,
        grid=test_tok,
        metas=metas["test"],
        moved_motion=lambda shift: _shifted_motion(model, test_tok, shift),
        features=features,
        probe=probe,
    )
    rhythm["beats"] = ckpt["beats"]
    if variant == MAIN:
        reference = probe_reference(params, metas["test"], features=features)
        for key, with_phase in (("beat_probe_input", False), ("beat_probe_input_phase", True)):
            train_in = input_token_states(train_tok, with_phase=with_phase)
            rhythm[key] = beat_probe(
                **{
                    **probe,
                    "train_states": [train_in[i] for i in pick],
                    "test_states": input_token_states(test_tok, with_phase=with_phase),
                },
                test_reference=reference,
                seed=params["seed"],
            )
            log.info(
                "beat probe on the input tokens%s: F %.3f",
                " + bar phase" if with_phase else "",
                rhythm[key]["f_measure"],
            )
    return score_run(
        params,
        model_name=model_name,
        run=run,
        ckpt=ckpt,
        out=out,
        test=(a_test, m_test, metas["test"]),
        train=(a_train, m_train, metas["train"]),
        rhythm=rhythm,
    )


if __name__ == "__main__":
    raise SystemExit(run_stage(evaluate, __doc__.splitlines()[0], seeded=True, folded=True, varianted=True))
