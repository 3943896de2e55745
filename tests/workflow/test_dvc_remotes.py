"""`make push` / `make pull` through DVC remotes: after one (tiny) `dvc repro`, every output
dvc.yaml tracks goes to a local-directory remote and to an S3 endpoint (moto's server on
127.0.0.1); a fresh clone (the tracked files only: no outputs, no DVC cache) pulls them back byte
for byte, and then neither DVC nor Snakemake finds anything to run."""

import hashlib
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ..helpers import WORKFLOW_FILES, copy_item, tiny_dag_params, workflow_copy

pytestmark = pytest.mark.slow  # runs the whole (tiny) pipeline once

#: What a clone of the repository holds (besides the virtual environment `make` builds).
MAKE_FILES = ("Makefile", "requirements.txt")  # make push / make pull
TRACKED = (*WORKFLOW_FILES, *MAKE_FILES)
#: The folders the stages write into (params: data_dir, models_dir, results_dir).
OUTPUT_DIRS = ("data", "models", "results")
BUCKET = "dvc-store"


def _run(cmd: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
    if check:
        assert out.returncode == 0, (cmd, out.stdout[-3000:], out.stderr[-3000:])
    return out


def _make(target: str, cwd: Path, remote: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    # STAMP= : the Makefile's virtual environment is this interpreter's (it has requirements.txt)
    return _run(["make", "-s", "STAMP=", target] + ([f"REMOTE={remote}"] if remote else []), cwd, check=check)


def _hashes(root: Path) -> dict[str, str]:
    """SHA-256 of every file under the output folders, by path relative to ``root``; Snakemake's
    `.snakemake_timestamp` markers are left out (they are in .dvcignore)."""
    out = {}
    for folder in OUTPUT_DIRS:
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and path.name != ".snakemake_timestamp":
                out[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _lock_outs(root: Path) -> list[str]:
    lock = yaml.safe_load((root / "dvc.lock").read_text())
    return [out["path"] for stage in lock["stages"].values() for out in stage.get("outs", [])]


@pytest.fixture
def s3_endpoint(request, tmp_path, monkeypatch) -> str:
    """An S3 endpoint on 127.0.0.1 (moto's server, a free port) with an empty bucket, dummy AWS
    credentials in the environment, and DVC's user and system config kept out of the test."""
    import boto3
    from moto.server import ThreadedMotoServer

    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    for level in ("GLOBAL", "SYSTEM"):
        (tmp_path / f"dvc-{level.lower()}").mkdir()
        monkeypatch.setenv(f"DVC_{level}_CONFIG_DIR", str(tmp_path / f"dvc-{level.lower()}"))
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    werkzeug = logging.getLogger("werkzeug")  # no log line per request
    request.addfinalizer(lambda level=werkzeug.level: werkzeug.setLevel(level))
    werkzeug.setLevel(logging.WARNING)

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    request.addfinalizer(server.stop)
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=url).create_bucket(Bucket=BUCKET)
    return url


def test_push_then_pull_into_a_fresh_clone_reproduces_nothing(tmp_path, s3_endpoint):
    import boto3

    work = workflow_copy(tmp_path / "wf", tiny_dag_params(tmp_path), extra=MAKE_FILES)
    python = sys.executable
    _run([python, "-m", "pipelines.dag", "--write", "--params", "params.yaml", "--output", "dvc.yaml"], work)
    _run([python, "-m", "dvc", "init", "--no-scm", "-q"], work)

    # no remote yet: `make push` stops with one line that says what to do
    failed = _make("push", work, check=False)
    assert failed.returncode != 0
    assert "no DVC remote configured: dvc remote add -d" in failed.stderr, failed.stderr
    assert failed.stderr.splitlines()[0].startswith("make push: "), failed.stderr

    _run([python, "-m", "dvc", "repro", "-q"], work)
    expected = _hashes(work)
    outs = _lock_outs(work)
    assert outs and any(p.endswith(".h5") for p in expected) and any(p.endswith(".pt") for p in expected)
    for out in outs:  # each output dvc.lock records is among the files compared below
        assert any(p == out or p.startswith(out.rstrip("/") + "/") for p in expected), out

    # two remotes in .dvc/config (what a clone gets): a folder, the default, and an S3 bucket
    # prefix; the S3 credentials come from the environment, never from the config
    store = tmp_path / "store"
    _run([python, "-m", "dvc", "remote", "add", "-d", "local", str(store)], work)
    _run([python, "-m", "dvc", "remote", "add", "s3", f"s3://{BUCKET}/pipelines"], work)
    _run([python, "-m", "dvc", "remote", "modify", "s3", "endpointurl", s3_endpoint], work)
    assert _make("push", work, remote="nonexistent", check=False).stderr.startswith(
        "make push: no DVC remote named 'nonexistent'"
    )

    for remote in ("local", "s3"):
        _make("push", work, remote=None if remote == "local" else remote)
        status = _run([python, "-m", "dvc", "status", "--cloud", "--remote", remote], work)
        assert "are in sync" in status.stdout, status.stdout[-3000:]
        if remote == "local":
            assert any(p.is_file() for p in store.rglob("*"))
        else:
            listed = boto3.client("s3", endpoint_url=s3_endpoint).list_objects_v2(Bucket=BUCKET, Prefix="pipelines/")
            assert listed["KeyCount"] > 0

        # a fresh clone: the tracked files, no outputs, no DVC cache
        clone = tmp_path / f"clone-{remote}"
        for item in (*TRACKED, "params.yaml", "dvc.yaml", "dvc.lock", ".dvc/config"):
            copy_item(work / item, clone / item)
        assert not any((clone / d).exists() for d in OUTPUT_DIRS)
        _make("pull", clone, remote=None if remote == "local" else remote)
        pulled = _hashes(clone)
        wrong = {
            "missing": sorted(set(expected) - set(pulled)),
            "extra": sorted(set(pulled) - set(expected)),
            "different": sorted(p for p in set(expected) & set(pulled) if expected[p] != pulled[p]),
        }
        assert not any(wrong.values()), f"outputs pulled from remote {remote!r} differ from the run's: " + "; ".join(
            f"{kind}: {', '.join(paths)}" for kind, paths in wrong.items() if paths
        )
        status = _run([python, "-m", "dvc", "status"], clone)
        assert "Data and pipelines are up to date" in status.stdout, status.stdout[-3000:]
        repro = _run([python, "-m", "dvc", "repro"], clone)
        assert "Running stage" not in repro.stdout, repro.stdout[-3000:]
        assert "Data and pipelines are up to date" in repro.stdout, repro.stdout[-3000:]
        dry = _run([python, "-m", "snakemake", "-n", "all"], clone)
        assert "Nothing to be done" in dry.stdout + dry.stderr, dry.stdout[-3000:]
