"""A model family's record (:class:`Family`), its variants and its runs, without importing torch.

Every family lives in one folder, ``pipelines/families/<name>/``, and declares its record in
``family.py`` there; :mod:`pipelines.registry` lists the records once. The DAG, the summary, the
model report, the ablation report and ``make numbers`` loop over that list and spell no family
name. ``<name>`` is the family's one name: folder, params section, stage names, report heading.

Variants are made one way for every family: ``<family>.variants`` in params.yaml maps a variant
name to dotted-key overrides of the family's params section (``{no_phase: {phase_rotation:
false}}``), and :func:`variant_params` applies them. Runs (seeds, folds) are made one way:
:func:`pipelines.config.runs`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # light at run time: the DAG imports this module
    from .datasets import DataContext
    from .reports.doc import Doc
    from .stage import Stage

#: The variant a family's params describe as they are (stages and files without a variant tag).
MAIN = "main"


@dataclass(frozen=True)
class Family:
    """One model family: what the DAG, the summary, the reports and ``make numbers`` need of it.

    The hooks take ``params`` (validated params.yaml) and import the family's heavy modules inside
    themselves, so listing the record costs nothing at DAG-parse time.
    """

    name: str  # folder, params section, stage names, report heading key
    title: str  # report heading
    stages: Callable[[dict, DataContext], list[Stage]]  # every stage (Stage.target: all or ablations)
    models: Callable[[dict], tuple[str, ...]]  # models whose headline files the summary writes
    scored_by_retrieval: bool = False  # scored by the retrieval protocol (summary/report rows beside the baselines)
    deterministic: tuple[str, ...] = ()  # models whose training has no randomness: one run for every seed
    needs_labels: bool = True  # needs genres and pieces (left out on unlabelled datasets)
    summarize: Callable[[dict, dict, dict], list[dict]] | None = None  # (params, heads, per_query) -> margins
    report: Callable[[dict, Doc, dict], None] | None = None  # (params, doc, context) adds the family's section
    ablation_report: Callable[[dict], tuple[list[str], dict]] | None = None  # ablation report: Markdown lines, JSON
    numbers: Callable[[Path, dict], list[str]] | None = None  # docs/results.md lines from the results folder
    check_params: Callable[[dict, str], None] | None = None  # cross-key checks; raise ParamsError
    variants: Callable[[dict], dict[str, dict]] | None = None  # default: params[name]["variants"]
    headline: tuple[str, ...] = field(default_factory=tuple)  # summary keys DVC shows (metrics/<model>.json)
    step_rate: str | None = (
        None  # "module:function" (params, size, device, *, steps) -> one training step's rate (make gpu-check)
    )
    summary_params: tuple[str, ...] = ()  # params the summary and report read (besides `evaluate`)
    ablation_params: tuple[str, ...] = ()  # params the ablation report reads

    def variant_overrides(self, params: dict) -> dict[str, dict]:
        """Every variant but ``main``: name -> dotted-key overrides of the family's params section."""
        if self.variants is not None:
            return self.variants(params)
        return dict(params[self.name].get("variants") or {})


def run_args(run: dict) -> str:
    """A run's command-line arguments (:func:`pipelines.config.runs`): ``--seed-index K [--fold F]``."""
    return f"--seed-index {run['seed_index']}" + (f" --fold {run['fold']}" if run["fold"] is not None else "")


def run_params(run: dict) -> list[str]:
    """The params a run's stages read besides the family's: the fold split's under k-fold."""
    return ["evaluate.folds", "evaluate.val_fraction"] if run["fold"] is not None else []


def variant_params(params: dict, section: str, overrides: dict) -> dict:
    """``params`` (a copy) with ``overrides`` (dotted keys below ``params[section]``) applied."""
    out = copy.deepcopy(params)
    for key, value in overrides.items():
        *path, last = key.split(".")
        node = out[section]
        for part in path:
            node = node[part]
        if last not in node:
            raise KeyError(f"{section}.{key}: no such key to override")
        node[last] = value
    return out


def resolve_variant(params: dict, section: str, variant: str) -> dict:
    """``params`` with variant ``variant`` of ``<section>.variants`` applied (``main``: as they are).

    Raises
    ------
    ParamsError
        One line naming the unknown variant and the known ones.
    """
    if variant == MAIN:
        return params
    known = params[section].get("variants") or {}
    if variant not in known:
        from .config import ParamsError

        raise ParamsError(f"{section}.variants: no variant {variant!r} (known: {', '.join([MAIN, *known])})")
    return variant_params(params, section, known[variant])


def model_name(family: str, variant: str = MAIN) -> str:
    """The name a family variant's files and stages go by: the family's for ``main``, else
    ``<family>_<variant>``."""
    return family if variant == MAIN else f"{family}_{variant}"
