"""MotionBeat's headline numbers and its margins: over the linear baseline on retrieval, over the
temporal model on phase discrimination and the beat probe (paired over the same test windows)."""

from __future__ import annotations

from ..retrieval.names import BASELINE
from ..retrieval.summary import METRICS, RHYTHM, margin, retrieval_headline, write_headline

#: The retrieval model MotionBeat's rhythm numbers are compared with (per-step states, same windows).
RHYTHM_BASELINE = "temporal"


def summarize_motionbeat(params: dict, heads: dict, per_query: dict) -> list[dict]:
    heads["motionbeat"], per_query["motionbeat"] = retrieval_headline(params, "motionbeat")
    write_headline(params, "motionbeat", heads["motionbeat"], METRICS)
    margins = [margin(params, heads, per_query, "motionbeat", BASELINE, n) for n in METRICS]
    rhythm = [n for n in RHYTHM if n in heads["motionbeat"] and n in heads.get(RHYTHM_BASELINE, {})]
    return margins + [margin(params, heads, per_query, "motionbeat", RHYTHM_BASELINE, n) for n in rhythm]
