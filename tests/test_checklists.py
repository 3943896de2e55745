"""The README's checklists work as written, the layout table names every module, and a new variant
of one family reruns only that family's variant stages and the ablation report."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pipelines import dag
from pipelines.config import REPO_ROOT, load_params

from .helpers import tiny_dag_params, workflow_copy

README = (REPO_ROOT / "README.md").read_text()
PACKAGE = REPO_ROOT / "pipelines"


def _section(heading: str) -> str:
    return README.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]


def _steps(heading: str) -> list[str]:
    return [line for line in _section(heading).splitlines() if re.match(r"\d+\. ", line)]


def test_readme_fits_on_a_few_screens_with_two_short_checklists():
    assert len(README.splitlines()) <= 200
    for heading in ("Add a model family", "Add a dataset"):
        steps = _steps(heading)
        assert 3 <= len(steps) <= 10, (heading, steps)


def test_the_layout_table_names_every_module():
    """Each top-level module, each package folder, each family folder and each module of the
    other folders appears in README's "Where things are" table."""
    table = _section("Where things are")
    rows = {}
    for line in table.splitlines():
        if line.startswith("| `"):
            rows[line] = line
    text = "\n".join(rows)
    missing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if path.name == "__init__.py" and len(rel.parts) == 1:
            continue
        if len(rel.parts) == 1:
            if f"{path.name}" not in text:
                missing.append(str(rel))
            continue
        folder = rel.parts[0]
        if f"pipelines/{folder}/" not in text:
            missing.append(f"pipelines/{folder}/")
        if folder == "families":
            if len(rel.parts) > 2 and f"`{rel.parts[1]}/`" not in text:
                missing.append(f"family folder {rel.parts[1]}")
            continue
        row = next((r for r in rows if f"pipelines/{folder}/" in r), "")
        if path.name != "__init__.py" and f"`{path.name}`" not in row:
            missing.append(str(rel))
    assert not missing, f"README's layout table misses: {sorted(set(missing))}"


def test_a_new_variant_reruns_only_its_own_stages_and_the_ablation_report():
    """Add a MotionBeat variant: every existing stage keeps its command, params values, inputs,
    outputs and code, so neither runner reruns it; the new stages are the variant's runs, target
    ``ablations``; the ablation report (which reads them) is the one existing stage that changes."""
    params = load_params(REPO_ROOT / "params.yaml")
    before = dag.stages(params)
    changed = copy.deepcopy(params)
    changed["motionbeat"]["variants"]["narrow"] = {"width": 32}
    after = dag.stages(changed)
    new = sorted(set(after) - set(before))
    k = params["motionbeat"]["variant_seeds"]
    assert new == sorted(f"{step}_motionbeat_narrow_seed{i}" for step in ("train", "evaluate") for i in range(k))
    assert all(after[n].target == "ablations" for n in new)
    rerun = [
        name
        for name, stage in before.items()
        if (stage.cmd, stage.deps, stage.outs, stage.param_values(params))
        != (after[name].cmd, after[name].deps, after[name].outs, after[name].param_values(changed))
    ]
    assert rerun == ["ablation_report"], rerun
    # the default target is untouched: nothing of `all` changes
    assert dag.final_targets(params) == dag.final_targets(changed)


TOY_FAMILY = {
    "pipelines/families/cosine/__init__.py": "",
    "pipelines/families/cosine/stage_evaluate.py": '''
        """Stage ``evaluate_cosine``: music -> motion retrieval by the cosine of mean-pooled features."""

        import torch

        from ...cli import run_stage
        from ...config import Paths
        from ...files import write_json
        from ..retrieval.model import load_windows


        def main(params: dict) -> None:
            paths, dims = Paths(params), params["cosine"]["dims"]
            w = load_windows(paths.shard_file(params["train"]["window_frames"], "test"))
            a, m = w["audio"].mean(1)[:, :dims], w["motion"].mean(1)[:, :dims]
            a, m = (a - a.mean(0)) / (a.std(0) + 1e-6), (m - m.mean(0)) / (m.std(0) + 1e-6)
            sim = torch.nn.functional.normalize(a, dim=1) @ torch.nn.functional.normalize(m, dim=1).T
            r1 = float((sim.argmax(1) == torch.arange(len(sim))).float().mean())
            write_json(paths.results / "cosine" / "scores.json", {"R@1": r1, "windows": len(sim)})


        if __name__ == "__main__":
            raise SystemExit(run_stage(main, __doc__.splitlines()[0]))
    ''',
    "pipelines/families/cosine/family.py": '''
        """The toy family's record."""

        import json

        from ...config import Paths
        from ...family import Family
        from ...files import write_json
        from ...stage import Stage


        def stages(params, data):
            out = str(Paths(params).results / "cosine" / "scores.json")
            module = "pipelines.families.cosine.stage_evaluate"
            return [Stage("evaluate_cosine", [data.shards], ["cosine"], [out], module=module, results=True)]


        def summarize(params, heads, per_query):
            paths = Paths(params)
            heads["cosine"] = json.loads((paths.results / "cosine" / "scores.json").read_text())
            write_json(paths.headline("cosine"), heads["cosine"])
            write_json(paths.metrics_file("cosine"), heads["cosine"])
            return []


        def report(params, doc, context):
            doc.h(2, "Mean-pooled cosine")
            doc.p(f"R@1 {json.loads(Paths(params).headline('cosine').read_text())['R@1']:.3f}")


        FAMILY = Family(
            name="cosine", title="Mean-pooled cosine", stages=stages, models=lambda p: ("cosine",),
            summarize=summarize, report=report,
        )
    ''',
}


@pytest.mark.slow
def test_add_a_model_family_as_the_readme_says(tmp_path):
    """README "Add a model family", step by step, in a copy of the workflow: a toy family (the
    cosine of mean-pooled features) appears in `snakemake -n all`, runs, and summarize and the
    report pick it up."""
    params = tiny_dag_params(tmp_path)
    work = workflow_copy(tmp_path / "work", params, extra=("params.yaml",))
    steps = _steps("Add a model family")
    # 1-4: the folder, its stage, its record
    assert "pipelines/families/<name>/" in steps[0] and "stage_<step>.py" in steps[1] and "FAMILY = Family(" in steps[3]
    for rel, text in TOY_FAMILY.items():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_text(textwrap.dedent(text).lstrip())
    # 5: the registry
    assert "pipelines/registry.py" in steps[4]
    registry = work / "pipelines" / "registry.py"
    text = registry.read_text()
    text = text.replace(
        "from .family import Family\n",
        "from .families.cosine.family import FAMILY as COSINE\nfrom .family import Family\n",
    )
    text = text.replace(
        "(RETRIEVAL, MOTIONBEAT, MCLEMCD, DANCE2MUSIC)", "(RETRIEVAL, MOTIONBEAT, MCLEMCD, DANCE2MUSIC, COSINE)"
    )
    registry.write_text(text)
    # 6: params section (commented) and its schema
    assert "params.yaml" in steps[5] and "params.schema.json" in steps[5]
    with (work / "params.yaml").open("a") as fh:
        fh.write("cosine:                     # the toy family\n  dims: 8                   # features compared\n")
    schema_path = work / "workflow" / "schemas" / "params.schema.json"
    schema = json.loads(schema_path.read_text())
    schema["properties"]["cosine"] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["dims"],
        "properties": {"dims": {"type": "integer", "minimum": 1}},
    }
    schema["required"].append("cosine")
    schema_path.write_text(json.dumps(schema, indent=2))
    # 7: the generators, then Snakemake sees the stage
    assert "params_schema --write" in steps[6] and "snakemake -n all" in steps[6]
    smk = [str(Path(sys.executable).parent / "snakemake"), "--cores", "2"]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    # (the tiny params file, written by the test helpers, carries no comments for the schema generator)
    out = subprocess.run(
        [sys.executable, "-m", "pipelines.dag", "--write", "--output", str(work / "dvc.yaml")],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "evaluate_cosine:" in (work / "dvc.yaml").read_text()
    dry = subprocess.run(smk + ["-n", "all"], cwd=work, capture_output=True, text=True, timeout=600, env=env)
    assert dry.returncode == 0 and "evaluate_cosine" in dry.stdout + dry.stderr, dry.stderr[-3000:]
    # the stage runs, then summarize and the report (limited to the toy family) pick it up
    run = subprocess.run(
        smk + ["results/synthetic/cosine/scores.json"], cwd=work, capture_output=True, text=True, timeout=1200, env=env
    )
    assert run.returncode == 0, run.stderr[-3000:]
    driver = (
        "from pipelines.config import load_params\n"
        "from pipelines.registry import family\n"
        "from pipelines.stages import report, summarize\n"
        "summarize.FAMILIES = report.FAMILIES = (family('cosine'),)\n"
        "p = load_params('params.yaml')\n"
        "summarize.main(p)\n"
        "report.main(p)\n"
    )
    out = subprocess.run([sys.executable, "-c", driver], cwd=work, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    head = json.loads((work / "results" / "synthetic" / "summary" / "cosine.json").read_text())
    assert 0 <= head["R@1"] <= 1 and head["windows"] > 1
    assert "## Mean-pooled cosine" in (work / "results" / "synthetic" / "report.md").read_text()


TOY_DATASET = '''
    """A toy dataset: one sequence per split of the synthetic dataset's generated tree."""

    from pathlib import Path

    from .record import Dataset
    from .synthetic import DATASET as SYNTHETIC


    def _raw(params):  # the tree `dataset: synthetic` generates (its stage acquire)
        return [str(Path(params["data_dir"]) / "synthetic" / "raw")]


    def _build_index(params, skips):
        rows, excluded, info = SYNTHETIC.build_index({**params, "dataset": "synthetic"}, skips)
        per_split = params["datasets"]["toy"]["per_split"]
        keep = [r for s in ("train", "val", "test") for r in [r for r in rows if r["split"] == s][:per_split]]
        return keep, excluded, info


    DATASET = Dataset(
        name="toy", motion_fps=SYNTHETIC.motion_fps, skeleton=SYNTHETIC.skeleton, source_deps=_raw,
        build_index=_build_index, genre_names=SYNTHETIC.genre_names,
    )
'''


@pytest.mark.slow
def test_add_a_dataset_as_the_readme_says(tmp_path):
    """README "Add a dataset", step by step, in a copy of the workflow: a 3-sequence subset of the
    synthetic set becomes `dataset: toy`; `snakemake -n all` plans the whole DAG on it and its data
    stages run to the shards and the data report."""
    params = tiny_dag_params(tmp_path)
    work = workflow_copy(tmp_path / "work", params)
    smk = [str(Path(sys.executable).parent / "snakemake"), "--cores", "2"]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}

    def run(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
        out = subprocess.run(list(args), cwd=work, capture_output=True, text=True, timeout=timeout, env=env)
        assert out.returncode == 0, (args, out.stdout[-2000:], out.stderr[-3000:])
        return out

    run(*smk, "data/synthetic/index")  # the synthetic tree the toy reads
    steps = _steps("Add a dataset")
    # 1: the module
    assert "pipelines/datasets/<name>.py" in steps[0] and "DATASET = Dataset(" in steps[0]
    (work / "pipelines" / "datasets" / "toy.py").write_text(textwrap.dedent(TOY_DATASET).lstrip())
    # 2: listed once
    assert "DATASETS" in steps[1]
    init = work / "pipelines" / "datasets" / "__init__.py"
    text = init.read_text().replace(
        "from .youtube import DATASET as YOUTUBE\n",
        "from .toy import DATASET as TOY\nfrom .youtube import DATASET as YOUTUBE\n",
    )
    init.write_text(
        text.replace("(SYNTHETIC, AISTPP, MUSICTODANCE, YOUTUBE)", "(SYNTHETIC, AISTPP, MUSICTODANCE, YOUTUBE, TOY)")
    )
    # 3: its params section and schema
    assert "datasets.<name>" in steps[2] and "params.schema.json" in steps[2]
    params["datasets"]["toy"] = {"per_split": 1}
    schema_path = work / "workflow" / "schemas" / "params.schema.json"
    schema = json.loads(schema_path.read_text())
    schema["properties"]["datasets"]["properties"]["toy"] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["per_split"],
        "properties": {"per_split": {"type": "integer", "minimum": 1}},
    }
    schema_path.write_text(json.dumps(schema, indent=2))
    # 4: select it, regenerate dvc.yaml, plan and run
    assert "dataset: <name>" in steps[3] and "pipelines.dag --write" in steps[3]
    params["dataset"] = "toy"
    (work / "params.yaml").write_text(json.dumps(params))  # JSON is YAML
    run(sys.executable, "-m", "pipelines.dag", "--write", "--output", str(work / "dvc.yaml"))
    assert "data/toy/shards" in (work / "dvc.yaml").read_text()
    dry = run(*smk, "-n", "all")
    for stage in ("acquire", "shards", "train_clip_seed0", "evaluate_motionbeat_seed0", "mclemcd", "report"):
        assert re.search(rf"\b{stage}\b", dry.stdout + dry.stderr), stage
    run(*smk, "data/toy/shards", "results/toy/data_report/summary.json", timeout=1200)
    index = (work / "data" / "toy" / "index" / "sequences.csv").read_text().splitlines()
    assert len(index) == 1 + 3, index
    summary = json.loads((work / "results" / "toy" / "data_report" / "summary.json").read_text())
    assert summary["sequences"] == 3
    assert sorted(p.name for p in (work / "data" / "toy" / "shards").glob("*_test.h5"))
