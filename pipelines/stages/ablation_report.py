"""Stage ``ablation_report``: every family's variants side by side (target ``ablations``).

``python -m pipelines.stages.ablation_report --params params.yaml`` (``snakemake --cores 8 ablations``)

One section per model family with an ablation report (:data:`pipelines.registry.FAMILIES`):
MotionBeat's variants (``motionbeat.variants``) beside the temporal baseline and chance, MCLEMCD's
grid (``mclemcd.ablation``), dance to music's variants (``dance2music.variants``).

Outputs ``results/<dataset>/ablations/report.md`` and ``results/<dataset>/ablations/<family>.json``
(the numbers of the family's table).
"""

from __future__ import annotations

import logging

from ..cli import run_stage
from ..config import Paths
from ..files import atomic_file, write_json
from ..registry import FAMILIES

log = logging.getLogger(__name__)


def main(params: dict) -> None:
    paths = Paths(params)
    text = [f"# Ablations: {params['dataset']}", ""]
    for family in FAMILIES:
        if family.ablation_report is None:
            continue
        lines, numbers = family.ablation_report(params)
        text += lines + [""]
        write_json(paths.results / "ablations" / f"{family.name}.json", {"dataset": params["dataset"], "rows": numbers})
    with atomic_file(paths.results / "ablations" / "report.md", "w") as fh:
        fh.write("\n".join(text))
    log.info("ablation report: %s", paths.results / "ablations" / "report.md")


if __name__ == "__main__":
    raise SystemExit(run_stage(main, __doc__.splitlines()[0]))
