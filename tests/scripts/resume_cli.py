#!/usr/bin/python3
"""Checkpoint/resume tests: interrupted runs end bitwise identical to uninterrupted ones.

Usage: resume_cli.py CASE. Environment: CARLO_BIN.
"""
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

import h5py

from carlo_results import lock_holder  # shared helpers in tests/scripts/

CARLO = os.environ["CARLO_BIN"]
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
# Faults with retries, a permanent failure and a tally; tasks sleep so a run lasts a few seconds.
ARGS = ["--sim", "faults", "--tasks", "600", "--seed", "21", "--batch", "3", "--flaky-tasks", "40,41",
        "--fail-tasks", "77", "--checkpoint-every", "0.25"]


def check(cond, msg):
    if not cond:
        sys.exit("FAIL: " + msg)


def mpirun(ranks, args):
    return ["mpiexec", "-n", str(ranks), "--oversubscribe", CARLO, "run", "--quiet"] + args


def compare(a, b):
    keys = ["observations/value", "observations/task", "tallies/hits", "tasks/status", "tasks/attempts",
            "failures/task", "failures/attempts", "failures/message"]
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        for k in keys:
            check(fa[k][()].tobytes() == fb[k][()].tobytes() if fa[k].dtype.kind != "O"
                  else list(fa[k][()]) == list(fb[k][()]), f"{k} differs from the uninterrupted run")
        for name in ("value", "task"):
            check(dict(fa[f"summary/{name}"].attrs) == dict(fb[f"summary/{name}"].attrs), f"summary/{name} differs")
        check(fa.attrs["state"] == "complete", "state complete")


def reference(d):
    ref = os.path.join(d, "ref.h5")
    p = subprocess.run(mpirun(2, ARGS + ["-o", ref]), env=ENV, capture_output=True, text=True)
    check(p.returncode == 2, f"reference run: exit {p.returncode}: {p.stderr}")
    return ref


def started(out, proc, settle, before=""):
    """Waits until this run holds its output's lock (rank 0 wrote its pid there; the signal
    handlers are in place by then) and `settle` seconds more: on a loaded machine a fixed delay
    from the launch may still be inside mpiexec's start-up. `before`: the lock file's text left
    by an earlier, killed run."""
    deadline = time.time() + 120
    while lock_holder(out) in ("", before) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(settle)


def kill_job(proc):
    """kill -9 the whole job: mpiexec and every rank, as a node failure or scancel would."""
    subprocess.run(["pkill", "-KILL", "-f", f"^{CARLO} run"], check=False)
    proc.kill()
    proc.wait()


def kill9_resume_identical():
    d = tempfile.mkdtemp(prefix="carlo-resume-")
    ref = reference(d)
    out = os.path.join(d, "r.h5")
    rng = random.Random(5)
    env = dict(ENV, CARLO_TEST_CHECKPOINT_PAUSE_MS="60")  # widen the checkpoint window for the kills
    kills = 0
    for attempt in range(12):
        ranks = rng.choice([1, 2, 3, 4])
        before = lock_holder(out)
        # Kills land anywhere, also on a suspect under probation; a task in flight at two kills
        # would be quarantined as poison (poison_task_quarantined tests that), so allow more.
        proc = subprocess.Popen(mpirun(ranks, ARGS + ["--sleep-ms", "8", "-o", out, "--resume",
                                                      "--max-crashes", "100"]), env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            started(out, proc, 0, before)
            proc.wait(timeout=rng.uniform(0.1, 1.5))
        except subprocess.TimeoutExpired:
            kill_job(proc)
            kills += 1
            continue
        check(proc.returncode in (0, 2), f"resumed run exit {proc.returncode}: {proc.stderr.read()}")
        break
    else:
        sys.exit("FAIL: never finished")
    check(kills >= 3, f"only {kills} kills happened; the test did not test much")
    check(not os.path.exists(out + ".ckpt") and not os.path.exists(out + ".journal"),
          "checkpoint files removed after completion")
    compare(out, ref)
    # Resuming the finished file again is a no-op.
    p = subprocess.run(mpirun(2, ARGS + ["-o", out, "--resume"]), env=ENV, capture_output=True, text=True)
    check(p.returncode == 0, f"resume of a finished file: exit {p.returncode}")
    compare(out, ref)
    print(f"{kills} kills, then identical")


def signals_exit_3():
    d = tempfile.mkdtemp(prefix="carlo-resume-")
    ref = reference(d)
    out = os.path.join(d, "r.h5")
    # SIGUSR1 to mpiexec is forwarded to the ranks: checkpoint, exit 3, file says partial.
    proc = subprocess.Popen(mpirun(3, ARGS + ["--sleep-ms", "10", "-o", out]), env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started(out, proc, 0.8)
    proc.send_signal(signal.SIGUSR1)
    proc.wait(timeout=60)
    check(proc.returncode == 3, f"SIGUSR1: exit {proc.returncode}, expected 3")
    with h5py.File(out, "r") as f:
        check(f.attrs["state"] == "partial", "an interrupted run's file says partial")
        done = int(f.attrs["tasks_done"])
        check(0 < done < 600, f"partial file holds the done tasks: {done}")
    info = subprocess.run([CARLO, "info", out], capture_output=True, text=True)
    check("PARTIAL" in info.stdout, "carlo info says partial")
    # SIGTERM to every rank (as srun or scancel do): exit 3 again, after resuming.
    proc = subprocess.Popen(mpirun(2, ARGS + ["--sleep-ms", "10", "-o", out, "--resume"]), env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started(out, proc, 0.8)
    subprocess.run(["pkill", "-TERM", "-f", f"^{CARLO} run"], check=False)  # the ranks, not mpiexec
    proc.wait(timeout=60)
    check(proc.returncode == 3, f"SIGTERM to the ranks: exit {proc.returncode}, expected 3")
    p = subprocess.run(mpirun(4, ARGS + ["--sleep-ms", "10", "-o", out, "--resume"]), env=ENV,
                       capture_output=True, text=True)
    check(p.returncode == 2, f"final resume: exit {p.returncode}: {p.stderr}")
    compare(out, ref)


def poison_task_quarantined():
    d = tempfile.mkdtemp(prefix="carlo-resume-")
    out = os.path.join(d, "p.h5")
    args = ["--sim", "faults", "--tasks", "2000", "--seed", "3", "--crash-tasks", "1500", "-o", out, "--resume",
            "--checkpoint-every", "0.2"]
    codes = []
    for _ in range(5):
        p = subprocess.run(mpirun(3, args), env=ENV, capture_output=True, text=True, timeout=300)
        codes.append(p.returncode)
        if p.returncode in (0, 2):
            break
    check(codes[-1] == 2, f"exit codes {codes}: the job should end with exit 2 after the quarantine")
    check(len(codes) == 3, f"crash, crash on probation, then quarantine: {codes}")
    with h5py.File(out, "r") as f:
        check(list(f["failures/task"][:]) == [1500], "only the poison task failed")
        msg = f["failures/message"][0]
        msg = msg.decode() if isinstance(msg, bytes) else msg
        check("crashed its worker" in msg, f"failure message: {msg}")
        check(int((f["tasks/status"][:] == 1).sum()) == 1999, "every other task completed")
        check(int(f["tallies/hits"][:].sum()) == 1999, "tallies count every other task once")


def resume_refusals():
    d = tempfile.mkdtemp(prefix="carlo-resume-")
    out = os.path.join(d, "r.h5")
    proc = subprocess.Popen(mpirun(2, ARGS + ["--sleep-ms", "10", "-o", out]), env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started(out, proc, 0.8)
    proc.send_signal(signal.SIGUSR1)
    proc.wait(timeout=60)
    check(proc.returncode == 3, "interrupted")
    with open(out, "rb") as f:
        partial = f.read()
    for change, needle in [(["--seed", "22"], "seed"), (["--flaky-attempts", "2"], "sim.flaky-attempts"),
                           (["--tasks", "700"], "tasks")]:
        args = list(ARGS) + ["--sleep-ms", "10"]
        for i in range(0, len(change), 2):
            if change[i] in args:
                args[args.index(change[i]) + 1] = change[i + 1]
            else:
                args += change[i:i + 2]
        p = subprocess.run(mpirun(2, args + ["-o", out, "--resume"]), env=ENV, capture_output=True, text=True)
        check(p.returncode == 1, f"{change}: exit {p.returncode}, expected 1")
        lines = [l for l in p.stderr.splitlines() if l.startswith("carlo")]
        check(len(lines) == 1 and needle in lines[0] and "differs" in lines[0],
              f"{change}: one line naming the difference: {lines}")
        with open(out, "rb") as f:
            check(f.read() == partial, f"{change}: the partial results file is left untouched")
    # Without --resume an interrupted output is not overwritten by accident.
    p = subprocess.run(mpirun(2, ARGS + ["-o", out]), env=ENV, capture_output=True, text=True)
    check(p.returncode == 1 and "--resume" in p.stderr, f"plain rerun refused: {p.stderr}")


if __name__ == "__main__":
    globals()[sys.argv[1]]()
    print(sys.argv[1] + ": ok")
