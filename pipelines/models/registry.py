"""Model names and the MCLEMCD ablation grid, without importing torch.

The DAG (:mod:`pipelines.dag`), Snakemake's rules and the report read model names from here,
so parsing the workflow never loads a deep-learning framework.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

#: The retrieval models, one ``train_<model>`` and ``evaluate_<model>`` stage each.
RETRIEVAL_MODELS = ("linear", "clip", "temporal")
#: Retrieval models trained by gradient descent (they write dvclive curves).
LEARNED = ("clip", "temporal")
#: Models whose training uses no randomness: one run stands for every seed.
DETERMINISTIC = ("linear",)

#: MCLEMCD motion inputs and regularisers (the paper's ablation axes).
MCLEMCD_INPUTS = ("joints", "limbs", "late", "early")
MCLEMCD_REGULARISERS = ("plain", "dropout", "fc")


@dataclass(frozen=True)
class Variant:
    """One cell of MCLEMCD's ablation table."""

    collaborative: bool
    regulariser: str
    input: str

    @property
    def name(self) -> str:
        return f"{'cl' if self.collaborative else 'nocl'}_{self.regulariser}_{self.input}"


def ablation_variants(grid: dict) -> list[Variant]:
    """The variants of ``mclemcd.ablation``; ``fc`` without collaborative learning is skipped
    (the mapping network has no loss to train it, so it equals ``plain``)."""
    out = []
    for cl, reg, inp in itertools.product(grid["collaborative"], grid["regulariser"], grid["input"]):
        if reg == "fc" and not cl:
            continue
        out.append(Variant(bool(cl), reg, inp))
    return out


#: MotionBeat, the music encoder learned from dance (stages ``train_motionbeat_*``, ``evaluate_motionbeat_*``).
MOTIONBEAT = "motionbeat"
#: MotionBeat's ablations: variant -> overrides of the ``motionbeat`` params (dotted keys). ``full``
#: is the model itself; ``infonce`` is plain symmetric InfoNCE on the same encoder (no extra
#: negatives, no rhythm alignment loss).
MOTIONBEAT_ABLATIONS = {
    "full": {},
    "no_tempo_negatives": {"tempo_negatives.weight": 0.0},
    "no_jitter_negatives": {"jitter_negatives.weight": 0.0},
    "no_sral_beat": {"sral.beat_weight": 0.0},
    "no_sral_bar": {"sral.bar_weight": 0.0},
    "no_phase": {"phase_rotation": False},
    "no_contact": {"contact_attention": False},
    "infonce": {
        "tempo_negatives.weight": 0.0,
        "jitter_negatives.weight": 0.0,
        "sral.beat_weight": 0.0,
        "sral.bar_weight": 0.0,
    },
}


def motionbeat_name(variant: str) -> str:
    """The model name a MotionBeat variant's files and stages go by: ``motionbeat`` for ``full``,
    else ``motionbeat_<variant>``."""
    if variant not in MOTIONBEAT_ABLATIONS:
        raise ValueError(f"unknown MotionBeat variant {variant!r}; known: {sorted(MOTIONBEAT_ABLATIONS)}")
    return MOTIONBEAT if variant == "full" else f"{MOTIONBEAT}_{variant}"


#: Every MotionBeat variant's model name.
MOTIONBEAT_MODELS = tuple(motionbeat_name(v) for v in MOTIONBEAT_ABLATIONS)


def motionbeat_variant(model: str) -> str:
    """The variant of a MotionBeat model name (inverse of :func:`motionbeat_name`)."""
    return "full" if model == MOTIONBEAT else model.removeprefix(f"{MOTIONBEAT}_")


def motionbeat_config(cfg: dict, variant: str) -> dict:
    """The ``motionbeat`` params with the variant's overrides applied (a copy)."""
    import copy

    out = copy.deepcopy(cfg)
    for key, value in MOTIONBEAT_ABLATIONS[variant].items():
        *path, last = key.split(".")
        node = out
        for part in path:
            node = node[part]
        node[last] = value
    return out


#: Models scored by the retrieval protocol (their evaluate stages write the same files): the
#: retrieval models and MotionBeat.
SCORED_MODELS = (*RETRIEVAL_MODELS, MOTIONBEAT)
