"""The package layout: stages depend on libraries and never the reverse, the DAG parses
without a deep-learning import, and every stage declares the code it imports."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines import dag
from pipelines.codedeps import direct_imports, module_closure
from pipelines.config import REPO_ROOT, load_params

PACKAGE = REPO_ROOT / "pipelines"


def _modules() -> list[str]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(REPO_ROOT).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        out.append(".".join(parts))
    return out


def _folder(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and (PACKAGE / parts[1]).is_dir() else ""


def test_no_library_imports_a_stage_a_tool_or_a_benchmark():
    """Only stages import stages (none does), and only tools and benchmarks import tools and
    benchmarks: libraries and the top-level plumbing never depend on them."""
    offenders = []
    for module in _modules():
        for target in direct_imports(module):
            if _folder(target) == "stages" and target != "pipelines.stages":
                offenders.append(f"{module} imports {target}")
            elif _folder(target) in ("tools", "bench") and _folder(module) not in ("tools", "bench"):
                offenders.append(f"{module} imports {target}")
    assert not offenders, offenders
    assert len(_modules()) > 40


def test_the_walker_sees_relative_absolute_and_function_level_imports(tmp_path):
    # stages.train imports the loop at module level; tools.recommend imports libraries only
    assert "pipelines.training.loop" in direct_imports("pipelines.stages.train")
    assert "pipelines.ingest.stems" in direct_imports("pipelines.bench.ingest")  # inside a function
    closure = module_closure("pipelines.stages.mclemcd")
    assert {"pipelines.models.gcn", "pipelines.data.skeleton", "pipelines.reports.ablation"} <= closure
    assert not any(m.startswith("pipelines.stages.") and m != "pipelines.stages.mclemcd" for m in closure)


def test_dag_and_snakefile_import_no_torch_numpy_or_librosa():
    code = "import sys, pipelines.dag; print([m for m in ('torch', 'numpy', 'librosa') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_every_module_a_stage_loads_is_a_declared_dependency():
    """Import each stage module for real, from scratch, and check that every pipelines file it
    loaded is among the stage's declared deps (the AST walk must not miss an import)."""
    params = load_params(REPO_ROOT / "params.yaml")
    stages = {**dag.stages(params), **dag.stages({**params, "dataset": "youtube"})}
    modules = sorted({s.module_name for s in stages.values()})
    code = (
        "import importlib, json, sys\n"
        "out = {}\n"
        f"for m in {modules!r}:\n"
        "    for k in [k for k in sys.modules if k == 'pipelines' or k.startswith('pipelines.')]:\n"
        "        del sys.modules[k]\n"
        "    importlib.import_module(m)\n"
        "    out[m] = sorted(v.__file__ for k, v in sys.modules.items()\n"
        "                    if (k == 'pipelines' or k.startswith('pipelines.')) and getattr(v, '__file__', None))\n"
        "print(json.dumps(out))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout)
    for stage in stages.values():
        files = {str(Path(f).resolve().relative_to(REPO_ROOT)) for f in loaded[stage.module_name]}
        assert stage.module_name.replace(".", "/") + ".py" in files
        missing = files - set(stage.deps)
        assert not missing, (stage.name, missing)
    # not vacuous: the training stage reaches the loop, the checkpoint and the models
    for f in ("pipelines/training/loop.py", "pipelines/training/checkpoint.py", "pipelines/models/retrieval.py"):
        assert f in stages["train_clip_seed0"].deps


@pytest.mark.parametrize("stage", ["train_clip_seed0", "mclemcd", "encodec"])
def test_gpu_stages_are_declared(stage):
    params = load_params(REPO_ROOT / "params.yaml")
    if stage == "encodec":
        params = {**params, "dataset": "youtube"}
    assert dag.stages(params)[stage].gpu
    assert not dag.stages(load_params(REPO_ROOT / "params.yaml"))["train_linear_seed0"].gpu


def test_ruff_and_snakefmt_are_clean():
    bin_dir = Path(sys.executable).parent
    for cmd in (
        [sys.executable, "-m", "ruff", "check", "pipelines", "tests"],
        [sys.executable, "-m", "ruff", "format", "--check", "pipelines", "tests"],
        [str(bin_dir / "snakefmt"), "--check", "Snakefile", "workflow/rules"],
    ):
        out = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True)
        assert out.returncode == 0, (cmd, out.stdout[-2000:], out.stderr[-2000:])
