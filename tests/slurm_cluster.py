"""A real single-node SLURM for the tests: munged, slurmctld and slurmd as our own processes.

Everything lives in a temporary directory (configuration, munge key and socket, state, spool,
logs); the daemons are started in the foreground as child processes and stopped by their PIDs.
Client commands (sbatch, squeue, scontrol) find the cluster through ``SLURM_CONF``, which
:meth:`LocalSlurm.environment` sets.

Debian's slurm-wlm and munge are installed with apt when missing (as root only).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
APT_PACKAGES = ("slurm-wlm", "munge")
# How long slurmctld keeps a finished job (without accounting, squeue is the only record of it).
MIN_JOB_AGE_SECONDS = 86_400


class SlurmUnavailable(RuntimeError):
    """SLURM cannot be installed or started here (the test skips with this message)."""


def _have_binaries() -> bool:
    return all(shutil.which(name) or Path(f"/usr/sbin/{name}").exists() for name in DAEMONS) and bool(
        shutil.which("sbatch")
    )


def ensure_installed(timeout: float = 900) -> None:
    """Install slurm-wlm and munge with apt if they are missing; raise SlurmUnavailable if not possible."""
    if _have_binaries():
        return
    if os.geteuid() != 0:
        raise SlurmUnavailable("SLURM is not installed and this user is not root (apt-get needs root)")
    if not shutil.which("apt-get"):
        raise SlurmUnavailable("SLURM is not installed and there is no apt-get to install it")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", *APT_PACKAGES],  # as tested: with recommends
    ):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise SlurmUnavailable(
                f"{' '.join(command)} failed (exit {done.returncode}): {done.stderr.strip()[-500:]}"
            )
    if not _have_binaries():
        raise SlurmUnavailable(f"apt installed {APT_PACKAGES} but the SLURM daemons are still missing")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _node_line(cpus: int | None = None) -> str:
    """The node's real hardware (``slurmd -C``), memory lowered a little so the node is not refused.

    With ``cpus``, the node declares that many single-thread cores instead of its own (slurm.conf
    then needs ``SlurmdParameters=config_overrides``, or slurmd would refuse the difference).
    """
    done = subprocess.run([_sbin("slurmd"), "-C"], capture_output=True, text=True, check=True)
    fields = dict(item.split("=", 1) for item in done.stdout.split() if "=" in item)
    fields["RealMemory"] = str(int(int(fields.get("RealMemory", "2048")) * 0.9))
    fields["NodeName"] = socket.gethostname()
    if cpus is not None:
        fields.update(CPUs=str(cpus), Boards="1", SocketsPerBoard="1", CoresPerSocket=str(cpus), ThreadsPerCore="1")
    keys = ("NodeName", "CPUs", "Boards", "SocketsPerBoard", "CoresPerSocket", "ThreadsPerCore", "RealMemory")
    return " ".join(f"{key}={fields[key]}" for key in keys if key in fields)


def _ensure_hostname_resolves() -> None:
    """slurmctld and slurmd find the node by this host's name: a CI machine whose name does not
    resolve gets it mapped to 127.0.0.1 in /etc/hosts (as root only; otherwise SlurmUnavailable)."""
    host = socket.gethostname()
    try:
        socket.gethostbyname(host)
        return
    except OSError:
        pass
    if os.geteuid() != 0:
        raise SlurmUnavailable(f"this host's name {host!r} does not resolve and /etc/hosts cannot be edited")
    with open("/etc/hosts", "a") as hosts:
        hosts.write(f"\n127.0.0.1 {host}\n")


def _sbin(name: str) -> str:
    return shutil.which(name) or f"/usr/sbin/{name}"


@dataclass
class LocalSlurm:
    """A one-node cluster under ``root``; use as a context manager.

    ``cpus``: CPUs the node declares (default: the machine's own). More than the machine has
    lets more jobs run side by side, as on a cluster's many nodes: the jobs then share the cores.
    """

    root: Path
    cpus: int | None = None
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def conf(self) -> Path:
        return self.root / "slurm.conf"

    def environment(self) -> dict[str, str]:
        path = f"{self.root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
        return dict(os.environ, SLURM_CONF=str(self.conf), PATH=path)

    def write_srun_shim(self) -> None:
        """An ``srun`` first on PATH that sets SLURM_CONF.

        snakemake-executor-plugin-slurm-jobstep (0.6.1) removes every ``SLURM_*`` variable but the
        job's identity before it calls srun inside a job, SLURM_CONF included; a real cluster's
        configuration sits at /etc/slurm/slurm.conf (or is served configless), so only a cluster
        configured in a temporary directory, like this one, needs the variable back.
        """
        shim = self.root / "bin" / "srun"
        shim.parent.mkdir(parents=True, exist_ok=True)
        shim.write_text(f'#!/bin/sh\nSLURM_CONF="{self.conf}" exec {shutil.which("srun") or "/usr/bin/srun"} "$@"\n')
        shim.chmod(0o755)

    def write_config(self) -> None:
        for sub in ("state", "spool", "log", "munge"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        (self.root / "munge").chmod(0o755)  # munged wants the socket reachable
        key = self.root / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        host = socket.gethostname()
        socket_path = self.root / "munge" / "munge.socket"
        self.conf.write_text(
            "\n".join(
                [
                    "ClusterName=forgetest",
                    f"SlurmctldHost={host}",
                    f"SlurmctldPort={_free_port()}",
                    f"SlurmdPort={_free_port()}",
                    "SlurmUser=root",
                    "SlurmdUser=root",
                    "AuthType=auth/munge",
                    "CredType=cred/munge",
                    f"AuthInfo=socket={socket_path}",
                    f"StateSaveLocation={self.root / 'state'}",
                    f"SlurmdSpoolDir={self.root / 'spool'}",
                    f"SlurmctldPidFile={self.root / 'slurmctld.pid'}",
                    f"SlurmdPidFile={self.root / 'slurmd.pid'}",
                    f"SlurmctldLogFile={self.root / 'log' / 'slurmctld.log'}",
                    f"SlurmdLogFile={self.root / 'log' / 'slurmd.log'}",
                    "ProctrackType=proctrack/linuxproc",
                    "TaskPlugin=task/none",
                    "MpiDefault=none",
                    "SwitchType=switch/none",
                    "LaunchParameters=use_interactive_step",
                    "JobAcctGatherType=jobacct_gather/none",
                    "AccountingStorageType=accounting_storage/none",
                    "JobCompType=jobcomp/none",
                    # memory is a consumable: jobs that declare mem_mb share the node, as on a cluster
                    "SelectType=select/cons_tres",
                    "SelectTypeParameters=CR_Core_Memory",
                    "SchedulerType=sched/backfill",
                    "SchedulerParameters=sched_interval=2",
                    # finished jobs stay visible to `squeue --states=all` (the profile's status command,
                    # and the test's check of every job) for a day, far beyond any test run: with
                    # MinJobAge=600 a run slowed by a loaded machine saw its first jobs purged
                    f"MinJobAge={MIN_JOB_AGE_SECONDS}",
                    "ReturnToService=2",
                    "SlurmctldTimeout=30",
                    "SlurmdTimeout=30",
                    "InactiveLimit=0",
                    "KillWait=5",
                    "Waittime=0",
                    *(["SlurmdParameters=config_overrides"] if self.cpus is not None else []),
                    f"{_node_line(self.cpus)} State=UNKNOWN",
                    "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
                    "",
                ]
            )
        )

    def _start(self, name: str, command: list[str]) -> None:
        log = open(self.root / "log" / f"{name}.out", "wb")
        self.processes[name] = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=self.environment(), start_new_session=True
        )

    def start(self, timeout: float = 60) -> "LocalSlurm":
        _ensure_hostname_resolves()
        self.write_config()
        self.write_srun_shim()
        munge = self.root / "munge"
        self._start(
            "munged",
            [
                _sbin("munged"),
                "--foreground",
                "--force",
                f"--key-file={munge / 'munge.key'}",
                f"--socket={munge / 'munge.socket'}",
                f"--pid-file={munge / 'munged.pid'}",
                f"--log-file={self.root / 'log' / 'munged.log'}",
                f"--seed-file={munge / 'munged.seed'}",
            ],
        )
        self._wait(lambda: (munge / "munge.socket").exists(), timeout, "munged's socket")
        self._start("slurmctld", [_sbin("slurmctld"), "-D", "-i", "-f", str(self.conf)])
        self._start("slurmd", [_sbin("slurmd"), "-D", "-f", str(self.conf)])
        self._wait(self._node_idle, timeout, "the node to become idle")
        return self

    def _node_idle(self) -> bool:
        done = subprocess.run(
            ["sinfo", "--noheader", "--format=%t"], capture_output=True, text=True, env=self.environment()
        )
        return done.returncode == 0 and done.stdout.strip().startswith("idle")

    def _wait(self, ready, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise SlurmUnavailable(f"{name} exited ({process.returncode}) while waiting for {what}: {self.logs()}")
            if ready():
                return
            time.sleep(0.5)
        raise SlurmUnavailable(f"timed out after {timeout:.0f} s waiting for {what}: {self.logs()}")

    def logs(self, tail: int = 1500) -> str:
        parts = []
        for path in sorted((self.root / "log").glob("*")):
            text = path.read_text(errors="replace")
            if text.strip():
                parts.append(f"--- {path.name}\n{text[-tail:]}")
        return "\n".join(parts)

    def cancel_jobs(self, timeout: float = 30) -> None:
        """Cancel this cluster's unfinished jobs and wait for them to end (their processes belong
        to slurmstepd, not to the daemons, and would outlive them)."""
        if self.processes.get("slurmctld") is None or self.processes["slurmctld"].poll() is not None:
            return
        env = self.environment()
        listed = subprocess.run(["squeue", "--noheader", "--format=%i"], capture_output=True, text=True, env=env)
        ids = listed.stdout.split()
        if not ids:
            return
        subprocess.run(["scancel", *ids], capture_output=True, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            left = subprocess.run(["squeue", "--noheader", "--format=%i"], capture_output=True, text=True, env=env)
            if not left.stdout.split():
                return
            time.sleep(1)

    def stop(self) -> None:
        """Cancel unfinished jobs, then stop the daemons this object started, by their PIDs."""
        self.cancel_jobs()
        for name in reversed(DAEMONS):
            process = self.processes.pop(name, None)
            if process is None or process.poll() is not None:
                continue
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)

    def __enter__(self) -> "LocalSlurm":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
