"""Stage ``report``: the model report, as self-contained HTML and a Markdown twin.

``python -m pipelines.stages.report --params params.yaml``

Writes ``results/<dataset>/report.html`` (figures embedded), ``results/<dataset>/report.md``
and ``results/<dataset>/report_figures/*.png``: one section per model family
(:data:`pipelines.registry.FAMILIES`, in order): the retrieval protocol's tables of every model
it scores against the linear baseline and chance, with figures; MCLEMCD's grid and confusion
matrix; dance to music's tables, spectrograms, and audio and video players.
"""

from __future__ import annotations

import logging

from ..cli import run_stage
from ..config import Paths
from ..files import atomic_dir, atomic_file
from ..registry import FAMILIES, scored_models
from ..reports.doc import Doc

log = logging.getLogger(__name__)


def main(params: dict) -> None:
    paths = Paths(params)
    html_path, md_path = paths.results / "report.html", paths.results / "report.md"
    fig_dir = paths.results / "report_figures"
    context = {"scored_models": scored_models(params)}
    with atomic_dir(fig_dir) as tmp:
        doc = Doc(tmp, "report_figures")
        for family in FAMILIES:
            if family.report is not None:
                family.report(params, doc, context)
        doc.fig_dir = tmp
        page = doc.html(f"Report: {params['dataset']}")
        with atomic_file(md_path, "w") as fh:
            fh.write(doc.markdown())
        with atomic_file(html_path, "w") as fh:
            fh.write(page)
    log.info("report written to %s and %s", html_path, md_path)


if __name__ == "__main__":
    raise SystemExit(run_stage(main, __doc__.splitlines()[0]))
