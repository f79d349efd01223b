#!/usr/bin/python3
"""Real (float64) tallies end to end (issue 11, DESIGN §3): the `faults` sim's --score-bins tally
`flux` is bitwise identical at 1, 3 and 8 ranks (two nodes of 4), with --batch 1, after kill -9 +
--resume, and after --task-range halves + `carlo merge`; it matches math.fsum of the same
contributions within 1e-13 of their magnitudes; a NaN score fails its task.

Usage: real_tally_cli.py CASE. Environment: CARLO_BIN.
"""
import math
import os
import signal
import subprocess
import sys
import tempfile
import time

import h5py

from carlo_results import lock_holder  # shared helpers in tests/scripts/

CARLO = os.environ["CARLO_BIN"]
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
TASKS, BINS, FAIL = 1500, 37, 77
ARGS = ["--sim", "faults", "--tasks", str(TASKS), "--seed", "3", "--score-bins", str(BINS),
        "--fail-tasks", str(FAIL)]


def check(cond, msg):
    if not cond:
        sys.exit("FAIL: " + msg)


def run(ranks, args, env=None, expect=2):
    """expect 2: the run completes with task FAIL failed (exit 2)."""
    cmd = ["mpiexec", "-n", str(ranks), "--oversubscribe", CARLO, "run", "--quiet"] + args
    p = subprocess.run(cmd, env=env or ENV, capture_output=True, text=True, timeout=500)
    check(p.returncode == expect, f"{' '.join(cmd)}: exit {p.returncode}, expected {expect}\n{p.stderr}")
    return p


def flux_score(i, j):
    """faults.cpp flux_score, operation for operation."""
    v = (1.0 + float(i) * 1e-3) * math.ldexp(1.0, (i * (j + 1)) % 81 - 40)
    return -v if (i + j) % 3 == 0 else v


def flux(path):
    with h5py.File(path, "r") as f:
        check(f["tallies/flux"].attrs["kind"] in ("real", b"real"), "flux has kind=real")
        return f["tallies/flux"][()], f["tallies_exact/flux"][()]


def same(a, b, what):
    fa, fb = flux(a), flux(b)
    check(fa[0].tobytes() == fb[0].tobytes(), f"{what}: /tallies/flux differs")
    check(fa[1].tobytes() == fb[1].tobytes(), f"{what}: /tallies_exact/flux differs")


def ranks_and_batches_identical():
    with tempfile.TemporaryDirectory() as d:
        ref = os.path.join(d, "r1.h5")
        run(1, ARGS + ["-o", ref])
        sums, exact = flux(ref)
        check(exact.shape == (BINS * 34,), f"exact state has {exact.shape}")
        terms = [[] for _ in range(BINS)]
        for i in range(TASKS):
            if i != FAIL:  # its scores were made before it threw: rolled back
                for j in range(4):
                    terms[(i * 7 + j) % BINS].append(flux_score(i, j))
        for b in range(BINS):
            mag = sum(abs(x) for x in terms[b])
            check(abs(sums[b] - math.fsum(terms[b])) <= 1e-13 * mag,
                  f"bin {b}: {sums[b]!r} vs fsum {math.fsum(terms[b])!r}")
        out = os.path.join(d, "r3.h5")
        run(3, ARGS + ["-o", out])
        same(ref, out, "3 ranks")
        run(3, ARGS + ["--batch", "1", "-o", out, "--force"])
        same(ref, out, "--batch 1")
        run(8, ARGS + ["-o", out, "--force"], env=dict(ENV, CARLO_RANKS_PER_NODE="4"))
        same(ref, out, "8 ranks on two nodes")
        p = subprocess.run([CARLO, "report", out], capture_output=True, text=True)
        check(p.returncode == 0 and "flux  length 37, real, sum" in p.stdout, f"report: {p.stdout}")


def kill_job(proc):
    """kill -9 the whole job, as a node failure would: mpiexec's session and every rank of this
    build's carlo (ranks may leave mpiexec's session), as resume_cli.py does."""
    os.killpg(proc.pid, signal.SIGKILL)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if len(argv) > 1 and argv[0] == CARLO.encode() and argv[1] == b"run":
            try:
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass
    proc.wait()


def kill9_resume_identical():
    with tempfile.TemporaryDirectory() as d:
        ref = os.path.join(d, "ref.h5")
        run(2, ARGS + ["-o", ref])
        out = os.path.join(d, "out.h5")
        slow = ARGS + ["--sleep-ms", "10", "--checkpoint-every", "0.2", "-o", out]
        cmd = ["mpiexec", "-n", "3", "--oversubscribe", CARLO, "run", "--quiet"] + slow
        proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        deadline = time.time() + 120
        while lock_holder(out) == "" and proc.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        time.sleep(1.5)  # a few checkpoints
        check(proc.poll() is None, "the run ended before the kill")
        kill_job(proc)
        check(os.path.exists(out + ".ckpt"), "the killed run left a checkpoint")
        run(2, slow + ["--resume"])
        same(ref, out, "kill -9 + --resume")


def task_range_halves_merged():
    with tempfile.TemporaryDirectory() as d:
        ref, a, b, m = (os.path.join(d, n) for n in ("ref.h5", "a.h5", "b.h5", "m.h5"))
        run(2, ARGS + ["-o", ref])
        run(3, ARGS + ["--task-range", f"0:{TASKS // 2}", "-o", a])
        run(1, ARGS + ["--task-range", f"{TASKS // 2}:{TASKS}", "-o", b], expect=0)
        p = subprocess.run([CARLO, "merge", "-o", m, b, a], capture_output=True, text=True)
        check(p.returncode == 0, f"merge: {p.stdout}{p.stderr}")
        same(ref, m, "merged halves")


def nan_score_fails_task():
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "n.h5")
        run(2, ARGS + ["--score-nan-tasks", "5", "-o", out])
        with h5py.File(out, "r") as f:
            tasks = list(f["failures/task"][()])
            msgs = [m.decode() if isinstance(m, bytes) else m for m in f["failures/message"][()]]
        check(sorted(tasks) == [5, FAIL], f"failed tasks {tasks}")
        msg = msgs[tasks.index(5)]
        check("flux" in msg and "non-finite" in msg, f"message: {msg}")


if __name__ == "__main__":
    globals()[sys.argv[1]]()
    print("ok")
