"""Stage ``report``: the model report, as self-contained HTML and a Markdown twin.

``python -m pipelines.stages.report --params params.yaml``

Writes ``results/<dataset>/report.html`` (figures embedded), ``results/<dataset>/report.md``
and ``results/<dataset>/report_figures/*.png``: the dataset summary, every model against the
linear baseline and chance, recall@K curves, music×motion similarity heatmaps, histograms of
the exact pair's rank, 2-D maps (PCA) of the motion embeddings coloured by genre and the
genre-probe confusion matrices; then dance to music (stage ``evaluate_generate``): its tables,
spectrograms, and audio and video players that link the files in ``results/<dataset>/generate/samples/``.
"""

from __future__ import annotations

import logging

from ..cli import run_stage
from ..config import Paths
from ..data.generation_files import generation_results
from ..files import atomic_dir, atomic_file
from ..reports.doc import Doc
from ..reports.generation import generation_section
from ..reports.models import build, mclemcd_section

log = logging.getLogger(__name__)


def main(params: dict) -> None:
    paths = Paths(params)
    html_path, md_path = paths.results / "report.html", paths.results / "report.md"
    fig_dir = paths.results / "report_figures"
    with atomic_dir(fig_dir) as tmp:
        doc = Doc(tmp, "report_figures")
        build(params, doc)
        mclemcd_section(params, doc)
        if generation_results(params)["metrics"].exists():
            generation_section(params, doc)
        doc.fig_dir = tmp
        page = doc.html(f"Report: {params['dataset']}")
        with atomic_file(md_path, "w") as fh:
            fh.write(doc.markdown())
        with atomic_file(html_path, "w") as fh:
            fh.write(page)
    log.info("report written to %s and %s", html_path, md_path)


if __name__ == "__main__":
    raise SystemExit(run_stage(main, __doc__.splitlines()[0]))
