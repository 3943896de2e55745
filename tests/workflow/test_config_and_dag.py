import subprocess
import sys

import pytest
import yaml

from pipelines import dag
from pipelines.config import REPO_ROOT, ParamsError, load_params, validate_params

from ..helpers import base_params


def test_params_yaml_is_valid():
    load_params(REPO_ROOT / "params.yaml")


@pytest.mark.parametrize(
    "mutate, key",
    [
        (lambda p: p["audio"].__setitem__("n_mels", "many"), "audio.n_mels"),
        (lambda p: p["windows"][1].__setitem__("stride", 0), "windows.1.stride"),
        (lambda p: p.__setitem__("dataset", "imagenet"), "dataset"),
        (lambda p: p["shards"].__setitem__("compresion", "gzip"), "shards"),
    ],
)
def test_schema_error_names_the_bad_key(mutate, key):
    p = base_params()
    mutate(p)
    with pytest.raises(ParamsError) as exc:
        validate_params(p, source="params.yaml")
    msg = str(exc.value)
    assert msg.startswith(f"params.yaml: {key}:"), msg
    assert "\n" not in msg


def test_dvc_yaml_matches_the_dag():
    """dvc.yaml is generated from pipelines/dag.py; it must not drift."""
    assert (REPO_ROOT / "dvc.yaml").read_text() == dag.dvc_yaml(load_params(REPO_ROOT / "params.yaml")), (
        "dvc.yaml drifted: run `python -m pipelines.dag --write`"
    )
    rc = subprocess.run([sys.executable, "-m", "pipelines.dag", "--check"], cwd=REPO_ROOT).returncode
    assert rc == 0


def test_dag_check_detects_drift(tmp_path):
    stale = tmp_path / "dvc.yaml"
    stale.write_text((REPO_ROOT / "dvc.yaml").read_text().replace("pipelines/stages/windows.py", "pipelines/x.py"))
    rc = subprocess.run(
        [sys.executable, "-m", "pipelines.dag", "--check", "--output", str(stale)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert rc.returncode == 1 and "out of date" in rc.stderr


def _workflow_copy(tmp_path, params: dict):
    """The workflow in a scratch folder with these params (for datasets other than the default)."""
    import shutil

    for item in ("workflow", "pipelines"):
        shutil.copytree(REPO_ROOT / item, tmp_path / item, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO_ROOT / "Snakefile", tmp_path / "Snakefile")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return tmp_path


def _youtube_params(backend: str) -> dict:
    p = base_params()
    p["dataset"] = "youtube"
    p["stems"]["backend"] = backend
    return p


@pytest.mark.parametrize("variant", ["default", "youtube-hpss", "youtube-spleeter"])
def test_snakemake_rules_match_dvc_stages(variant, tmp_path):
    """Every Snakemake rule runs the same command on the same files as its dvc.yaml stage."""
    if variant == "default":
        workdir, params = REPO_ROOT, load_params(REPO_ROOT / "params.yaml")
        stages = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())["stages"]
    else:
        params = _youtube_params(variant.split("-")[1])
        workdir = _workflow_copy(tmp_path, params)
        stages = yaml.safe_load(dag.dvc_yaml(params))["stages"]
        assert {"youtube_clips", "pose", "stems", "encodec"} <= set(stages) and "report" not in stages
    # ask Snakemake for each rule's command and files through its API
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings

    with SnakemakeApi(OutputSettings(quiet=True)) as api:
        wf = api.workflow(
            resource_settings=ResourceSettings(),
            config_settings=ConfigSettings(),
            snakefile=workdir / "Snakefile",
            workdir=workdir,
        )
        rules = {r.name: r for r in wf._workflow.rules}
    assert set(stages) <= set(rules)
    dag_stages = dag.stages(params)
    for name, stage in stages.items():
        rule = rules[name]
        assert rule.shellcmd == "{params.cmd} > {log} 2>&1", name
        # the same command; dvc.yaml's GPU stages go through the DVC launcher (pipelines.launch)
        launched = f"python -m pipelines.launch --params params.yaml -- {rule.params.cmd}"
        assert stage["cmd"] == (launched if dag_stages[name].gpu else rule.params.cmd), name
        assert str(rule.log[0]) == f"logs/{name}.log"
        assert sorted(map(str, rule.input)) == sorted(stage["deps"]), name
        extra = stage.get("metrics", []) + stage.get("plots", [])  # cached by DVC, so `dvc push` shares them
        assert sorted(map(str, rule.output)) == sorted(stage["outs"] + extra), name
        keys = [k.replace("__", ".") for k in rule.params.keys() if k != "cmd"]
        assert sorted(keys) == sorted(stage.get("params", [])), name
        assert rule.resources["gpu"] == int(dag_stages[name].gpu), name
        assert rule.resources["_cores"] == dag_stages[name].threads, name
    if variant != "default":
        assert "pipelines.launch" in stages["encodec"]["cmd"]
        assert rules["encodec"].resources["gpu"] == 1
        assert rules["stems"].resources["gpu"] == (variant == "youtube-spleeter")
        assert str(rules["stems"].conda_env).endswith(
            "spleeter.yaml" if variant == "youtube-spleeter" else "pipeline.yaml"
        )


@pytest.mark.parametrize("variant", ["default", "youtube"])
def test_snakemake_lint_is_clean(variant, tmp_path):
    workdir = REPO_ROOT if variant == "default" else _workflow_copy(tmp_path, _youtube_params("spleeter"))
    out = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], cwd=workdir, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]


def test_a_moved_key_names_its_new_place():
    params = base_params()
    params["train"]["device"] = params.pop("device")
    with pytest.raises(ParamsError, match=r"^params.yaml: train.device: moved to `device`"):
        validate_params(params)
