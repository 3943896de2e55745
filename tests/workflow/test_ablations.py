"""Target `ablations`: a MotionBeat ablation and MCLEMCD's grid, tabulated by stage ablation_report."""

import json

import pytest

from pipelines.config import Paths
from pipelines.families.dance2music.data import RHYTHM_CHANNELS

from ..helpers import make_params, run_all, run_models


@pytest.mark.slow
def test_ablation_report_tabulates_each_variant_beside_the_temporal_baseline(tmp_path):
    from pipelines.families.dance2music import stage_evaluate as evaluate_dance2music
    from pipelines.families.dance2music import stage_train as train_dance2music
    from pipelines.families.mclemcd import stage_train as mclemcd
    from pipelines.families.motionbeat import stage_evaluate as evaluate_motionbeat
    from pipelines.families.motionbeat import stage_train as train_motionbeat
    from pipelines.stages import ablation_report

    params = make_params(tmp_path)  # motionbeat.variants: {no_phase: ...}, one run each
    run_all(params)
    run_models(params)
    train_motionbeat.train(params, seed_index=0, variant="no_phase")
    evaluate_motionbeat.evaluate(params, seed_index=0, variant="no_phase")
    mclemcd.main(params, grid="ablation")
    for variant in ("perceptual", "no_rhythm"):
        for k in range(params["dance2music"]["variant_seeds"]):
            train_dance2music.train(params, seed_index=k, variant=variant)
        evaluate_dance2music.main(params, variant=variant)
    ablation_report.main(params)
    p = Paths(params)
    report = (p.results / "ablations" / "report.md").read_text()
    for row in (
        "| main | 1 |",
        "| no_phase | 1 |",
        "| temporal (baseline) | 2 |",
        "| chance |",
        "## MCLEMCD",
        "## Dance to music",
        "| perceptual |",
        "| no_rhythm |",
        "| nearest neighbour (baseline) |",
    ):
        assert row in report, row
    rows = json.loads((p.results / "ablations" / "motionbeat.json").read_text())["rows"]
    assert set(rows) == {"main", "no_phase", "temporal (baseline)", "chance"}
    assert 0 <= rows["no_phase"]["phase top-1"]["mean"] <= 1 and rows["temporal (baseline)"]["phase top-1"]["n"] == 2
    ckpt_variant = evaluate_motionbeat.load_checkpoint(p.model_files("motionbeat_no_phase")["checkpoint"])["variant"]
    assert ckpt_variant == "no_phase"
    perceptual = evaluate_motionbeat.load_checkpoint(
        p.models / "dance2music" / "perceptual" / "seed0.pt"
    )  # the variant's runs log the perceptual term beside the cross-entropy
    assert perceptual["variant"] == "perceptual" and "perceptual" in perceptual["record"]["history"][0]
    # without the rhythm inputs: no rhythm channels, no aligned decoder input
    plain = evaluate_motionbeat.load_checkpoint(p.models / "dance2music" / "no_rhythm" / "seed0.pt")
    main = evaluate_motionbeat.load_checkpoint(p.models / "dance2music" / "seed0.pt")
    assert plain["variant"] == "no_rhythm" and not plain["arch"]["aligned"] and main["arch"]["aligned"]
    assert plain["arch"]["pose_dim"] == main["arch"]["pose_dim"] - RHYTHM_CHANNELS
