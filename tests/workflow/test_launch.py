"""The DVC launcher (``cluster.launcher``): GPU stages of dvc.yaml run through it, Snakemake's do not."""

import subprocess
import sys

from pipelines.config import REPO_ROOT, load_params
from pipelines.dag import stages
from pipelines.launch import launch_argv


def test_launcher_words_go_in_front_of_the_command_and_an_empty_one_adds_nothing():
    cmd = ["python", "-m", "pipelines.families.retrieval.stage_train", "--params", "params.yaml"]
    assert launch_argv({"cluster": {"launcher": ""}}, cmd) == cmd
    assert launch_argv({}, cmd) == cmd
    srun = {"cluster": {"launcher": "srun --gpus=1 --partition='gpu a100'"}}
    assert launch_argv(srun, cmd) == ["srun", "--gpus=1", "--partition=gpu a100", *cmd]


def test_only_gpu_stages_go_through_the_launcher_and_only_in_dvc_yaml():
    st = stages(load_params(REPO_ROOT / "params.yaml")).values()
    gpu = [s for s in st if s.gpu]
    assert gpu and all(s.dvc_cmd == f"python -m pipelines.launch --params params.yaml -- {s.cmd}" for s in gpu)
    assert all(s.dvc_cmd == s.cmd for s in st if not s.gpu)
    assert all("launch" not in s.cmd for s in st)  # Snakemake's command: its executor places the job


def test_the_wrapper_passes_the_exit_status_and_a_missing_launcher_is_one_line(tmp_path):
    params = load_params(REPO_ROOT / "params.yaml")
    params["cluster"] = {**params.get("cluster", {}), "launcher": "no-such-launcher-xyz"}
    import yaml

    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    ok = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines.launch",
            "--params",
            str(REPO_ROOT / "params.yaml"),
            "--",
            "sh",
            "-c",
            "exit 3",
        ],
        cwd=REPO_ROOT,
    )
    assert ok.returncode == 3
    bad = subprocess.run(
        [sys.executable, "-m", "pipelines.launch", "--params", str(path), "--", "true"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 127 and bad.stderr.strip().splitlines() == [
        f"{path}: cluster.launcher: 'no-such-launcher-xyz' not found"
    ]
