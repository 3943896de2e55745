"""Stage ``<stage>`` when a per-clip stage fans out: join its parts' summaries into the one summary.

``python -m pipelines.stages.gather_clips --params params.yaml --summary pose_summary``

With ``cluster.clip_jobs`` N > 1 the per-clip stages (pose, stems, encodec) run as N jobs each
(``<stage>_part<I>``, ``--part I/N``: every N-th clip from the I-th, so 1000 clips and N = 100
make 100 jobs of 10 clips that a cluster runs side by side). This stage joins their
``<target>/<summary>.part<I>of<N>.json`` rows, in clip order, into ``<target>/<summary>.json``:
the same file, byte for byte, as one job over every clip writes, so the stages after it cannot
tell how the work was split. A part that has not run is one line naming its file.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..cli import run_stage
from ..files import write_json
from ..ingest.clips import clip_jobs, gather_summaries, summary_file

log = logging.getLogger(__name__)

#: The per-clip stages that fan out, by their summary's name.
CLIP_SUMMARIES = {"pose_summary": "pose", "stems_summary": "stems", "codes_summary": "encodec"}


def main(params: dict, *, summary: str) -> None:
    target, parts = Path(params["youtube"]["target"]), clip_jobs(params)
    rows = gather_summaries(target, summary, parts=parts)
    out = write_json(summary_file(target, summary), rows)
    log.info("%s: %d clips from %d parts -> %s", CLIP_SUMMARIES[summary], len(rows), parts, out)


if __name__ == "__main__":
    raise SystemExit(run_stage(main, __doc__.splitlines()[0], options={"summary": tuple(CLIP_SUMMARIES)}))
