"""MCLEMCD's variants (the paper's ablation axes), without importing torch.

A variant is one cell of the grid ``mclemcd.ablation`` (collaborative learning × regulariser ×
motion input); ``mclemcd.main`` is the main model's cell. :func:`grid_variants` expands the grid
into the form every family's variants take (name -> dotted-key overrides of the params section,
:func:`pipelines.family.variant_params`), and :func:`variant_of` reads a cell back from params.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from ...family import variant_params

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


def grid_variants(grid: dict) -> dict[str, dict]:
    """Every variant of the grid as overrides of ``mclemcd.main``: name -> {``main.<axis>``: value}."""
    return {
        v.name: {"main.collaborative": v.collaborative, "main.regulariser": v.regulariser, "main.input": v.input}
        for v in ablation_variants(grid)
    }


def variant_of(params: dict, overrides: dict | None = None) -> Variant:
    """The variant ``mclemcd.main`` names, after ``overrides`` (one of :func:`grid_variants`)."""
    cfg = variant_params(params, "mclemcd", overrides or {})["mclemcd"]["main"]
    return Variant(bool(cfg["collaborative"]), cfg["regulariser"], cfg["input"])
