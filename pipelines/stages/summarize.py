"""Stage ``summarize``: every model's headline numbers over its runs, and the margins with intervals.

``python -m pipelines.stages.summarize --params params.yaml``

Each model family with a summary (:data:`pipelines.registry.FAMILIES`, in order) writes its
models' ``results/<dataset>/summary/<model>.json`` (every headline number as mean ± std over the
runs, with its 95 % bootstrap interval and chance level) and ``results/<dataset>/metrics/<model>.json``
(the few numbers ``dvc metrics show`` reads), and returns its margins over its baselines (e.g. the
learned retrieval models over ``linear``, MotionBeat over ``linear`` and over ``temporal`` on the
rhythm numbers, MCLEMCD over the majority class). ``results/<dataset>/comparison.json`` holds all
margins, each with ``excludes_zero`` for its 95 % interval.
"""

from __future__ import annotations

import logging

from ..cli import run_stage
from ..config import Paths
from ..files import write_json
from ..registry import FAMILIES

log = logging.getLogger(__name__)


def main(params: dict) -> None:
    heads, per_query, margins = {}, {}, []
    for family in FAMILIES:
        if family.summarize is not None:
            margins += family.summarize(params, heads, per_query)
    write_json(Paths(params).results / "comparison.json", {"dataset": params["dataset"], "margins": margins})
    for m in margins:
        log.info(
            "%s − %s, %s: %+.3f ± %.3f over %d runs; 95%% CI [%+.3f, %+.3f]%s",
            m["model"],
            m["baseline"],
            m["metric"],
            m["mean"],
            m["std"],
            m["n"],
            *m["ci95"],
            "" if m["excludes_zero"] else " (includes 0)",
        )


if __name__ == "__main__":
    raise SystemExit(run_stage(main, __doc__.splitlines()[0]))
