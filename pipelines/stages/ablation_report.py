"""Stage ``ablation_report``: MotionBeat's ablation table and MCLEMCD's grid (target ``ablations``).

``python -m pipelines.stages.ablation_report --params params.yaml`` (``snakemake --cores 8 ablations``)

One row per MotionBeat variant of ``motionbeat.ablation`` (``full`` is the model of the
default target; each other variant turns one part off, :data:`pipelines.models.registry.MOTIONBEAT_ABLATIONS`),
over its first ``motionbeat.ablation_seeds`` runs (every fold under ``evaluate.protocol: kfold``),
beside the temporal baseline's runs and chance: music → motion piece R@1 and mAP, phase
discrimination top-1, the beat-tracking probe's F-measure, the genre probes and the BeatAlign of
the retrieved motion (:mod:`pipelines.evaluation.rhythm`). Then MCLEMCD's grid
(stage ``mclemcd_ablation``), then dance to music: the main generator, with the perceptual loss,
and without its rhythm inputs (stages ``evaluate_generate``, ``evaluate_generate_perceptual`` and
``evaluate_generate_no_rhythm``).

Outputs ``results/<dataset>/ablations/report.md`` and ``results/<dataset>/ablations/motionbeat.json``.
"""

from __future__ import annotations

import json
import logging

from ..cli import run_stage
from ..config import Paths, runs
from ..data.generation_files import GENERATE_VARIANTS, generation_results
from ..files import atomic_file, write_json
from ..models.registry import MOTIONBEAT, motionbeat_name
from ..reports.ablation import ablation_markdown
from ..reports.generation import ablation_markdown as generation_ablation_markdown
from ..reports.motionbeat import ablation_table, markdown_table, probe_reference_rows

log = logging.getLogger(__name__)


def main(params: dict) -> None:
    paths, cfg = Paths(params), params["motionbeat"]
    mb_runs = runs(params, MOTIONBEAT)
    if params["evaluate"]["protocol"] != "kfold":
        mb_runs = mb_runs[: cfg["ablation_seeds"]]

    def read(model: str, model_runs: list[dict]) -> list[dict]:
        return [json.loads(paths.model_files(model, r["name"])["evaluation"].read_text()) for r in model_runs]

    table_runs = {v: read(motionbeat_name(v), mb_runs) for v in cfg["ablation"]}
    table_runs["temporal (baseline)"] = read("temporal", runs(params, "temporal"))
    header, rows, numbers = ablation_table(table_runs)
    rows[-1:-1] = probe_reference_rows(read(MOTIONBEAT, mb_runs))
    text = [
        f"# Ablations: {params['dataset']}",
        "",
        "## MotionBeat",
        "",
        "Each variant turns one part of MotionBeat off (full: all on; infonce: plain symmetric InfoNCE on the same "
        "encoder, no extra negatives, no rhythm alignment loss; no_phase: token-index positions instead of the "
        "bar-phase rotation). Test windows of the retrieval protocol; mean ± std over "
        f"{len(mb_runs)} run(s) per variant ({', '.join(r['name'] for r in mb_runs)}); percent, BeatAlign a score in [0, 1]. Phase top-1: the true "
        f"motion against the same dance moved by {', '.join(f'{k:+g}' for k in cfg['phase_shifts_beats'])} beats and "
        "another dance at the same tempo. Beat probe: linear probe on frozen per-step music states, F ±70 ms.",
        "",
        markdown_table(header, rows),
    ]
    grid_path = paths.results / "mclemcd_ablation" / "metrics.json"
    grid = json.loads(grid_path.read_text())
    text += ["## MCLEMCD", "", ablation_markdown(grid)]
    n = params["generate"]["ablation"]["seeds"]
    generated = {v: json.loads(generation_results(params, v)["metrics"].read_text()) for v in GENERATE_VARIANTS}
    text += [
        "",
        "## Dance to music",
        "",
        "main: the `generate` params (perceptual loss weight "
        f"{params['generate']['perceptual']['weight']}); perceptual: the same with the perceptual loss at weight "
        f"{params['generate']['ablation']['perceptual_weight']} (straight-through Gumbel-softmax codes, log-mel distance); "
        "no_rhythm: the main params without the kinetic-beat pulse and speed channels and without the aligned "
        "decoder input (`generate.rhythm_pulse` and `generate.aligned` off). "
        f"Mean ± std over the first {n} run(s) of each; test split, scores as in the report's dance-to-music section.",
        "",
        generation_ablation_markdown(generated, runs=n),
    ]
    with atomic_file(paths.results / "ablations" / "report.md", "w") as fh:
        fh.write("\n".join(text))
    write_json(paths.results / "ablations" / "motionbeat.json", {"dataset": params["dataset"], "rows": numbers})
    log.info("ablation report: %s", paths.results / "ablations" / "report.md")


if __name__ == "__main__":
    raise SystemExit(run_stage(main, __doc__.splitlines()[0]))
