"""Target `ablations`: a MotionBeat ablation and MCLEMCD's grid, tabulated by stage ablation_report."""

import json

import pytest

from pipelines.config import Paths
from pipelines.data.generation import RHYTHM_CHANNELS

from ..helpers import make_params, run_all, run_models


@pytest.mark.slow
def test_ablation_report_tabulates_each_variant_beside_the_temporal_baseline(tmp_path):
    from pipelines.stages import (
        ablation_report,
        evaluate_generate,
        evaluate_motionbeat,
        mclemcd,
        train_generate,
        train_motionbeat,
    )

    params = make_params(tmp_path)  # motionbeat.ablation: [full, no_phase], one run each
    run_all(params)
    run_models(params)
    train_motionbeat.train(params, "motionbeat_no_phase", seed_index=0)
    evaluate_motionbeat.evaluate(params, "motionbeat_no_phase", seed_index=0)
    mclemcd.main(params, grid="ablation")
    for variant in ("perceptual", "no_rhythm"):
        for k in range(params["generate"]["ablation"]["seeds"]):
            train_generate.train(params, seed_index=k, variant=variant)
        evaluate_generate.main(params, variant=variant)
    ablation_report.main(params)
    p = Paths(params)
    report = (p.results / "ablations" / "report.md").read_text()
    for row in (
        "| full | 1 |",
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
    assert set(rows) == {"full", "no_phase", "temporal (baseline)", "chance"}
    assert 0 <= rows["no_phase"]["phase top-1"]["mean"] <= 1 and rows["temporal (baseline)"]["phase top-1"]["n"] == 2
    ckpt_variant = evaluate_motionbeat.load_checkpoint(p.model_files("motionbeat_no_phase")["checkpoint"])["variant"]
    assert ckpt_variant == "no_phase"
    perceptual = evaluate_motionbeat.load_checkpoint(
        p.models / "generate" / "perceptual" / "seed0.pt"
    )  # the variant's runs log the perceptual term beside the cross-entropy
    assert perceptual["variant"] == "perceptual" and "perceptual" in perceptual["record"]["history"][0]
    # without the rhythm inputs: no rhythm channels, no aligned decoder input
    plain = evaluate_motionbeat.load_checkpoint(p.models / "generate" / "no_rhythm" / "seed0.pt")
    main = evaluate_motionbeat.load_checkpoint(p.models / "generate" / "seed0.pt")
    assert plain["variant"] == "no_rhythm" and not plain["arch"]["aligned"] and main["arch"]["aligned"]
    assert plain["arch"]["pose_dim"] == main["arch"]["pose_dim"] - RHYTHM_CHANNELS
