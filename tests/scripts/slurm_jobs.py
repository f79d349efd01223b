#!/usr/bin/python3
"""The job scripts in jobs/ on a real single-node Slurm, checked with h5py.

Usage: slurm_jobs.py CASE
Environment: CARLO_BIN (the carlo executable), CARLO_SOURCE_DIR.

Every case that needs Slurm brings up a private instance (tests/slurm/slurm_up.sh: its own munged,
slurmctld, slurmd, ports and state under a temp dir) and stops it at the end, also on failure.
Exit 77 (skip) only when that instance cannot start on this machine for want of Slurm or munge.
Results are compared with a direct mpiexec run of the same command: every dataset and summary
attribute, not the timeline (timing).
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import h5py

from carlo_results import results_contents  # shared helpers in tests/scripts/


CARLO = os.environ["CARLO_BIN"]
SRC = os.environ["CARLO_SOURCE_DIR"]
JOBS = os.path.join(SRC, "jobs")
HARNESS = os.path.join(SRC, "tests", "slurm")
GROUPS = os.path.join(SRC, "data", "groups-small.h5")
PY_EXAMPLES = os.path.join(SRC, "docs", "examples", "python")
FINAL_STATES = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY",
                "BOOT_FAIL", "DEADLINE", "PREEMPTED"}


def fail(msg):
    sys.exit("FAIL: " + msg)


def check(cond, msg):
    if not cond:
        fail(msg)


def base_env():
    env = dict(os.environ)
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", CARLO=CARLO)
    return env


def mpirun_reference(ranks, args, out):
    """The same run directly under mpiexec, the file every job must reproduce."""
    cmd = ["mpiexec", "-n", str(ranks), "--oversubscribe", CARLO, "run", "--quiet", "-o", out] + args
    p = subprocess.run(cmd, env=base_env(), capture_output=True, text=True, timeout=300)
    check(p.returncode == 0, f"reference {' '.join(cmd)} exited {p.returncode}\n{p.stderr}")
    return out


contents = results_contents


def check_same_results(path, reference):
    got, want = contents(path), contents(reference)
    check(any(k.startswith("observations/") for k in want), f"{reference} has observations")
    check(sorted(got) == sorted(want), f"{path} objects {sorted(got)} != {sorted(want)}")
    for name in want:
        check(got[name] == want[name], f"{path}:/{name} differs from the uninterrupted run")


def root_attr(path, name):
    with h5py.File(path, "r") as f:
        v = f.attrs[name]
    return v.decode() if isinstance(v, bytes) else v


def check_complete(path, ranks=None):
    check(os.path.exists(path), f"{path} written")
    check(root_attr(path, "state") == "complete", f"{path} is complete")
    check(not os.path.exists(path + ".ckpt"), f"{path}.ckpt removed once the run finished")
    if ranks is not None:
        # One MPI world of `ranks` ranks, not `ranks` independent singletons (a PMI mismatch).
        check(int(root_attr(path, "ranks")) == ranks,
              f"{path} ran on {root_attr(path, 'ranks')} ranks, expected {ranks}")


def wait_until(what, cond, timeout):
    """Poll an observable condition (a job state, a file) until it holds."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)


class Slurm:
    """A private single-node Slurm for the duration of a `with` block."""

    def __enter__(self):
        # Short path: Slurm and munge put Unix sockets under it.
        self.dir = tempfile.mkdtemp(prefix="cs.", dir="/tmp")
        p = subprocess.run([os.path.join(HARNESS, "slurm_up.sh"), self.dir, str(os.getpid())],
                           capture_output=True, text=True, timeout=120)
        if p.returncode == 77:
            shutil.rmtree(self.dir, ignore_errors=True)
            print(p.stderr.strip() or "SKIP: Slurm cannot run here")
            sys.exit(77)
        if p.returncode != 0:
            fail(f"slurm_up.sh exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
        conf = dict(line.split("=", 1) for line in p.stdout.split() if "=" in line)
        self.env = base_env()
        self.env["SLURM_CONF"] = conf["SLURM_CONF"]
        self.partition = conf["CARLO_SLURM_PARTITION"]
        return self

    def __exit__(self, exc_type, exc, tb):
        subprocess.run([os.path.join(HARNESS, "slurm_down.sh"), self.dir], timeout=120)
        if exc_type is None and not getattr(self, "keep", False):
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            print(f"Slurm logs kept in {self.dir}/log", file=sys.stderr)
        return False

    def run(self, cmd, env=None, check_rc=True):
        p = subprocess.run(cmd, env=env or self.env, capture_output=True, text=True, timeout=120)
        if check_rc and p.returncode != 0:
            self.keep = True
            fail(f"{' '.join(cmd)} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
        return p.stdout

    def sbatch(self, script, opts=(), args=(), env=None):
        """Submit with the site lines overridden for this one-node cluster; returns the job id."""
        cmd = (["sbatch", "--parsable", f"--partition={self.partition}", "--nodes=1", "--time=5"]
               + list(opts) + [os.path.join(JOBS, script)] + list(args))
        return self.run(cmd, env=env).strip().split(";")[0]

    def job(self, job_id):
        """scontrol's view of a job (or of each task of an array) as key -> value dicts."""
        out = self.run(["scontrol", "-o", "show", "job", job_id])
        return [dict(re.findall(r"(\w+)=(\S*)", line)) for line in out.splitlines() if line]

    def wait_done(self, job_id, timeout=180):
        def done():
            jobs = self.job(job_id)
            return jobs if all(j["JobState"] in FINAL_STATES for j in jobs) else None
        return wait_until(f"job {job_id} to end", done, timeout)

    def check_completed(self, job_id, log=None, timeout=180):
        jobs = self.wait_done(job_id, timeout)
        for j in jobs:
            if j["JobState"] != "COMPLETED" or j["ExitCode"] != "0:0":
                self.keep = True
                text = open(log).read() if log and os.path.exists(log) else "(no log)"
                fail(f"job {j['JobId']} ended {j['JobState']} exit {j['ExitCode']}:\n{text}")
        return jobs


_tmpdirs = []


def tmpdir():
    """A scratch directory, removed when the case passes (kept for a look when it fails)."""
    _tmpdirs.append(tempfile.mkdtemp(prefix="carlo-slurm-"))
    return _tmpdirs[-1]


# ---------------------------------------------------------------------------------------------

def workstation():
    """jobs/workstation.sh runs mpirun without Slurm and writes what a direct mpiexec run writes."""
    d = tmpdir()
    args = ["--sim", "bootstrap", "--data", GROUPS, "--tasks", "3000", "--seed", "11"]
    env = base_env()
    env["NP"] = "3"
    p = subprocess.run([os.path.join(JOBS, "workstation.sh")] + args + ["-o", f"{d}/ws.h5"],
                       env=env, capture_output=True, text=True, timeout=300)
    check(p.returncode == 0, f"workstation.sh exited {p.returncode}\n{p.stdout}\n{p.stderr}")
    check_complete(f"{d}/ws.h5", ranks=3)
    check_same_results(f"{d}/ws.h5", mpirun_reference(2, args, f"{d}/ref.h5"))


def workstation_interrupt_resume():
    """Ctrl-C (SIGINT to the script) checkpoints, exit 3; running the script again finishes the
    run, identical to an uninterrupted one."""
    d = tmpdir()
    args = ["--sim", "faults", "--tasks", "400", "--seed", "12", "--flaky-tasks", "5,300"]
    out = f"{d}/ws.h5"
    env = base_env()
    env["NP"] = "2"
    script = [os.path.join(JOBS, "workstation.sh")]
    p = subprocess.Popen(script + args + ["--sleep-ms", "20", "-o", out], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_until("the run to start journaling tasks", lambda: os.path.exists(out + ".journal"), 60)
    p.send_signal(signal.SIGINT)
    log = p.communicate(timeout=120)[0]
    check(p.returncode == 3, f"interrupted workstation.sh exits 3, got {p.returncode}\n{log}")
    check(os.path.exists(out + ".ckpt"), "checkpoint written")
    # --resume insists on the same options; --sleep-ms only stretches the run, the reference
    # run below does without it.
    p = subprocess.run(script + args + ["--sleep-ms", "20", "-o", out], env=env,
                       capture_output=True, text=True, timeout=300)
    check(p.returncode == 0, f"second workstation.sh exited {p.returncode}\n{p.stdout}{p.stderr}")
    check_complete(out)
    check_same_results(out, mpirun_reference(2, args, f"{d}/ref.h5"))


def cluster(launcher, args=("--sim", "bootstrap", "--data", GROUPS, "--tasks", "3000",
                              "--seed", "13")):
    """jobs/cluster.sbatch with srun --mpi=pmix or with mpirun inside the allocation: one MPI
    world over the allocated ranks, the same file as a direct mpiexec run."""
    d = tmpdir()
    args = list(args)
    with Slurm() as s:
        env = dict(s.env, CARLO_LAUNCHER=launcher)
        log = f"{d}/job.out"
        jid = s.sbatch("cluster.sbatch", ["--ntasks-per-node=2", f"--output={log}"],
                       args + ["-o", f"{d}/cl.h5"], env=env)
        s.check_completed(jid, log)
    check_complete(f"{d}/cl.h5", ranks=2)
    check_same_results(f"{d}/cl.h5", mpirun_reference(2, args, f"{d}/ref.h5"))


def python_cluster(launcher):
    """A Python simulation (a .py plugin: the numpy bootstrap of docs/examples/python) under
    jobs/cluster.sbatch at 2 ranks: every rank embeds its interpreter inside the Slurm step, and
    the file equals a direct mpiexec run's."""
    cluster(launcher, ["--plugin", os.path.join(PY_EXAMPLES, "bootstrap.py"), "--sim", "pyboot",
                       "--data", GROUPS, "--tasks", "200", "--seed", "18"])


def requeue_after_warning_signal(launcher):
    """The warning signal (as Slurm sends it before the time limit, here on demand with
    scancel --signal=USR1 --batch) makes carlo checkpoint; the job requeues itself, resumes,
    and ends with the file of an uninterrupted run."""
    d = tmpdir()
    args = ["--sim", "faults", "--tasks", "600", "--seed", "14", "--flaky-tasks", "7,400"]
    out = f"{d}/rq.h5"
    with Slurm() as s:
        env = dict(s.env, CARLO_LAUNCHER=launcher)
        log = f"{d}/job.out"
        # --sleep-ms only stretches the run (~6 s on 2 ranks); it changes no result.
        jid = s.sbatch("requeue.sbatch", ["--ntasks-per-node=2", f"--output={log}"],
                       args + ["--sleep-ms", "20", "-o", out], env=env)
        wait_until("the job to start journaling tasks", lambda: os.path.exists(out + ".journal"),
                   120)
        s.run(["scancel", "--signal=USR1", "--batch", jid])
        job = s.check_completed(jid, log)[0]
        text = open(log).read()
        check(int(job["Restarts"]) == 1, f"job restarted once, Restarts={job['Restarts']}\n{text}")
        check("checkpoint written" in text and "requeued job" in text and "resumed" in text,
              f"first start checkpointed and requeued, the second resumed:\n{text}")
    check_complete(out, ranks=2)
    check_same_results(out, mpirun_reference(2, args, f"{d}/ref.h5"))


def requeue_by_scontrol(launcher):
    """Requeued from outside (`scontrol requeue`, as an admin or preemption would): Slurm sends
    SIGTERM to the whole job, not the warning signal. The next start resumes from whatever the
    ranks checkpointed and journaled, and the file equals an uninterrupted run's."""
    d = tmpdir()
    args = ["--sim", "faults", "--tasks", "600", "--seed", "17", "--flaky-tasks", "9"]
    out = f"{d}/ext.h5"
    with Slurm() as s:
        env = dict(s.env, CARLO_LAUNCHER=launcher)
        log = f"{d}/job.out"
        jid = s.sbatch("requeue.sbatch", ["--ntasks-per-node=2", f"--output={log}"],
                       args + ["--sleep-ms", "20", "-o", out], env=env)
        wait_until("the job to start journaling tasks", lambda: os.path.exists(out + ".journal"),
                   120)
        s.run(["scontrol", "requeue", jid])
        job = s.check_completed(jid, log)[0]
        text = open(log).read()
        check(int(job["Restarts"]) == 1, f"job restarted once, Restarts={job['Restarts']}\n{text}")
        check(text.count("carlo job") == 2 and "resumed" in text,
              f"two starts, the second resumed:\n{text}")
    check_complete(out, ranks=2)
    check_same_results(out, mpirun_reference(2, args, f"{d}/ref.h5"))


def requeue_at_time_limit():
    """The real thing: a one-minute time limit with --signal=B:USR1@55. Slurm itself sends the
    warning signal once 5 s have run, at its next periodic limit check (every 30 s in 22.05),
    so within 35 s; the run needs 40 s of work, hence at least one requeue. The job requeues
    until the run is done, and the file equals an uninterrupted run's."""
    d = tmpdir()
    args = ["--sim", "faults", "--tasks", "2000", "--seed", "15"]
    out = f"{d}/tl.h5"
    with Slurm() as s:
        log = f"{d}/job.out"
        # 2000 tasks x 40 ms on 2 ranks: 40 s.
        jid = s.sbatch("requeue.sbatch", ["--ntasks-per-node=2", "--time=1", "--signal=B:USR1@55",
                                          f"--output={log}"],
                       args + ["--sleep-ms", "40", "-o", out])
        job = s.check_completed(jid, log, timeout=240)[0]
        text = open(log).read()
        check(int(job["Restarts"]) >= 1, f"job was requeued, Restarts={job['Restarts']}\n{text}")
        check("warning signal" in text and "resumed" in text,
              f"Slurm sent the warning signal and the next start resumed:\n{text}")
    check_complete(out, ranks=2)
    check_same_results(out, mpirun_reference(2, args, f"{d}/ref.h5"))


def array_then_merge():
    """jobs/submit-array.sh: four array parts with --task-range, a merge job that waits for
    them (afterok), and a merged file identical to one run over all tasks."""
    d = tmpdir()
    args = ["--sim", "bootstrap", "--data", GROUPS, "--seed", "16"]
    T = 2999   # not a multiple of the parts: the last part is shorter
    with Slurm() as s:
        env = dict(s.env, CARLO_TASKS=str(T), CARLO_PARTS="4", CARLO_PARTS_DIR=f"{d}/parts",
                   CARLO_MERGED=f"{d}/all.h5", CARLO_LAUNCHER="srun")
        out = s.run([os.path.join(JOBS, "submit-array.sh"), f"--partition={s.partition}",
                     "--nodes=1", "--ntasks-per-node=1", "--time=5", f"--output={d}/%x-%j.out",
                     "--"] + args, env=env)
        array_id, merge_id = out.split()
        merge = s.job(merge_id)[0]
        if merge["JobState"] == "PENDING":
            check(f"afterok:{array_id}" in merge["Dependency"],
                  f"merge job waits for the array: {merge['Dependency']}")
        parts = s.check_completed(array_id)
        check(len(parts) == 4, f"four array tasks, got {len(parts)}")
        merge = s.check_completed(merge_id)[0]
        last_part = max(j["EndTime"] for j in parts)
        check(merge["StartTime"] >= last_part,
              f"merge started {merge['StartTime']}, after the last part ended {last_part}")
    names = sorted(os.listdir(f"{d}/parts"))
    check(names == [f"part-0000{i}.h5" for i in range(4)], f"parts written: {names}")
    chunk = (T + 3) // 4
    for i, n in enumerate(names):
        opts = root_attr(f"{d}/parts/{n}", "options").split("\n")
        want = f"task-range={i * chunk}:{min(T, (i + 1) * chunk)}"
        check(want in opts, f"part {n} ran {want}: {opts}")
    check_complete(f"{d}/all.h5")
    check_same_results(f"{d}/all.h5", mpirun_reference(2, args + ["--tasks", str(T)], f"{d}/ref.h5"))


CASES = {
    "workstation": workstation,
    "workstation_interrupt_resume": workstation_interrupt_resume,
    "cluster_srun_pmix": lambda: cluster("srun"),
    "cluster_mpirun": lambda: cluster("mpirun"),
    "python_srun": lambda: python_cluster("srun"),
    "python_mpirun": lambda: python_cluster("mpirun"),
    "requeue_after_warning_signal.srun": lambda: requeue_after_warning_signal("srun"),
    "requeue_after_warning_signal.mpirun": lambda: requeue_after_warning_signal("mpirun"),
    "requeue_by_scontrol.srun": lambda: requeue_by_scontrol("srun"),
    "requeue_by_scontrol.mpirun": lambda: requeue_by_scontrol("mpirun"),
    "requeue_at_time_limit": requeue_at_time_limit,
    "array_then_merge": array_then_merge,
}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in CASES:
        sys.exit(f"usage: slurm_jobs.py {{{'|'.join(CASES)}}}")
    CASES[sys.argv[1]]()
    for d in _tmpdirs:
        shutil.rmtree(d, ignore_errors=True)
    print("PASS")
