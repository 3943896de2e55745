"""Stage ``mclemcd_seed<K>``: MCLEMCD's main variant trained again with seed ``seed + K``.

``python -m pipelines.families.mclemcd.stage_seed --params params.yaml --seed-index K``

The ablation grid (stage ``mclemcd``) trains every variant once, with the main seed; these
stages (K = 1 … ``evaluate.seeds`` − 1) train ``mclemcd.main`` with the other seeds under the
same protocol, so the report can give the main variant's accuracy as mean ± std over seeds.
Output: ``results/<dataset>/mclemcd/main_seed<K>.json`` (the same metrics as one variant of
``mclemcd/metrics.json``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict

from ...cli import run_stage
from ...config import Paths, run_seed
from ...datasets import skeleton_layout
from ...files import atomic_file
from ...training.runtime import configure_device, use_amp
from .model import resolve_config
from .training import load_all_windows, run_variant
from .variants import variant_of

log = logging.getLogger(__name__)


def main(params: dict, *, seed_index: int) -> None:
    cfg = resolve_config(params)
    data, genres = load_all_windows(params, cfg["window_frames"])
    variant = variant_of(params)
    seed = run_seed(params, seed_index)
    device = configure_device(params)
    metrics, _, _ = run_variant(
        data,
        variant=variant,
        cfg=cfg,
        layout=skeleton_layout(params),
        genres=genres,
        seed=seed,
        device=device,
        amp=use_amp(params, device),
    )
    out = Paths(params).results / "mclemcd" / f"main_seed{seed_index}.json"
    with atomic_file(out, "w") as fh:
        json.dump(
            {"variant": variant.name, "seed": seed, "seed_index": seed_index, **asdict(variant), **metrics},
            fh,
            indent=2,
            sort_keys=True,
        )
    log.info(
        "%s seed %d: window %.1f%%, segment %.1f%%, piece %.1f%%",
        variant.name,
        seed,
        100 * metrics["window_accuracy"],
        100 * metrics["segment_accuracy"],
        100 * metrics["piece_accuracy"],
    )


if __name__ == "__main__":
    raise SystemExit(run_stage(main, __doc__.splitlines()[0], seeded=True))
