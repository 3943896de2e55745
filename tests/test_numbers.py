"""pipelines/tools/numbers.py (`make numbers`): docs/results.md is rewritten where the files of a
run are on disk, and every other section of the existing page (another dataset's results, a
benchmark that was not rerun) is kept verbatim with the commit and date it came from."""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.registry import scored_models
from pipelines.tools.numbers import main, render

from .helpers import write_params

HEADER = "# Measured results\n\nAn older header, replaced on every run.\n\n"

# Sections whose files the fake results tree does not hold: they must come back byte for byte.
KEPT_DATASET = """## `musictodance`

_From commit 2222222 (2020-02-02)._

Retrieval, music → motion over the test windows (results/musictodance/summary/<model>.json; protocol `kfold`).

| model | runs | piece R@1 |
|---|---|---|
| temporal | 5 | 18.6 ± 8.9 |"""

KEPT_BENCH = """## Benchmark `results/synthetic/bench_shards.json`

_From commit 3333333 (2020-03-03)._

Benchmark `results/synthetic/bench_shards.json`:

```
## not a heading: inside a code block
{"codecs": [{"codec": "blosc-lz4", "percent_of_memcpy": 49.4}]}
```"""

KEPT_ROOT_BENCH = """## Benchmark `results/bench_scale.json`

_From commit 4444444 (2020-04-04)._

Data stages at 1x, 4x and 16x the synthetic set (`make bench-scale`), `results/bench_scale.json`:

```
{"stage": "shards", "time_ratio": 17.71}
```"""

# A section the fake tree regenerates: its old text must go.
STALE_SYNTHETIC = """## `synthetic`

_From commit 1111111 (2020-01-01)._

STALE synthetic numbers."""

STALE_BENCH = """## Benchmark `results/synthetic/bench.json`

_From commit 1111111 (2020-01-01)._

Benchmark `results/synthetic/bench.json`:

```
{"old": true}
```"""


def _metric(mean: float, chance: float = 0.1) -> dict:
    return {"mean": mean, "std": 0.01, "n": 2, "values": [mean - 0.01, mean + 0.01], "ci95": [mean - 0.05, mean + 0.05],
            "chance": chance}  # fmt: skip


def _fake_results(root: Path, piece_r1: float = 0.5) -> None:
    """A ``synthetic`` results folder with the summaries `make numbers` reads, and two benchmarks."""
    summary = root / "synthetic" / "summary"
    summary.mkdir(parents=True, exist_ok=True)
    for m in scored_models({}):
        head = {
            "runs": ["seed0"] if m == "linear" else ["seed0", "seed1"],
            "protocol": "splits",
            "interval_over": "test queries of the main seed",
            "exact_median_rank": _metric(12.0, chance=40.0),
            "best_epoch": _metric(3.0),
        }
        for key in ("piece_R@1", "piece_R@10", "piece_mAP", "exact_R@10"):
            head[key] = _metric(piece_r1)
        for key in ("genre_probe_motion_window", "genre_probe_motion_balanced"):
            head[key] = _metric(0.7)
        (summary / f"{m}.json").write_text(json.dumps(head))
    (root / "synthetic" / "bench.json").write_text(json.dumps({"reads": {"windows_per_s": 11154}}))
    (root / "bench_noop.json").write_text(json.dumps({"rows": [{"command": "dvc status", "median_s": 1.515}]}))


def _existing() -> str:
    return HEADER + "\n\n".join([KEPT_DATASET, STALE_SYNTHETIC, STALE_BENCH, KEPT_BENCH, KEPT_ROOT_BENCH]) + "\n"


def _section(text: str, heading: str) -> str:
    """From ``heading`` to the next ``## `` heading outside a code block."""
    lines = text.splitlines()
    start = lines.index(heading)
    fenced = False
    for end in range(start + 1, len(lines)):
        fenced ^= lines[end].startswith("```")
        if not fenced and lines[end].startswith("## "):
            break
    else:
        end = len(lines)
    return "\n".join(lines[start:end]).strip()


def test_sections_without_files_are_kept_verbatim_and_the_others_regenerated(tmp_path):
    root = tmp_path / "results"
    _fake_results(root)
    text = render({"results_dir": str(root)}, _existing(), commit="abcdef0", date="2030-01-01")

    for kept in (KEPT_DATASET, KEPT_BENCH, KEPT_ROOT_BENCH):  # no file on disk: byte for byte
        assert _section(text, kept.splitlines()[0]) == kept
    assert "## not a heading: inside a code block" in _section(
        text, "## Benchmark `results/synthetic/bench_shards.json`"
    )

    assert "STALE" not in text and '"old": true' not in text  # regenerated from the files on disk
    synthetic = _section(text, "## `synthetic`")
    assert synthetic.splitlines()[2] == "_From commit abcdef0 (2030-01-01)._"
    assert "| temporal | 2 | 50.0 ± 1.0 |" in synthetic
    assert "11154" in _section(text, "## Benchmark `results/synthetic/bench.json`")
    noop = _section(text, "## Benchmark `results/bench_noop.json`")  # new: a section of its own, with its commit
    assert "_From commit abcdef0 (2030-01-01)._" in noop and "1.515" in noop
    assert not text.startswith(HEADER) and "kept as it was" in text

    headings = [line for line in text.splitlines() if line.startswith("## ") and "not a heading" not in line]
    assert headings == [  # datasets by name with their benchmarks, then the machine's benchmarks
        "## `musictodance`",
        "## `synthetic`",
        "## Benchmark `results/synthetic/bench.json`",
        "## Benchmark `results/synthetic/bench_shards.json`",
        "## Benchmark `results/bench_noop.json`",
        "## Benchmark `results/bench_scale.json`",
    ]
    for heading in headings:  # every section states where it came from
        assert _section(text, heading).splitlines()[2].startswith("_From commit ")


def test_a_second_run_changes_nothing_and_a_changed_file_only_its_section(tmp_path):
    root = tmp_path / "results"
    _fake_results(root)
    params = {"results_dir": str(root)}
    first = render(params, _existing(), commit="abcdef0", date="2030-01-01")
    # the same files at a later commit: unchanged sections keep the commit they came from
    assert render(params, first, commit="9999999", date="2031-01-01") == first

    _fake_results(root, piece_r1=0.25)  # new retrieval numbers; the benchmarks stay the same
    third = render(params, first, commit="9999999", date="2031-01-01")
    synthetic = _section(third, "## `synthetic`")
    assert "_From commit 9999999 (2031-01-01)._" in synthetic and "| temporal | 2 | 25.0 ± 1.0 |" in synthetic
    for heading in ("## Benchmark `results/synthetic/bench.json`", "## Benchmark `results/bench_noop.json`"):
        assert _section(third, heading) == _section(first, heading)
    assert _section(third, "## `musictodance`") == KEPT_DATASET


def test_a_page_from_before_commit_lines_keeps_its_benchmarks_and_other_datasets(tmp_path):
    """The old page had one commit in its header and benchmarks as paragraphs inside the last dataset's section."""
    root = tmp_path / "results"
    _fake_results(root)
    (root / "synthetic" / "bench.json").unlink()
    (root / "bench_noop.json").unlink()
    bench = ["Benchmark `results/synthetic/bench_shards.json`:", "", "```", '{"codec": "lzf"}', "```"]
    root_bench = ["No-op rerun after `make run` (`python -m pipelines.bench.noop`), `results/bench_noop.json`:", "",
                  "```", '{"median_s": 1.394}', "```"]  # fmt: skip
    ablation = ["MotionBeat ablations (`snakemake --cores 8 ablations`; results/synthetic/ablations/report.md):", "",
                "| variant | runs |", "|---|---|", "| full | 2 |"]  # fmt: skip
    legacy = "\n".join(
        ["# Measured results", "", "Generated by `make numbers` at commit 0000000 from the JSON files.", ""]
        + ["## `musictodance`", "", "Old musictodance numbers.", ""]
        + ["## `synthetic`", "", "Old synthetic numbers.", "", *ablation, "", *bench, "", *root_bench, ""]
    )
    text = render({"results_dir": str(root)}, legacy, commit="abcdef0", date="2030-01-01")

    old = "_From commit 0000000 (date unknown)._"
    assert _section(text, "## `musictodance`") == "\n".join(
        ["## `musictodance`", "", old, "", "Old musictodance numbers."]
    )
    for heading, body in (
        ("## `synthetic`: ablations", ablation),
        ("## Benchmark `results/synthetic/bench_shards.json`", bench),
        ("## Benchmark `results/bench_noop.json`", root_bench),
    ):
        assert _section(text, heading) == "\n".join([heading, "", old, "", *body])
    assert "Old synthetic numbers." not in text and "| temporal | 2 |" in _section(text, "## `synthetic`")
    assert render({"results_dir": str(root)}, text, commit="9999999", date="2031-01-01") == text


def test_make_numbers_keeps_the_existing_page_it_overwrites(tmp_path, tiny_params):
    _fake_results(Path(tiny_params["results_dir"]))
    out = tmp_path / "results.md"
    out.write_text(_existing())
    assert main(["--params", str(write_params(tmp_path / "params.yaml", tiny_params)), "--output", str(out)]) == 0
    text = out.read_text()
    assert _section(text, "## `musictodance`") == KEPT_DATASET and "STALE" not in text
