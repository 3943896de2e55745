"""The report's sentence on MotionBeat against the temporal baseline follows the intervals."""

from pipelines.families.motionbeat.report import COLUMNS, probe_reference_rows
from pipelines.families.retrieval.report import rhythm_verdict


def _margin(metric, lo, hi):
    return {"model": "motionbeat", "baseline": "temporal", "metric": metric, "mean": (lo + hi) / 2, "ci95": [lo, hi]}


def _run(f_input, f_phase, f_encoder=0.6):
    return {
        "rhythm": {
            "beat_probe": {"f_measure": f_encoder, "chance": 0.3},
            "beat_probe_input": {"f_measure": f_input, "chance": 0.3},
            "beat_probe_input_phase": {"f_measure": f_phase, "chance": 0.3},
        }
    }


def test_verdict_says_beats_loses_or_undecided_from_the_interval_and_explains_a_lost_probe():
    comparison = {
        "margins": [
            _margin("phase_top1", 0.40, 0.60),
            _margin("beat_probe_f", -0.30, -0.20),
            _margin("piece_R@1", -0.5, -0.4),  # not a rhythm margin: not mentioned
        ]
    }
    baseline = [{"rhythm": {"beat_probe": {"f_measure": f}}} for f in (0.85, 0.95)]
    runs = {"motionbeat": [_run(0.5, 0.6, 0.55), _run(0.5, 0.8, 0.65)], "temporal": baseline}
    text = rhythm_verdict(comparison, runs)
    assert "On phase_top1, motionbeat beats temporal" in text
    assert "On beat_probe_f, motionbeat does not beat temporal (the interval is below 0)" in text
    # means over runs: input 50, with phase 70, encoder 60, baseline 90; the phase closes 20 of 40 points
    assert "F 50.0 alone and 70.0 with each token's bar phase" in text
    assert "closes 50 % of the gap to temporal" in text and "against 60.0 on the encoder's states and 90.0" in text
    assert "piece_R@1" not in text
    undecided = rhythm_verdict({"margins": [_margin("phase_top1", -0.1, 0.2)]}, {})
    assert "is not distinguishable from temporal" in undecided


def test_ablation_table_gets_the_probe_reference_rows_with_only_the_probe_filled():
    extra = probe_reference_rows([_run(0.5, 0.9), _run(0.6, 0.9)])
    probe_col = 2 + list(COLUMNS).index("beat probe F")  # after variant and runs
    assert [r[0] for r in extra] == ["input tokens, no encoder", "input tokens + bar phase, no encoder"]
    assert extra[0][probe_col] == "55.0 ± 7.1" and extra[1][probe_col] == "90.0 ± 0.0"
    assert all(c == "—" for r in extra for i, c in enumerate(r) if i not in (0, 1, probe_col))
    assert all(len(r) == 2 + len(COLUMNS) for r in extra)
    assert probe_reference_rows([{"rhythm": {}}]) == []  # an ablation run has none
