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
