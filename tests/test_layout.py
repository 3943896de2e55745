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


def _is_stage(module: str) -> bool:
    """A DAG stage's entry point: ``pipelines.stages.<stage>`` or a family's ``stage_*`` module."""
    leaf = module.rsplit(".", 1)[-1]
    return (_folder(module) == "stages" and module != "pipelines.stages") or (
        _folder(module) == "families" and leaf.startswith("stage_")
    )


def _is_tool(module: str) -> bool:
    """A command outside the DAG: tools, benchmarks, a family's ``bench``, ``recommend`` or ``__main__``."""
    leaf = module.rsplit(".", 1)[-1]
    return _folder(module) in ("tools", "bench") or (
        _folder(module) == "families" and leaf in ("bench", "recommend", "__main__")
    )


def _own_bench(module: str, target: str) -> bool:
    """A family's record points at its own benchmark (``Family.step_rate``)."""
    return module.endswith(".family") and target == module.rsplit(".", 1)[0] + ".bench"


def test_no_library_imports_a_stage_a_tool_or_a_benchmark():
    """Nothing imports a stage, and only tools and benchmarks import tools and benchmarks:
    libraries and the top-level plumbing never depend on them."""
    offenders = []
    for module in _modules():
        for target in direct_imports(module):
            if _is_stage(target):
                offenders.append(f"{module} imports {target}")
            elif _is_tool(target) and not _is_tool(module) and not _own_bench(module, target):
                offenders.append(f"{module} imports {target}")
    assert not offenders, offenders
    assert len(_modules()) > 40


def _node(module: str) -> str:
    """The unit of the layering: a subpackage (a family folder counts as its own), or a top-level module."""
    parts = module.split(".")
    if len(parts) > 2 and parts[1] == "families":
        return ".".join(parts[:3])
    return ".".join(parts[:2]) if len(parts) > 1 else module


def test_no_import_cycle_between_subpackages():
    """The import graph between subpackages (each family folder one node, each top-level module
    one node) has no cycle: e.g. data never imports features back, config never imports a family."""
    graph: dict[str, set[str]] = {}
    for module in _modules():
        for target in direct_imports(module):
            a, b = _node(module), _node(target)
            if a != b and b != "pipelines":
                graph.setdefault(a, set()).add(b)
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, path: list[str]) -> bool:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycle.extend(path[path.index(nxt) :] + [node, nxt] if nxt in path else [node, nxt])
                return True
            if state.get(nxt) is None and visit(nxt, path + [node]):
                return True
        state[node] = 2
        return False

    for node in sorted(graph):
        if state.get(node) is None and visit(node, []):
            break
    assert not cycle, " -> ".join(cycle)


def test_a_family_is_named_only_in_its_folder_and_the_registry():
    """Outside ``pipelines/families/<name>/`` a family's name appears only in pipelines/registry.py:
    as a quoted string or a module path, in no generic module (DAG, stages, reports, tools, data...)."""
    families = sorted(p.name for p in (PACKAGE / "families").iterdir() if (p / "family.py").exists())
    assert {"retrieval", "motionbeat", "mclemcd", "dance2music"} <= set(families)
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] == "families" or rel == Path("registry.py"):
            continue
        text = path.read_text()
        for name in families:
            for needle in (f'params["{name}"]', f'"{name}.', f"'{name}.", f"families.{name}", f"families/{name}"):
                if needle in text:
                    offenders.append(f"{rel}: {needle}")
    assert not offenders, offenders


def test_family_stage_modules_do_not_import_family_records():
    """A family's stages read its code, never ``family.py`` (whose hooks reach the family's report
    code): editing a report reruns the report, not training."""
    offenders = []
    for module in _modules():
        if _is_stage(module):
            closure = module_closure(module)
            offenders += [
                f"{module} reaches {m}"
                for m in closure
                if (m.endswith(".family") and m != "pipelines.family") or m == "pipelines.registry"
            ]
    allowed = {"pipelines.stages.summarize", "pipelines.stages.report", "pipelines.stages.ablation_report"}
    assert not [o for o in offenders if o.split(" ")[0] not in allowed], offenders


def test_the_walker_sees_relative_absolute_and_function_level_imports(tmp_path):
    # the retrieval training imports the loop at module level
    assert "pipelines.training.loop" in direct_imports("pipelines.families.retrieval.training")
    assert "pipelines.ingest.stems" in direct_imports("pipelines.bench.ingest")  # inside a function
    closure = module_closure("pipelines.families.mclemcd.stage_train")
    assert {"pipelines.families.mclemcd.gcn", "pipelines.data.skeleton", "pipelines.families.mclemcd.tables"} <= closure
    assert not any(m.startswith("pipelines.stages.") for m in closure)


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
    for f in (
        "pipelines/training/loop.py",
        "pipelines/training/checkpoint.py",
        "pipelines/families/retrieval/model.py",
    ):
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
