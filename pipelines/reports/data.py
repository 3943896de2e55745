"""The data report's numbers (:func:`collect`) and its Markdown and figures (:func:`render`);
:mod:`pipelines.stages.data_report` writes them."""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..config import SPLITS, Paths  # noqa: E402
from ..data.datasets import load_keypoints  # noqa: E402
from ..data.skeleton import Skeleton  # noqa: E402
from ..datasets import AISTPP, dataset, motion_fps, skeleton_layout, window_specs  # noqa: E402
from ..errors import InputError  # noqa: E402
from ..evaluation.beats import beat_align_score, beat_f_measure  # noqa: E402
from ..evaluation.motion_stats import STATS, motion_stats, summarize_stats  # noqa: E402
from ..files import read_csv  # noqa: E402

log = logging.getLogger(__name__)


def _fig(path: Path, draw) -> None:
    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=100)
    draw(ax)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def draw_poses(
    path: Path, *, motion_dir: Path, seqs: list[dict], skeleton: Skeleton, fps: int, n_frames: int = 6
) -> None:
    """Front view of one sequence per genre: ``n_frames`` poses over its first two seconds."""
    by_genre = {}
    for s in seqs:
        by_genre.setdefault(s["genre"], s["sequence"])
    genres = sorted(by_genre)[:6]
    fig, axes = plt.subplots(len(genres), 1, figsize=(n_frames * 1.1, 1.6 * len(genres)), dpi=100, squeeze=False)
    for ax, g in zip(axes[:, 0], genres):
        with np.load(motion_dir / f"{by_genre[g]}.npz") as m:
            joints = m["joints"]
        frames = np.linspace(0, min(len(joints) - 1, 2 * fps), n_frames).astype(int)
        for k, t in enumerate(frames):
            xy = joints[t][:, [0, skeleton.up_axis]] + np.array([3.0 * k, 0.0])
            for i, j in skeleton.edges:
                ax.plot(xy[[i, j], 0], xy[[i, j], 1], color="#334455", lw=1)
            ax.text(3.0 * k, -2.4, f"{t / fps:.2f}s", fontsize=6, ha="center")
        ax.set_title(f"{g}: {by_genre[g]}", fontsize=7, loc="left")
        ax.set_aspect("equal")
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def real_aistpp_motion_stats(params: dict) -> tuple[dict | None, str]:
    """:func:`~pipelines.evaluation.motion_stats.summarize_stats` over the real AIST++ sequences in
    ``datasets.aistpp.root``/``annotations/keypoints3d`` (array ``datasets.aistpp.keypoints``), and
    where they were looked for. ``None`` when there are none there or none can be read: the report
    then says so, it never fails for want of them."""
    cfg = params["datasets"]["aistpp"]
    folder = Path(cfg["root"]) / "annotations" / "keypoints3d"
    skeleton, fps = Skeleton(AISTPP.skeleton), AISTPP.fps(params)
    stats = []
    for f in sorted(folder.glob("*.pkl")) if folder.is_dir() else []:
        try:
            stats.append(motion_stats(keypoints=load_keypoints(f, cfg["keypoints"]), skeleton=skeleton, fps=fps))
        except (InputError, ValueError) as err:
            log.warning("data report: real AIST++ sequence %s left out: %s", f, err)
    return (summarize_stats(per_sequence=stats) if stats else None), str(folder)


def collect(params: dict) -> dict:
    """Gather every number the report shows."""
    paths = Paths(params)
    fps = motion_fps(params)
    sigma_s = params["evaluate"]["beat_align_sigma_s"]
    seqs = read_csv(paths.windows / "sequences.csv")
    info = json.loads((paths.index / "info.json").read_text())
    skipped = sum(
        len(read_csv(p))
        for p in (
            paths.index / "skipped.csv",
            paths.audio_features / "skipped.csv",
            paths.motion_features / "skipped.csv",
            paths.windows / "skipped.csv",
        )
    )
    pieces = sorted({s["piece"] for s in seqs})
    tempo, beat_f, downbeat_f, beat_frames = {}, {}, {}, {}
    raw_music = paths.raw / "music"
    for p in pieces:
        with np.load(paths.audio_features / f"{p}.npz") as a:
            tempo[p] = float(a["tempo_bpm"])
            beat_frames[p] = a["beat_frames"]
            est = a["beat_frames"] / fps
            est_down = np.flatnonzero(a["downbeats"]) / fps
        gt_file = raw_music / f"{p}.beats.tsv"
        if gt_file.exists():
            gt = np.loadtxt(gt_file, skiprows=1, ndmin=2)
            beat_f[p] = beat_f_measure(estimated_s=est, reference_s=gt[:, 0])
            downbeat_f[p] = beat_f_measure(estimated_s=est_down, reference_s=gt[gt[:, 1] == 1, 0])
    skeleton = Skeleton(skeleton_layout(params))
    nan_frames, beat_align, moves = {}, [], []
    for s in seqs:
        with np.load(paths.motion_features / f"{s['sequence']}.npz") as m:
            nan_frames[s["sequence"]] = int(m["nan_mask"].sum())
            kin = np.flatnonzero(m["kinetic_beats"]) / fps
            # body units (1 = torso length), translated so the root starts at 0: the statistics don't mind
            positions = m["joints"].astype(np.float64) + m["root"][:, None].astype(np.float64)
        moves.append(motion_stats(keypoints=positions, skeleton=skeleton, fps=fps))
        frames = beat_frames[s["piece"]] - int(s["audio_offset_frames"])
        mb = frames[(frames >= 0) & (frames < int(s["usable_frames"]))] / fps
        beat_align.append(beat_align_score(music_beats_s=mb, kinetic_beats_s=kin, sigma_s=sigma_s))
    windows = {}
    for spec in window_specs(params):
        rows = read_csv(paths.windows / f"w{spec['frames']}.csv")
        windows[spec["frames"]] = Counter((r["genre"], r["split"]) for r in rows)
    real_stats, real_dir = real_aistpp_motion_stats(params)
    return {
        "info": info,
        "sequences": seqs,
        "skipped": skipped,
        "tempo": tempo,
        "beat_f": beat_f,
        "downbeat_f": downbeat_f,
        "nan_frames": nan_frames,
        "beat_align": beat_align,
        "windows": windows,
        "fps": fps,
        "beat_align_sigma_s": sigma_s,
        "motion_dir": paths.motion_features,
        "skeleton": skeleton,
        "genre_names": dict(dataset(params).genre_names),
        "motion_stats": summarize_stats(per_sequence=moves),
        "motion_stats_aistpp": real_stats,
        "aistpp_keypoints_dir": real_dir,
    }


def _stat_cell(s: dict) -> str:
    if not s["n"]:
        return "n/a"
    return f"{s['median']:.2f} [{s['min']:.2f}, {s['max']:.2f}]"


def _rounded(summary: dict | None) -> dict | None:
    """Summaries for JSON: 4 decimals, NaN as null."""
    if summary is None:
        return None
    return {
        k: {f: (round(v, 4) if np.isfinite(v) else None) if f != "n" else v for f, v in s.items()}
        for k, s in summary.items()
    }


def motion_stats_lines(data: dict, *, dataset: str) -> list[str]:
    """The report's section on how much the dancers move (Markdown lines)."""
    ours, real = data["motion_stats"], data["motion_stats_aistpp"]
    n = max(s["n"] for s in ours.values())
    lines = [
        "## How much the dancers move",
        "",
        "Per sequence, in torso lengths (mean length of the skeleton's torso edges), so skeletons and "
        "units compare (`pipelines/evaluation/motion_stats.py`); median [min, max] over sequences.",
        "",
    ]
    if real is None:
        lines += [
            f"Real AIST++ sequences not found in `{data['aistpp_keypoints_dir']}` (`datasets.aistpp.root`): "
            "no comparison.",
            "",
        ]
        header, rule = f"| statistic | `{dataset}` ({n} sequences) |", "|---|---|"
    else:
        n_real = max(s["n"] for s in real.values())
        header = f"| statistic | `{dataset}` ({n} sequences) | real AIST++ ({n_real} sequences) |"
        rule = "|---|---|---|"
    lines += [header, rule]
    for key, label in STATS.items():
        row = f"| {label} | {_stat_cell(ours[key])} |"
        lines.append(row + (f" {_stat_cell(real[key])} |" if real is not None else ""))
    return lines + [""]


def render(data: dict, out: Path, *, dataset: str) -> None:
    figs = out / "figures"
    figs.mkdir(parents=True, exist_ok=True)
    seqs, fps = data["sequences"], data["fps"]
    dur = np.array([int(s["usable_frames"]) / fps for s in seqs])
    genres = sorted({s["genre"] for s in seqs})
    _fig(
        figs / "durations.png",
        lambda ax: (
            ax.hist(dur, bins=30, color="#4477aa"),
            ax.set_xlabel("aligned duration (s)"),
            ax.set_ylabel("sequences"),
        ),
    )
    tempos = np.array(list(data["tempo"].values()))
    _fig(
        figs / "tempo.png",
        lambda ax: (
            ax.hist(tempos, bins=np.arange(60, 200, 5), color="#cc6677"),
            ax.set_xlabel("estimated tempo (BPM)"),
            ax.set_ylabel("music pieces"),
        ),
    )
    nan = np.array(list(data["nan_frames"].values()))
    _fig(
        figs / "nan_frames.png",
        lambda ax: (
            ax.hist(nan, bins=max(5, int(nan.max()) + 1 if nan.size else 5), color="#999933"),
            ax.set_yscale("log"),
            ax.set_xlabel("NaN frames in a sequence (interpolated)"),
            ax.set_ylabel("sequences"),
        ),
    )

    def bars(ax, counter):
        x = np.arange(len(genres))
        for k, split in enumerate(SPLITS):
            ax.bar(x + (k - 1) * 0.27, [counter.get((g, split), 0) for g in genres], 0.27, label=split)
        ax.set_xticks(x, genres)
        ax.set_ylabel("windows")
        ax.legend()

    for frames, counter in data["windows"].items():
        _fig(figs / f"windows_w{frames}.png", lambda ax, c=counter: bars(ax, c))

    draw_poses(figs / "poses.png", motion_dir=data["motion_dir"], seqs=seqs, skeleton=data["skeleton"], fps=fps)
    per_split = {sp: sum(s["split"] == sp for s in seqs) for sp in SPLITS}
    lines = [
        f"# Data report: `{dataset}`",
        "",
        f"{len(seqs)} aligned sequences ({', '.join(f'{k} {v}' for k, v in per_split.items())}), "
        f"{len(data['tempo'])} music pieces, {dur.sum() / 60:.1f} min of aligned motion and music at {fps} fps. "
        f"Validation split: {data['info'].get('val_source')}. "
        f"{data['info'].get('excluded', 0)} sequences excluded by the dataset's ignore list, "
        f"{data['skipped']} bad inputs skipped (see the `skipped.csv` files).",
        "",
        "## Poses",
        "",
        "![poses](figures/poses.png)",
        "",
        "Root-centred, scale-normalised joints (front view) of one sequence per genre.",
        "",
        "## Durations",
        "",
        "![durations](figures/durations.png)",
        "",
        f"Aligned duration: min {dur.min():.1f} s, median {np.median(dur):.1f} s, max {dur.max():.1f} s.",
        "",
        "## Tempo",
        "",
        "![tempo](figures/tempo.png)",
        "",
    ]
    if data["beat_f"]:
        bf, df = np.array(list(data["beat_f"].values())), np.array(list(data["downbeat_f"].values()))
        lines += [
            f"Beat tracking against the ground-truth beats (F-measure, ±70 ms): mean {bf.mean():.3f}, "
            f"min {bf.min():.3f}; downbeats: mean {df.mean():.3f}.",
            "",
        ]
    ba = np.array(data["beat_align"])
    lines += [
        f"BeatAlign between music beats and kinetic beats (Bailando's definition, σ = "
        f"{data['beat_align_sigma_s']:g} s): mean {ba.mean():.3f} over {ba.size} sequences.",
        "",
        "## NaN frames",
        "",
        "![nan](figures/nan_frames.png)",
        "",
        f"{int((nan > 0).sum())} sequences have NaN frames ({int(nan.sum())} frames in all); they are "
        "interpolated and flagged in `nan_mask`.",
        "",
    ]
    lines += motion_stats_lines(data, dataset=dataset)
    lines += [
        "## Windows per genre and split",
        "",
    ]
    for frames, counter in data["windows"].items():
        lines += [
            f"### {frames}-frame windows ({frames / fps:.2f} s)",
            "",
            f"![w{frames}](figures/windows_w{frames}.png)",
            "",
            "| genre | " + " | ".join(SPLITS) + " |",
            "|---|" + "---|" * len(SPLITS),
        ]
        for g in genres:
            lines.append(
                f"| {g} ({data['genre_names'].get(g, g)}) | "
                + " | ".join(str(counter.get((g, sp), 0)) for sp in SPLITS)
                + " |"
            )
        lines.append(
            "| **total** | "
            + " | ".join(str(sum(v for (gg, sp), v in counter.items() if sp == s)) for s in SPLITS)
            + " |"
        )
        lines.append("")
    (out / "report.md").write_text("\n".join(lines))
    summary = {
        "dataset": dataset,
        "sequences": len(seqs),
        "per_split": per_split,
        "pieces": len(data["tempo"]),
        "minutes": round(float(dur.sum() / 60), 3),
        "nan_frames": int(nan.sum()),
        "beat_f_mean": round(float(np.mean(list(data["beat_f"].values()))), 4) if data["beat_f"] else None,
        "downbeat_f_mean": round(float(np.mean(list(data["downbeat_f"].values()))), 4) if data["downbeat_f"] else None,
        "beat_align_mean": round(float(ba.mean()), 4),
        "beat_align_sigma_s": data["beat_align_sigma_s"],
        "windows": {str(f): sum(c.values()) for f, c in data["windows"].items()},
        "motion_stats": _rounded(data["motion_stats"]),
        "motion_stats_aistpp": _rounded(data["motion_stats_aistpp"]),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
