"""pipelines/files.py: atomic writes remove the leftovers of killed writers of the same target,
and only those (a live writer's temporary, another target's, a recent foreign one stay)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines import files
from pipelines.config import REPO_ROOT
from pipelines.files import (
    STALE_AFTER_S,
    atomic_dir,
    atomic_file,
    owner_tag,
    process_alive,
    remove_stale_temporaries,
)


def _dead_pid() -> tuple[int, int]:
    """The pid and start time of a process that has exited and been reaped."""
    proc = subprocess.Popen(["sleep", "30"])
    start = files._start_time(proc.pid)
    proc.kill()
    proc.wait()
    return proc.pid, start


def _leftover(folder: Path, name: str, pid: int, start: int, *, kind: str = "tmp", host: str | None = None) -> Path:
    path = folder / f".{name}.{kind}-{host or files._host_tag()}-{pid}-{start}-abc_1234"
    path.mkdir()
    (path / "half.h5").write_bytes(b"half a shard")
    return path


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    for p in [path, *path.rglob("*")]:
        os.utime(p, (then, then), follow_symlinks=False)


def test_names_carry_the_writer_and_its_start_time(tmp_path):
    host, pid, start = owner_tag().split("-")
    assert len(host) == 8 and int(pid) == os.getpid()
    assert int(start) == int((Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split())[19])
    with atomic_dir(tmp_path / "out") as tmp:
        assert tmp.name.startswith(f".out.tmp-{owner_tag()}-")
    with atomic_file(tmp_path / "a.json") as fh:
        assert Path(fh.name).name.startswith(f".a.json.tmp-{owner_tag()}-")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "out"]


def test_a_live_writers_temporary_stays_and_a_dead_ones_goes(tmp_path):
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        live = _leftover(tmp_path, "shards", sleeper.pid, files._start_time(sleeper.pid))
        mine = _leftover(tmp_path, "shards", os.getpid(), files._start_time(os.getpid()), kind="old")
        dead = _leftover(tmp_path, "shards", *_dead_pid())
        dead_old = _leftover(tmp_path, "shards", *_dead_pid(), kind="old")
        (tmp_path / "shards").mkdir()  # the target exists: a dead writer's .old- is garbage
        assert sorted(remove_stale_temporaries(tmp_path / "shards")) == sorted([dead, dead_old])
        assert live.is_dir() and mine.is_dir() and not dead.exists() and not dead_old.exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    assert remove_stale_temporaries(tmp_path / "shards") == [live]


def test_a_reused_pid_or_a_zombie_is_not_the_writer(tmp_path):
    pid, start = os.getpid(), files._start_time(os.getpid())
    assert process_alive(pid, start) and process_alive(pid, 0)
    assert not process_alive(pid, start + 1)  # same pid, another process
    zombie = subprocess.Popen(["true"])
    for _ in range(1000):  # exited but not reaped: /proc still lists it, in state Z
        if files._proc_stat(zombie.pid)[0] == "Z":
            break
        time.sleep(0.01)
    try:
        assert not process_alive(zombie.pid, files._start_time(zombie.pid))
    finally:
        zombie.wait()
    reused = _leftover(tmp_path, "w25.csv", pid, start + 1)
    assert remove_stale_temporaries(tmp_path / "w25.csv") == [reused]


def test_only_the_targets_own_leftovers_are_touched(tmp_path):
    pid, start = _dead_pid()
    others = [_leftover(tmp_path, name, pid, start) for name in ("shards2", "shards.part0of2", "windows", "xshards")]
    (tmp_path / ".shards.tmp-notes").write_text("someone else's")  # no owner, recent: kept
    own = _leftover(tmp_path, "shards", pid, start)
    assert remove_stale_temporaries(tmp_path / "shards") == [own]
    assert all(p.is_dir() for p in others) and (tmp_path / ".shards.tmp-notes").is_file()


def test_unattributable_leftovers_go_only_after_a_day(tmp_path):
    """Earlier names without an owner, and another host's (a shared filesystem), are removed only
    when nothing in them changed for STALE_AFTER_S."""
    pid, start = _dead_pid()
    foreign = _leftover(tmp_path, "shards", pid, start, host="0123abcd")
    old_style = tmp_path / ".shards.tmp-k2j4_x9a"
    old_style.mkdir()
    (old_style / "w25_train.h5").write_bytes(b"half")
    old_style_file = tmp_path / ".shards.old-4242"
    old_style_file.write_bytes(b"x")
    (tmp_path / "shards").mkdir()
    assert files._host_tag() != "0123abcd"
    assert remove_stale_temporaries(tmp_path / "shards") == []
    for p in (foreign, old_style, old_style_file):
        _age(p, STALE_AFTER_S - 600)
    assert remove_stale_temporaries(tmp_path / "shards") == []
    os.utime(old_style / "w25_train.h5")  # written to a minute ago: still in use
    for p in (foreign, old_style_file):
        _age(p, STALE_AFTER_S + 60)
    assert sorted(remove_stale_temporaries(tmp_path / "shards")) == sorted([foreign, old_style_file])
    _age(old_style, STALE_AFTER_S + 60)
    assert remove_stale_temporaries(tmp_path / "shards") == [old_style]


def test_killed_between_the_renames_the_previous_output_comes_back(tmp_path):
    """atomic_dir moves the old target to .old-… before renaming the new one in: a kill in
    between leaves no target, and the next write of it restores the last complete output."""
    previous = _leftover(tmp_path, "shards", *_dead_pid(), kind="old")
    remove_stale_temporaries(tmp_path / "shards")
    assert not previous.exists() and (tmp_path / "shards" / "half.h5").read_bytes() == b"half a shard"


def test_atomic_writes_clean_up_after_a_killed_writer_but_not_a_running_one(tmp_path):
    """A real second process holds its atomic_file open; this process writes the same target
    meanwhile without touching its temporary; after a SIGKILL of the writer the next write
    removes what it left."""
    target = tmp_path / "summary.json"
    code = (
        "import sys, time; from pathlib import Path; from pipelines.files import atomic_file\n"
        "with atomic_file(Path(sys.argv[1])) as fh:\n"
        "    fh.write('half'); fh.flush(); print('writing', flush=True); time.sleep(60)\n"
    )
    writer = subprocess.Popen([sys.executable, "-c", code, str(target)], cwd=REPO_ROOT, stdout=subprocess.PIPE)
    try:
        assert writer.stdout.readline().strip() == b"writing"
        (theirs,) = tmp_path.glob(".summary.json.tmp-*")
        with atomic_file(target) as fh:
            fh.write("{}\n")
        assert theirs.is_file() and target.read_text() == "{}\n"
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    assert theirs.is_file()  # SIGKILL: no cleanup ran
    with atomic_file(target) as fh:
        fh.write("[]\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.json"] and target.read_text() == "[]\n"


def test_a_failing_block_keeps_the_previous_output_and_leaves_nothing(tmp_path):
    target = tmp_path / "out"
    with atomic_dir(target) as tmp:
        (tmp / "a").write_text("1")
    with pytest.raises(RuntimeError), atomic_dir(target) as tmp:
        (tmp / "a").write_text("2")
        raise RuntimeError("bad input")
    with pytest.raises(RuntimeError), atomic_file(tmp_path / "f.txt") as fh:
        fh.write("x")
        raise RuntimeError("bad input")
    assert (target / "a").read_text() == "1" and [p.name for p in tmp_path.iterdir()] == ["out"]
    with atomic_dir(target) as tmp:  # replacing: the .old- copy is gone afterwards
        (tmp / "a").write_text("3")
    assert (target / "a").read_text() == "3" and [p.name for p in tmp_path.iterdir()] == ["out"]
