"""A single-node SLURM cluster on this machine, for running the DAG through Snakemake's SLURM
executor (``workflow/profiles/slurm``) without a real cluster.

``python -m pipelines.tools.local_slurm start --dir D`` writes ``slurm.conf``, ``gres.conf`` and
``cgroup.conf`` into ``D`` (nothing under /etc), creates a munge key there when it has none,
starts ``munged``, ``slurmctld`` and ``slurmd`` in the foreground of their own sessions (their
PIDs, checked against ``/proc`` start times, are kept in ``D/daemons.json``) and waits until
``sinfo`` shows the node idle. ``stop --dir D`` cancels what is left in the queue, ends those
PIDs and checks they are gone; ``status --dir D`` prints the daemons and ``sinfo``.

The node is this machine: its CPU count and memory (``slurmd -C``), one GPU (``Gres=gpu:1``,
``File=/dev/null``: a scheduling token, so the ``--gpus=1`` jobs of the GPU stages run; on a
machine without CUDA they run on the CPU) and two partitions on it, ``cpu`` (the default) and
``gpu``. ``--cpus N`` declares fewer CPUs: with one CPU per job (``workers: 1``) the node runs
at most ``N`` jobs at once, which is how a benchmark compares 1 with 2 concurrent jobs. There is
no slurmdbd: ``sacct`` has no records, so Snakemake's executor must ask ``squeue``
(``slurm-status-command: squeue``); ``MinJobAge`` keeps finished jobs in ``squeue`` (and
``scontrol show job``) for an hour. Client commands find the cluster through ``SLURM_CONF``
(:func:`client_env`); ``D/bin/srun`` puts it back for the job steps, whose environment
Snakemake's slurm-jobstep executor strips of ``SLURM_*`` (see :func:`write_config`). The daemons
run as root (slurmd must, to start jobs); :func:`ensure_installed` installs Debian's
``slurm-wlm`` and ``munge`` with apt-get when ``slurmctld`` is missing and this process is root.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

#: Order the daemons start in (they stop in the reverse order).
DAEMONS = ("munged", "slurmctld", "slurmd")
CPU_PARTITION, GPU_PARTITION = "cpu", "gpu"
STATE_FILE = "daemons.json"
#: Seconds a finished job stays visible to ``squeue`` and ``scontrol show job`` (the plugin's squeue
#: status check needs >= 120; an hour keeps a whole test run on record).
MIN_JOB_AGE = 3600


class SlurmError(RuntimeError):
    """SLURM could not be installed, started or stopped; the message says why (and where the logs are)."""


def _run(cmd: list[str], *, env: dict | None = None, timeout: float = 30, check: bool = True) -> str:
    try:
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise SlurmError(f"{' '.join(cmd)}: {err}") from err
    if check and out.returncode != 0:
        raise SlurmError(f"{' '.join(cmd)} failed ({out.returncode}): {(out.stderr or out.stdout).strip()[-2000:]}")
    return out.stdout


def installed() -> bool:
    return all(shutil.which(b) for b in ("slurmctld", "slurmd", "munged", "sinfo", "sbatch", "squeue"))


def ensure_installed() -> None:
    """Install Debian's slurm-wlm and munge with apt-get when ``slurmctld`` is missing (root only)."""
    if installed():
        return
    if os.geteuid() != 0:
        raise SlurmError("slurmctld, slurmd or munged missing and not root: `apt-get install slurm-wlm munge` as root")
    if not shutil.which("apt-get"):
        raise SlurmError("slurmctld missing and no apt-get to install slurm-wlm and munge with")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    _run(["apt-get", "update", "-q"], env=env, timeout=600)
    _run(["apt-get", "install", "-y", "-q", "slurm-wlm", "munge"], env=env, timeout=1200)
    if not installed():
        raise SlurmError("apt-get installed slurm-wlm and munge, but their commands are still missing")


def node_hardware() -> dict:
    """This machine as ``slurmd -C`` sees it: ``CPUs``, ``RealMemory`` (MB) and the rest, as ints."""
    out = _run(["slurmd", "-C"])
    fields = dict(item.split("=", 1) for item in out.split() if "=" in item)
    return {k: int(v) for k, v in fields.items() if v.isdigit()}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _paths(root: Path) -> dict[str, Path]:
    return {
        "conf": root / "slurm.conf",
        "munge": root / "munge",
        "key": root / "munge" / "munge.key",
        "socket": root / "munge" / "munge.socket",
        "state": root / "state",
        "spool": root / "spool",
        "log": root / "log",
        "run": root / "run",
        "bin": root / "bin",
    }


def client_env(root: Path | str, base: dict | None = None) -> dict:
    """The environment for SLURM commands (and Snakemake) that talk to the cluster in ``root``:
    ``SLURM_CONF``, and ``root/bin`` (the ``srun`` shim, see :func:`write_config`) first on ``PATH``."""
    p = _paths(Path(root).resolve())
    env = dict(os.environ if base is None else base)
    env["PATH"] = os.pathsep.join([str(p["bin"]), env.get("PATH", os.defpath)])
    env["SLURM_CONF"] = str(p["conf"])
    return env


def write_config(
    root: Path | str, *, cpus: int | None = None, memory_mb: int | None = None, nodename: str | None = None
) -> Path:
    """Write ``slurm.conf``, ``gres.conf`` and ``cgroup.conf`` into ``root`` and a munge key if
    there is none; returns the path of ``slurm.conf``. ``cpus``/``memory_mb`` default to the
    machine's own (``slurmd -C``); fewer CPUs limit how many one-CPU jobs run at once."""
    root = Path(root).resolve()
    p = _paths(root)
    for key in ("state", "spool", "log", "run", "munge", "bin"):
        p[key].mkdir(parents=True, exist_ok=True)
    p["munge"].chmod(0o755)  # munged wants its socket's folder searchable by all
    if not p["key"].exists():
        p["key"].write_bytes(os.urandom(1024))
    p["key"].chmod(0o400)
    if len(str(p["socket"])) > 100:
        raise SlurmError(f"{p['socket']}: too long for a unix socket; use a shorter --dir")
    hw = node_hardware() if cpus is None or memory_mb is None else {"CPUs": cpus, "RealMemory": memory_mb}
    cpus = cpus or hw["CPUs"]
    if cpus < 1:
        raise SlurmError(f"cpus must be at least 1, not {cpus}")
    memory_mb = memory_mb or hw["RealMemory"]
    node = nodename or socket.gethostname().split(".")[0]
    host = socket.gethostname().split(".")[0]
    user = pwd.getpwuid(os.geteuid()).pw_name
    if cpus == hw["CPUs"]:
        topology = (
            f"CPUs={cpus} Boards={hw.get('Boards', 1)} SocketsPerBoard={hw.get('SocketsPerBoard', 1)} "
            f"CoresPerSocket={hw.get('CoresPerSocket', cpus)} ThreadsPerCore={hw.get('ThreadsPerCore', 1)}"
        )
    else:  # a job-slot limit: as many single-thread cores as slots
        topology = f"CPUs={cpus} Boards=1 SocketsPerBoard=1 CoresPerSocket={cpus} ThreadsPerCore=1"
    conf = f"""\
# Written by python -m pipelines.tools.local_slurm: a single-node cluster on this machine.
ClusterName=localslurm
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
SlurmUser={user}
SlurmdUser={user}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={p["socket"]}
StateSaveLocation={p["state"]}
SlurmdSpoolDir={p["spool"]}
SlurmctldPidFile={p["run"]}/slurmctld.pid
SlurmdPidFile={p["run"]}/slurmd.pid
SlurmctldLogFile={p["log"]}/slurmctld.log
SlurmdLogFile={p["log"]}/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
MinJobAge={MIN_JOB_AGE}
KillWait=5
GresTypes=gpu
NodeName={node} NodeAddr=127.0.0.1 NodeHostname={host} {topology} RealMemory={memory_mb} Gres=gpu:1 State=UNKNOWN
PartitionName={CPU_PARTITION} Nodes={node} Default=YES MaxTime=INFINITE State=UP
PartitionName={GPU_PARTITION} Nodes={node} MaxTime=INFINITE State=UP
"""
    p["conf"].write_text(conf)
    # a scheduling token: --gpus=1 jobs run, CUDA_VISIBLE_DEVICES=0 names no real device here
    (root / "gres.conf").write_text(f"NodeName={node} Name=gpu File=/dev/null\n")
    # read only by the cgroup plugins, which this cluster does not load (proctrack/linuxproc, task/none)
    (root / "cgroup.conf").write_text("CgroupPlugin=autodetect\nIgnoreSystemd=yes\n")
    # Inside a job, Snakemake's slurm-jobstep executor (0.6.1) starts the step with `srun` in an
    # environment stripped of SLURM_* variables, SLURM_CONF too: without /etc/slurm/slurm.conf that
    # srun finds no cluster. Jobs inherit PATH (sbatch --export=ALL), so this `srun`, first on the
    # PATH of client_env(), puts SLURM_CONF back and runs the real one.
    path = os.pathsep.join(d for d in os.environ.get("PATH", os.defpath).split(os.pathsep) if Path(d) != p["bin"])
    srun = shutil.which("srun", path=path) or "/usr/bin/srun"
    shim = p["bin"] / "srun"
    shim.write_text(f'#!/bin/sh\nSLURM_CONF={shlex.quote(str(p["conf"]))} exec {shlex.quote(srun)} "$@"\n')
    shim.chmod(0o755)
    return p["conf"]


def _start_time(pid: int) -> int | None:
    """The process's start time (clock ticks since boot) or None if it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


#: Popen objects of the daemons this process started (reaped on stop, so they leave no zombie).
_CHILDREN: dict[int, subprocess.Popen] = {}


def is_running(entry: dict) -> bool:
    """Whether a daemon that :func:`start` recorded (``{"pid": ..., "start": ...}``) still runs: its
    PID exists, is no zombie and started when recorded (not a later process that reused the PID)."""
    pid = entry["pid"]
    child = _CHILDREN.get(pid)
    if child is not None and child.poll() is not None:
        return False
    return _start_time(pid) == entry["start"]


def _read_state(root: Path) -> dict:
    path = root / STATE_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def _log_tail(path: Path, n: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


def _spawn(name: str, cmd: list[str], root: Path, state: dict, env: dict) -> None:
    log = _paths(root)["log"] / f"{name}.out"
    with open(log, "ab") as fh:
        proc = subprocess.Popen(
            cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, env=env
        )
    _CHILDREN[proc.pid] = proc
    time.sleep(0.05)
    state[name] = {"pid": proc.pid, "start": _start_time(proc.pid), "cmd": cmd, "log": str(log)}
    (root / STATE_FILE).write_text(json.dumps(state, indent=1))


def _wait(what: str, ready, deadline: float, state: dict, root: Path) -> None:
    while time.monotonic() < deadline:
        for name, entry in state.items():
            if not is_running(entry):
                raise SlurmError(
                    f"{name} exited while waiting for {what}; its log {entry['log']}:\n{_log_tail(Path(entry['log']))}"
                )
        try:
            if ready():
                return
        except subprocess.TimeoutExpired:
            pass
        time.sleep(0.25)
    logs = "\n".join(f"--- {e['log']}\n{_log_tail(Path(e['log']))}" for e in state.values())
    raise SlurmError(f"timed out waiting for {what} (logs under {root / 'log'}):\n{logs}")


def _node_states(env: dict) -> set[str]:
    """The node's states as ``sinfo`` reports them (one line per partition; empty if it cannot ask)."""
    out = subprocess.run(["sinfo", "-h", "-N", "-o", "%N %T"], env=env, capture_output=True, text=True, timeout=10)
    return set(out.stdout.split()[1::2]) if out.returncode == 0 else set()


def start(
    root: Path | str,
    *,
    cpus: int | None = None,
    memory_mb: int | None = None,
    timeout: float = 60.0,
    install: bool = False,
) -> dict:
    """Start munged, slurmctld and slurmd for the cluster in ``root``; returns the daemons' state
    (name -> pid, start time, command, log). Raises :class:`SlurmError` (after stopping what it
    started) if the node is not idle within ``timeout`` seconds."""
    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    if install:
        ensure_installed()
    elif not installed():
        raise SlurmError(
            "slurmctld, slurmd or munged missing: `apt-get install slurm-wlm munge` (or --install as root)"
        )
    running = {n: e for n, e in _read_state(root).items() if is_running(e)}
    if running:
        names = ", ".join(f"{n} {e['pid']}" for n, e in running.items())
        raise SlurmError(f"{root}: already running ({names}); stop it first")
    conf = write_config(root, cpus=cpus, memory_mb=memory_mb)
    p = _paths(root)
    env = client_env(root)
    node = next(line.split()[0].split("=")[1] for line in conf.read_text().splitlines() if line.startswith("NodeName="))
    # munged checks that every folder above its socket is searchable by all; a private
    # (0700) temporary folder is not, and --force lets it run there all the same
    force = any(not (d.stat().st_mode & 0o001) for d in p["socket"].parents)
    state: dict = {}
    (root / STATE_FILE).write_text("{}")
    deadline = time.monotonic() + timeout
    try:
        _spawn(
            "munged",
            ["munged", "--foreground", *(["--force"] if force else []), f"--socket={p['socket']}"]
            + [f"--key-file={p['key']}", f"--pid-file={p['run']}/munged.pid", f"--seed-file={p['munge']}/munged.seed"]
            + [f"--log-file={p['log']}/munged.log"],
            root,
            state,
            env,
        )
        _wait("munged's socket", p["socket"].exists, deadline, state, root)
        # -c: a fresh cluster each start (no jobs or node state left from an earlier one)
        _spawn("slurmctld", ["slurmctld", "-D", "-c", "-i", "-f", str(conf)], root, state, env)
        _wait(
            "slurmctld",
            lambda: subprocess.run(["scontrol", "ping"], env=env, capture_output=True, timeout=10).returncode == 0,
            deadline,
            state,
            root,
        )
        _spawn("slurmd", ["slurmd", "-D", "-f", str(conf), "-N", node], root, state, env)
        _wait("the node to be idle in sinfo", lambda: _node_states(env) == {"idle"}, deadline, state, root)
    except BaseException:
        stop(root)
        raise
    return state


def stop(root: Path | str, *, timeout: float = 30.0) -> list[str]:
    """Cancel the cluster's jobs, then end the daemons ``start`` recorded (SIGTERM, SIGKILL after
    ``timeout`` seconds) and check they are gone; returns their names. Raises :class:`SlurmError`
    if one survives."""
    root = Path(root).resolve()
    state = _read_state(root)
    if not state:
        return []
    env = client_env(root)
    if "slurmctld" in state and is_running(state["slurmctld"]):
        # jobs still queued or running: cancel them, so no job step outlives its daemons
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            out = subprocess.run(
                ["squeue", "-h", "-t", "PD,R,CG,S", "-o", "%i"], env=env, capture_output=True, text=True, timeout=10
            )
            jobs = out.stdout.split() if out.returncode == 0 else []
            if not jobs:
                break
            subprocess.run(["scancel", "--quiet", "--full", *jobs], env=env, capture_output=True, timeout=15)
            time.sleep(0.5)
    stopped, survivors = [], []
    for name in reversed(DAEMONS):
        entry = state.get(name)
        if entry is None:
            continue
        if is_running(entry):
            os.kill(entry["pid"], signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while is_running(entry) and time.monotonic() < deadline:
                time.sleep(0.1)
            if is_running(entry):
                os.kill(entry["pid"], signal.SIGKILL)
                time.sleep(0.5)
        child = _CHILDREN.pop(entry["pid"], None)
        if child is not None:
            try:
                child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        (survivors if is_running(entry) else stopped).append(name)
    if survivors:
        names = ", ".join(f"{n} {state[n]['pid']}" for n in survivors)
        raise SlurmError(f"still running after SIGKILL: {names}")
    (root / STATE_FILE).write_text("{}")
    return stopped


def status(root: Path | str) -> dict:
    """The recorded daemons (pid, alive) and ``sinfo``'s view of the node."""
    root = Path(root).resolve()
    state = _read_state(root)
    out = {name: {"pid": e["pid"], "alive": is_running(e)} for name, e in state.items()}
    sinfo = ""
    if state.get("slurmctld") and out["slurmctld"]["alive"]:
        res = subprocess.run(
            ["sinfo", "-N", "-o", "%N %P %T %c %m %G"], env=client_env(root), capture_output=True, text=True, timeout=10
        )
        sinfo = res.stdout.strip() or res.stderr.strip()
    return {"dir": str(root), "daemons": out, "sinfo": sinfo}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="A single-node SLURM cluster on this machine (see the module docstring)"
    )
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("--dir", required=True, type=Path, help="folder for the config, state, logs and munge key")
    parser.add_argument("--cpus", type=int, help="CPUs the node declares (job slots for one-CPU jobs); default: all")
    parser.add_argument("--memory-mb", type=int, help="memory the node declares; default: the machine's")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the node to be idle")
    parser.add_argument("--install", action="store_true", help="apt-get install slurm-wlm munge if missing (root)")
    args = parser.parse_args(argv)
    try:
        if args.action == "start":
            start(args.dir, cpus=args.cpus, memory_mb=args.memory_mb, timeout=args.timeout, install=args.install)
            print(status(args.dir)["sinfo"])
            print(f"export SLURM_CONF={client_env(args.dir)['SLURM_CONF']}")
        elif args.action == "stop":
            print("stopped: " + (", ".join(stop(args.dir)) or "nothing was running"))
        else:
            print(json.dumps(status(args.dir), indent=1))
    except SlurmError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
