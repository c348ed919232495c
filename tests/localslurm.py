"""A real, throw-away single-node SLURM cluster on localhost, for tests (tests/test_slurm.py).

Configs, state, logs and the MariaDB data dir live under one temp dir and the daemons listen
on free ports, so nothing in /etc/slurm is touched and a system SLURM (if any) is left alone.
munged uses the default socket (slurmctld's connection to slurmdbd ignores a custom one in
SLURM 22.05); a munged that is already running is reused and not stopped. `stop()` cancels the
cluster's jobs and kills exactly the daemons this object started, by PID; a watchdog process
does the same if the owning process dies first. Facts this relies on: /work/shared/SLURM.md.

By hand (prints timings; with --wait keeps the cluster up until Enter):
    python tests/localslurm.py [--no-accounting] [--wait]
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PACKAGES = ["munge", "slurmctld", "slurmd", "slurm-client"]
ACCOUNTING_PACKAGES = ["slurmdbd", "mariadb-server"]
BINARIES = {
    "munge": "/usr/sbin/munged",
    "slurmctld": "/usr/sbin/slurmctld",
    "slurmd": "/usr/sbin/slurmd",
    "slurm-client": "/usr/bin/sbatch",
    "slurmdbd": "/usr/sbin/slurmdbd",
    "mariadb-server": "/usr/sbin/mariadbd",
}


class SlurmUnavailable(Exception):
    """SLURM cannot be set up here (not root, no apt-get, install failed): skip, don't fail."""


def missing_packages(accounting: bool = True) -> list[str]:
    pkgs = PACKAGES + (ACCOUNTING_PACKAGES if accounting else [])
    return [p for p in pkgs if not Path(BINARIES[p]).exists()]


def ensure_installed(accounting: bool = True, timeout: int = 400) -> float:
    """apt-get install what is missing; returns the seconds spent (0 if nothing to do)."""
    missing = missing_packages(accounting)
    if not missing:
        return 0.0
    if os.geteuid() != 0:
        raise SlurmUnavailable(f"SLURM packages {missing} missing and not root, cannot apt-get install them")
    if shutil.which("apt-get") is None:
        raise SlurmUnavailable(f"SLURM packages {missing} missing and no apt-get on this machine")
    t0 = time.monotonic()
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    # policy-rc.d: keep the packages' init scripts from starting system daemons
    policy = Path("/usr/sbin/policy-rc.d")
    own_policy = not policy.exists()
    if own_policy:
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    try:
        for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing]):
            try:
                proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
            except subprocess.TimeoutExpired:
                raise SlurmUnavailable(f"{' '.join(cmd)} timed out after {timeout} s") from None
            if proc.returncode != 0 and cmd[1] == "install":
                raise SlurmUnavailable(f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    finally:
        if own_policy:
            policy.unlink(missing_ok=True)
    still = missing_packages(accounting)
    if still:
        raise SlurmUnavailable(f"apt-get install ran but {still} still missing")
    return time.monotonic() - t0


def free_ports(n: int) -> list[int]:
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


class LocalSlurm:
    """One node `localhost` with `cpus` CPUs, `mem_mb` memory and `gpus` fake GPUs (gres/gpu on
    /dev/null: jobs asking for GPUs are scheduled and accounted, torch still finds no CUDA),
    partition `debug`, optional slurmdbd + MariaDB accounting so that `sacct` works. With `preempt`,
    a higher-priority partition `urgent` on the same node whose jobs preempt `debug` jobs, which
    SLURM requeues (PreemptType=preempt/partition_prio, PreemptMode=REQUEUE)."""

    def __init__(self, cpus: int = 2, mem_mb: int = 2000, gpus: int = 1, accounting: bool = True,
                 base: Path | None = None, cluster_name: str = "advtrace-test", preempt: bool = False):
        self.cpus, self.mem_mb, self.gpus, self.accounting = cpus, mem_mb, gpus, accounting
        self.preempt = preempt  # a second partition `urgent` whose jobs preempt (requeue) those of `debug`
        self.cluster_name = cluster_name
        self.base = Path(base or tempfile.mkdtemp(prefix="advslurm-"))  # short: socket paths ≤ 107 chars
        self.etc = self.base / "etc"
        self.conf = self.etc / "slurm.conf"
        self.pids: dict[str, int] = {}
        self._procs: list[subprocess.Popen] = []
        self._run_slurm_existed = Path("/run/slurm").exists()
        self.ctld_port, self.slurmd_port, self.dbd_port, self.db_port = free_ports(4)

    # ---- environment for clients (sbatch/squeue/sacct/snakemake) ----
    @property
    def env(self) -> dict[str, str]:
        return dict(os.environ, SLURM_CONF=str(self.conf))

    def cmd(self, *args: str, timeout: int = 30, check: bool = True) -> str:
        proc = subprocess.run(list(args), env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
        return proc.stdout

    # ---- configuration ----
    def write_configs(self) -> None:
        b = self.base
        for d in ("etc", "state/ctld", "state/d", "log", "run"):
            (b / d).mkdir(parents=True, exist_ok=True)
        gres = f" Gres=gpu:{self.gpus}" if self.gpus else ""
        if self.accounting:
            acct = (
                "AccountingStorageType=accounting_storage/slurmdbd\n"
                "AccountingStorageHost=localhost\n"
                f"AccountingStoragePort={self.dbd_port}\n"
                "AccountingStorageTRES=gres/gpu\n"
                "AccountingStoreFlags=job_comment\n"
                "JobAcctGatherType=jobacct_gather/linux\n"
                "JobAcctGatherFrequency=30\n"
            )
        else:
            acct = "AccountingStorageType=accounting_storage/none\nJobAcctGatherType=jobacct_gather/none\n"
        if self.preempt:
            preempt = "PreemptType=preempt/partition_prio\nPreemptMode=REQUEUE\n"
            partitions = ("PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP PriorityTier=1\n"
                          "PartitionName=urgent Nodes=ALL MaxTime=INFINITE State=UP PriorityTier=2\n")
        else:
            preempt = ""
            partitions = "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP\n"
        self.conf.write_text(
            f"""# written by tests/localslurm.py
ClusterName={self.cluster_name}
SlurmctldHost=localhost
SlurmctldPort={self.ctld_port}
SlurmdPort={self.slurmd_port}
SlurmctldParameters=enable_configless
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation={b}/state/ctld
SlurmdSpoolDir={b}/state/d
SlurmctldPidFile={b}/run/slurmctld.pid
SlurmdPidFile={b}/run/slurmd.pid
SlurmctldLogFile={b}/log/slurmctld.log
SlurmdLogFile={b}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
ReturnToService=2
MinJobAge=300
DefMemPerCPU=500
SchedulerParameters=sched_interval=2
{acct}{preempt}GresTypes=gpu
NodeName=localhost NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={self.mem_mb}{gres} State=UNKNOWN
{partitions}"""
        )
        # fake GPUs: gres/gpu needs a device file per GPU, /dev/null stands in (AutoDetect off;
        # a bare Count= is reported as 0 GPUs and the node drains). Jobs are scheduled and
        # accounted as GPU jobs; CUDA_VISIBLE_DEVICES is set, torch still finds no CUDA.
        (self.etc / "gres.conf").write_text(
            "AutoDetect=off\n" + "".join("NodeName=localhost Name=gpu File=/dev/null\n" for _ in range(self.gpus))
        )
        if self.accounting:
            dbd = self.etc / "slurmdbd.conf"
            dbd.write_text(
                f"""AuthType=auth/munge
DbdHost=localhost
DbdPort={self.dbd_port}
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort={self.db_port}
StorageUser=slurm
StoragePass=slurmtest
StorageLoc=slurm_acct_db
LogFile={b}/log/slurmdbd.log
PidFile={b}/run/slurmdbd.pid
"""
            )
            dbd.chmod(0o600)

    # ---- daemons ----
    def _read_pid(self, name: str, pidfile: Path, timeout: float = 20) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                pid = int(pidfile.read_text().strip())
                self.pids[name] = pid
                return pid
            except (FileNotFoundError, ValueError):
                time.sleep(0.1)
        raise RuntimeError(f"{name} did not write {pidfile} within {timeout} s; log tail:\n{self.log_tail(name)}")

    def _daemon(self, name: str, args: list[str], pidfile: Path) -> int:
        proc = subprocess.run(args, env=self.env, capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            raise RuntimeError(f"{name} failed to start ({proc.returncode}): {proc.stderr.strip()}\n{self.log_tail(name)}")
        return self._read_pid(name, pidfile)

    def log_tail(self, name: str, n: int = 3000) -> str:
        f = self.base / "log" / f"{name}.log"
        return f.read_text(errors="replace")[-n:] if f.exists() else f"(no {f})"

    def start(self, timeout: float = 90) -> dict[str, float]:
        """Start munged, [MariaDB, slurmdbd,] slurmctld, slurmd; wait until the node is idle.
        Returns the seconds each step took. On any failure, stops what it started and raises."""
        times: dict[str, float] = {}
        t0 = time.monotonic()
        try:
            self.write_configs()
            b = self.base
            self._start_munge()
            times["munge"] = time.monotonic() - t0
            if self.accounting:
                self._start_mariadb()
                times["mariadb"] = time.monotonic() - t0
                self._daemon("slurmdbd", ["/usr/sbin/slurmdbd"], b / "run" / "slurmdbd.pid")
                self._wait(lambda: _listening(self.dbd_port), 30, "slurmdbd to listen")
                times["slurmdbd"] = time.monotonic() - t0
            self._daemon("slurmctld", ["/usr/sbin/slurmctld", "-f", str(self.conf)], b / "run" / "slurmctld.pid")
            self._wait(lambda: _listening(self.ctld_port), 30, "slurmctld to listen")
            times["slurmctld"] = time.monotonic() - t0
            self._daemon("slurmd", ["/usr/sbin/slurmd", "-N", "localhost", "--conf-server",
                                    f"localhost:{self.ctld_port}"], b / "run" / "slurmd.pid")
            self._start_watchdog()
            self._wait(self.node_idle, timeout, "node localhost to become idle")
            times["total"] = time.monotonic() - t0
            return times
        except BaseException:
            self.stop()
            raise

    def _start_watchdog(self) -> None:
        """A detached process that stops the cluster if this (test) process dies without
        running stop() (SIGKILL, a CI timeout): no daemon or job outlives its owner."""
        daemons = [f"{n}:{p}" for n, p in self.pids.items()]
        p = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--watchdog", str(os.getpid()),
                              str(self.conf), str(self.base), str(int(not self._run_slurm_existed)), *daemons],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
        self._procs.append(p)
        self.pids["watchdog"] = p.pid

    def _start_munge(self) -> None:
        """munged on the default socket (slurmctld's persistent slurmdbd connection ignores
        AuthInfo=socket= in 22.05, so a private socket is not an option). A munged that is
        already running is reused and left alone."""
        if _munge_works():
            return
        run = Path("/run/munge")
        run.mkdir(parents=True, exist_ok=True)
        shutil.chown(run, "munge", "munge")
        Path("/var/log/munge").mkdir(parents=True, exist_ok=True)
        shutil.chown("/var/log/munge", "munge", "munge")
        key = Path("/etc/munge/munge.key")
        if not key.exists():  # normally created by the munge package
            subprocess.run(["/usr/sbin/mungekey", "--create"], check=True, timeout=30)
            shutil.chown(key, "munge", "munge")
        pidfile = run / "munged.pid"
        pidfile.unlink(missing_ok=True)
        self._daemon("munged", ["runuser", "-u", "munge", "--", "/usr/sbin/munged"], pidfile)
        self._wait(_munge_works, 20, "munged to answer")

    def _start_mariadb(self) -> None:
        b = self.base
        datadir = b / "mysql"
        proc = subprocess.run(["mariadb-install-db", "--user=root", f"--datadir={datadir}",
                               "--auth-root-authentication-method=socket", "--skip-test-db"],
                              capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"mariadb-install-db failed: {proc.stderr[-2000:]}")
        log = open(b / "log" / "mariadbd.log", "w")
        p = subprocess.Popen(["/usr/sbin/mariadbd", "--no-defaults", "--user=root", f"--datadir={datadir}",
                              f"--socket={b}/mysql.sock", "--bind-address=127.0.0.1", f"--port={self.db_port}",
                              f"--pid-file={b}/run/mariadbd.pid", "--skip-log-bin",
                              "--innodb-buffer-pool-size=64M", "--innodb-log-file-size=16M"],
                             stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self._procs.append(p)
        self.pids["mariadbd"] = p.pid
        sql = ("CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurmtest';"
               "CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurmtest';"
               "GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';"
               "GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';")

        def ready() -> bool:
            if p.poll() is not None:
                raise RuntimeError(f"mariadbd exited ({p.returncode}): {self.log_tail('mariadbd')}")
            r = subprocess.run(["mariadb", "--no-defaults", f"--socket={b}/mysql.sock", "-uroot", "-e", sql],
                               capture_output=True, text=True, timeout=20)
            return r.returncode == 0

        self._wait(ready, 60, "MariaDB to accept connections")

    def node_idle(self) -> bool:
        out = self.cmd("sinfo", "-h", "-N", "-o", "%N %t", check=False, timeout=10)
        return any(line.split()[1:2] == ["idle"] for line in out.splitlines())

    @staticmethod
    def _wait(cond, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if cond():
                    return
            except (subprocess.TimeoutExpired, OSError):
                pass
            time.sleep(0.3)
        raise TimeoutError(f"timed out after {timeout} s waiting for {what}")

    def cancel_all_jobs(self, timeout: float = 15) -> None:
        """scancel every job of this cluster and wait until none is left, so no job process
        (slurmstepd and what it runs) outlives the cluster."""
        if "slurmctld" not in self.pids:
            return
        try:
            ids = self.cmd("squeue", "-h", "-o", "%i", check=False, timeout=10).split()
            if ids:
                self.cmd("scancel", "--full", *ids, check=False, timeout=10)
                self._wait(lambda: not self.cmd("squeue", "-h", "-o", "%i", check=False, timeout=10).split(),
                           timeout, "cancelled jobs to end")
        except (TimeoutError, subprocess.TimeoutExpired, OSError):
            pass

    def stop(self) -> None:
        """Cancel this cluster's jobs, then kill the daemons this object started, by PID, in
        reverse start order; never anything else. Idempotent."""
        self.cancel_all_jobs()
        for name in ["slurmd", "slurmctld", "slurmdbd", "mariadbd", "munged", "watchdog"]:
            pid = self.pids.pop(name, None)
            if pid is not None:
                _terminate(pid, self._procs)
        for p in self._procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        # slurmd (configless) caches the config in /run/slurm/conf: drop it if we made /run/slurm
        if not self._run_slurm_existed:
            shutil.rmtree("/run/slurm", ignore_errors=True)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> "LocalSlurm":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _munge_works() -> bool:
    try:
        enc = subprocess.run(["munge", "-n"], capture_output=True, timeout=10)
        if enc.returncode != 0:
            return False
        return subprocess.run(["unmunge"], input=enc.stdout, capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _terminate(pid: int, children=(), grace: float = 10) -> None:
    """SIGTERM, wait up to `grace` s, then SIGKILL; reaps our own children."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and _alive(pid):
        for p in children:
            p.poll()
        time.sleep(0.1)
    if _alive(pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie counts as gone
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def _watchdog(owner: int, conf: str, base: str, rm_run_slurm: str, *daemons: str) -> None:
    """Runs detached (see LocalSlurm._start_watchdog). Daemons are given as name:pid; the ones
    started after the watchdog (slurmd) are read from their pid files under `base`."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop() ends us with SIGTERM
    while _alive(owner):
        time.sleep(1)
    c = LocalSlurm.__new__(LocalSlurm)
    c.conf, c.base, c._procs = Path(conf), Path(base), []
    c._run_slurm_existed = rm_run_slurm != "1"
    c.pids = dict(d.split(":") for d in daemons)
    c.pids = {n: int(p) for n, p in c.pids.items()}
    try:
        c.pids["slurmd"] = int((c.base / "run" / "slurmd.pid").read_text())
    except (OSError, ValueError):
        pass
    c.stop()
    shutil.rmtree(c.base, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--watchdog"]:
        _watchdog(int(sys.argv[2]), *sys.argv[3:])
        sys.exit(0)
    acc = "--no-accounting" not in sys.argv
    print("install:", ensure_installed(acc))
    c = LocalSlurm(accounting=acc)
    try:
        print("start:", c.start())
        print("SLURM_CONF=" + str(c.conf))
        print(c.cmd("sinfo", "-N", "-o", "%N %t %c %m %G"))
        if "--wait" in sys.argv:
            input("Enter stops the cluster> ")
    finally:
        c.cleanup()
