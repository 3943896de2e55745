"""Stage ``mclemcd``: music genre from dance with collaborative learning (MCLEMCD).

``python -m pipelines.families.mclemcd.stage_train --params params.yaml [--grid main|ablation]``

``--grid main`` (stage ``mclemcd``, in the default target) trains the ``mclemcd.main`` variant;
``--grid ablation`` (stage ``mclemcd_ablation``, target ``ablations``) trains every variant of
the ``mclemcd.ablation`` grid (networks in
:mod:`pipelines.families.mclemcd.model`; ``fc`` without collaborative learning equals ``plain`` and is
not trained twice) through :func:`pipelines.training.loop.fit`, with the two-phase schedule:
phase one (``phase1_epochs``) trains the motion encoder and the music autoencoder
independently, phase two (``phase2_epochs``) adds the collaborative losses; without
collaborative learning phase two keeps the phase-one losses, so every variant trains for the
same number of epochs. Sizes: ``mclemcd.size: small`` (narrow networks, ``epoch_windows``
windows drawn per epoch: the whole grid trains in minutes on 2 CPU cores) or ``paper`` (the
paper's 64→128→256 channels, 256-d codes and 4096-wide mapping; for GPU nodes).

Every variant is scored under ``mclemcd.protocol``
(:func:`pipelines.evaluation.classification.protocol_folds`): ``splits`` (the dataset's own
train/test split: crossmodal for AIST++, by dance for MusicToDance), ``leave_one_piece_out``
(every piece once as the test set), or ``leaky_windows`` (windows drawn at random into
train/test regardless of piece: the paper's segment-level MusicToDance split, for comparison
only). Accuracy is reported per window, per segment (majority vote over the windows of each
``segment_frames`` span of a sequence) and per piece (majority vote over all of a piece's test
windows), beside the majority-class rate, with per-genre confusion matrices
(:func:`pipelines.evaluation.classification.genre_accuracy`).

Outputs (``mclemcd_ablation`` in place of ``mclemcd`` for the grid): ``models/<dataset>/mclemcd/<variant>.pt`` (protocols ``splits`` and
``leaky_windows``; :mod:`pipelines.training.checkpoint` format),
``results/<dataset>/mclemcd/metrics.json`` (a DVC metric) and
``results/<dataset>/mclemcd/tables/`` (``ablation.md``, ``confusion_<variant>.csv``,
``history.json``).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict

from ...cli import run_stage
from ...config import Paths
from ...datasets import skeleton_layout
from ...files import atomic_dir, atomic_file
from ...training.checkpoint import save_checkpoint
from ...training.runtime import configure_device, use_amp
from .model import resolve_config
from .tables import ablation_markdown
from .training import load_all_windows, run_variant
from .variants import grid_variants, variant_of

log = logging.getLogger(__name__)


def main(params: dict, *, grid: str = "main") -> None:
    cfg = resolve_config(params)
    paths = Paths(params)
    layout = skeleton_layout(params)
    frames = cfg["window_frames"]
    data, genres = load_all_windows(params, frames)
    device = configure_device(params)
    if grid == "ablation":  # every cell of the grid, as variants of the main model (one way for every family)
        variants = [variant_of(params, overrides) for overrides in grid_variants(cfg["ablation"]).values()]
    else:
        variants = [variant_of(params)]
    results, histories = {}, {}
    name = "mclemcd_ablation" if grid == "ablation" else "mclemcd"
    model_dir, table_dir = paths.models / name, paths.results / name / "tables"
    with atomic_dir(model_dir) as mtmp, atomic_dir(table_dir) as ttmp:
        for v in variants:
            t0 = time.perf_counter()
            metrics, hist, model = run_variant(
                data,
                variant=v,
                cfg=cfg,
                layout=layout,
                genres=genres,
                seed=params["seed"],
                device=device,
                amp=use_amp(params, device),
            )
            seconds = time.perf_counter() - t0  # logged only: outputs stay byte-identical between runs
            results[v.name] = {**asdict(v), **metrics}
            histories[v.name] = hist
            if model is not None:
                save_checkpoint(
                    mtmp / f"{v.name}.pt",
                    state_dict=model.state_dict(),
                    variant=asdict(v),
                    genres=genres,
                    config=cfg,
                    layout=layout,
                    frames=frames,
                    n_mels=int(data["mel"].shape[2]),
                )
            log.info(
                "%s: window %.1f%%, segment %.1f%%, piece %.1f%% (%d/%d) in %.0f s",
                v.name,
                100 * metrics["window_accuracy"],
                100 * metrics["segment_accuracy"],
                100 * metrics["piece_accuracy"],
                metrics["pieces_correct"],
                metrics["pieces"],
                seconds,
            )
            with open(ttmp / f"confusion_{v.name}.csv", "w") as fh:
                fh.write("truth\\predicted," + ",".join(genres) + "\n")
                for g, row in zip(genres, metrics["confusion"]):
                    fh.write(g + "," + ",".join(map(str, row)) + "\n")
        summary = {
            "dataset": params["dataset"],
            "protocol": cfg["protocol"],
            "size": cfg["size"],
            "window_frames": frames,
            "segment_frames": cfg["segment_frames"],
            "genres": genres,
            "variants": results,
        }
        (ttmp / "ablation.md").write_text(ablation_markdown(summary))
        (ttmp / "history.json").write_text(json.dumps(histories, indent=1) + "\n")
    with atomic_file(paths.results / name / "metrics.json", "w") as fh:
        json.dump(summary, fh, indent=2, sort_keys=True)


if __name__ == "__main__":
    raise SystemExit(run_stage(main, __doc__.splitlines()[0], options={"grid": ("main", "ablation")}))
