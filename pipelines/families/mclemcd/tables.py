"""MCLEMCD's ablation table in the paper's layout, as rows, a caption and Markdown (no torch; stage
``mclemcd`` writes it beside the grid, the reports show it)."""

from __future__ import annotations

from .variants import MCLEMCD_INPUTS, MCLEMCD_REGULARISERS, Variant


def ablation_rows(results: dict) -> tuple[list[str], list[list[str]]]:
    """The paper's ablation layout: one row per (collaborative learning, regulariser), one column
    per input; cells are window / segment / piece accuracy (%)."""
    header = ["collaborative learning", "regulariser", *MCLEMCD_INPUTS]
    rows = []
    for cl in (False, True):
        for reg in MCLEMCD_REGULARISERS:
            cells, any_cell = [], False
            for inp in MCLEMCD_INPUTS:
                if not cl and reg == "fc" and Variant(cl, "plain", inp).name in results:
                    cells.append("= plain")
                    continue
                r = results.get(Variant(cl, reg, inp).name)
                any_cell |= r is not None
                cells.append(
                    f"{100 * r['window_accuracy']:.1f} / {100 * r['segment_accuracy']:.1f} / "
                    f"{100 * r['piece_accuracy']:.1f}"
                    if r
                    else "–"
                )
            if any_cell:
                rows.append(["with" if cl else "without", reg, *cells])
    return header, rows


def ablation_caption(summary: dict) -> str:
    first = next(iter(summary["variants"].values()))
    leaky = (
        " Leaky: windows of one piece fall in both train and test (the paper's MusicToDance split); for "
        "comparison only."
        if summary["protocol"] == "leaky_windows"
        else ""
    )
    return (
        f"MCLEMCD genre accuracy from dance on `{summary['dataset']}`, protocol `{summary['protocol']}`, size "
        f"`{summary['size']}`: window / segment ({summary['segment_frames']} frames, majority vote over its "
        f"{summary['window_frames']}-frame windows) / piece (majority vote) accuracy, %. Majority class: "
        f"{100 * first['majority_class_window']:.1f} % of test windows, {100 * first['majority_class_piece']:.1f} % "
        f"of pieces; {first['windows']} windows, {first['segments']} segments, {first['pieces']} pieces. Without "
        "collaborative learning the FC mapping network has no loss to train it, so that row equals plain." + leaky
    )


def ablation_markdown(summary: dict) -> str:
    header, rows = ablation_rows(summary["variants"])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(r) + " |" for r in rows]
    return ablation_caption(summary) + "\n\n" + "\n".join(lines) + "\n"
