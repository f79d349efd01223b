#!/usr/bin/python3
"""Vector observations end to end (vecobs.cmake; DESIGN §3): a plugin observing `first` (a scalar)
and `fate` (a vector of 3) under real mpiexec.

Usage: vecobs_cli.py CASE --plugin LIBVECTOR_OBS.so. Environment: CARLO_BIN, CARLO_SOURCE_DIR.
"""
import argparse
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

from carlo_results import lock_holder  # shared helpers in tests/scripts/

parser = argparse.ArgumentParser()
parser.add_argument("case")
parser.add_argument("--plugin", required=True)
ARGS = parser.parse_args()

CARLO = os.environ["CARLO_BIN"]
SRC = os.environ.get("CARLO_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
SCRATCH = tempfile.TemporaryDirectory(prefix="carlo-vecobs-")
SIM = ["--plugin", ARGS.plugin, "--sim", "vecobs", "--seed", "7"]
STATS = ["count", "mean", "sd", "stderr", "min", "max", "p2.5", "p50", "p97.5"]


def check(cond, msg):
    if not cond:
        sys.exit("FAIL: " + msg)


def tmp(name):
    return os.path.join(SCRATCH.name, name)


def mpirun(ranks, args):
    return ["mpiexec", "-n", str(ranks), "--oversubscribe", CARLO, "run", "--quiet"] + SIM + args


def run(ranks, args, expect=0):
    p = subprocess.run(mpirun(ranks, args), env=ENV, capture_output=True, text=True, timeout=500)
    check(p.returncode == expect, f"{' '.join(mpirun(ranks, args))} exited {p.returncode}, "
                                  f"expected {expect}\nstdout: {p.stdout}\nstderr: {p.stderr}")
    return p


def carlo(*args, expect=0):
    p = subprocess.run([CARLO] + list(args), env=ENV, capture_output=True, text=True, timeout=300)
    check(p.returncode == expect, f"carlo {' '.join(args)} exited {p.returncode}, expected "
                                  f"{expect}\nstdout: {p.stdout}\nstderr: {p.stderr}")
    return p


def contents(path):
    """Every per-task array and the summaries, as bytes / lists, for bitwise comparison."""
    with h5py.File(path, "r") as f:
        out = {k: f[k][()].tobytes() for k in
               ("observations/first", "observations/fate", "tasks/status", "tasks/attempts")}
        for name in ("first", "fate"):
            out["summary/" + name] = {a: np.asarray(f["summary/" + name].attrs[a]).tobytes()
                                      for a in STATS}
        out["failures"] = list(f["failures/task"][()])
        return out


def same(a, b, what):
    ca, cb = contents(a), contents(b)
    for k in ca:
        check(ca[k] == cb[k], f"{what}: {k} differs")


def whole(tasks=300, name="whole.h5", extra=()):
    out = tmp(name)
    run(2, ["--tasks", str(tasks), "-o", out, "--fail-task", "11"] + list(extra), expect=2)
    return out


def layout_and_summaries_per_component():
    out = whole()
    with h5py.File(out, "r") as f:
        fate, first = f["observations/fate"], f["observations/first"]
        check(fate.shape == (300, 3) and fate.dtype == np.float64, f"fate is {fate.shape} {fate.dtype}")
        check(fate.chunks is not None and fate.chunks[1] == 3, f"fate is chunked by rows: {fate.chunks}")
        check(first.shape == (300,), f"first is float64[T]: {first.shape}")
        v = fate[()]
        check(np.all(np.isnan(v[11])), "the failed task's row is NaN")
        done = np.delete(v, 11, axis=0)
        check(np.allclose(done.sum(axis=1), 1.0), "each task's fractions sum to 1")
        s = f["summary/fate"].attrs
        for a in STATS:
            check(np.asarray(s[a]).shape == (3,), f"summary/fate {a} has one value per component")
        check(list(s["count"]) == [299, 299, 299], f"count per component: {list(s['count'])}")
        for c in range(3):
            col = done[:, c]
            check(s["mean"][c] == np.mean(col) or math.isclose(s["mean"][c], np.mean(col), rel_tol=1e-12),
                  f"mean of component {c}")
            check(s["min"][c] == col.min() and s["max"][c] == col.max(), f"min/max of component {c}")
            check(math.isclose(s["p50"][c], np.percentile(col, 50), rel_tol=1e-12), f"p50 of {c}")
            check(math.isclose(s["sd"][c], np.std(col, ddof=1), rel_tol=1e-9), f"sd of {c}")
        check(np.asarray(f["summary/first"].attrs["mean"]).shape == (), "a scalar's summary stays scalar")


def identical_across_ranks_and_batches():
    ref = whole()
    one = whole(name="one.h5", extra=["--batch", "1"])
    same(ref, one, "--batch 1")
    three = tmp("three.h5")
    run(3, ["--tasks", "300", "-o", three, "--fail-task", "11", "--batch", "7"], expect=2)
    same(ref, three, "3 ranks")
    single = tmp("single.h5")
    run(1, ["--tasks", "300", "-o", single, "--fail-task", "11"], expect=2)
    same(ref, single, "1 rank")


def descendants(pid):
    """Every process below `pid` (the ranks under mpiexec), from /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def kill_job(proc):
    """kill -9 mpiexec and every rank by pid, as a node failure would; waits until they are gone
    (the ranks hold the results file open)."""
    pids = descendants(proc.pid)
    for pid in [proc.pid] + pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()
    deadline = time.time() + 60
    while any(os.path.exists(f"/proc/{p}") for p in pids) and time.time() < deadline:
        time.sleep(0.05)


def killed_then_resumed_identical():
    ref = whole(tasks=400)
    out = tmp("r.h5")
    args = ["--tasks", "400", "--fail-task", "11", "--sleep-ms", "10", "--batch", "4",
            "--checkpoint-every", "0.2", "-o", out]
    proc = subprocess.Popen(mpirun(2, args), env=ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while lock_holder(out) == "" and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    while not os.path.exists(out + ".ckpt") and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(0.8)
    check(proc.poll() is None, "the run was still going when killed")
    kill_job(proc)
    with h5py.File(out, "r") as f:
        check(f.attrs["state"] != "complete", "a killed run's file does not pose as complete")
    run(2, args + ["--resume"], expect=2)
    same(ref, out, "kill -9 + --resume")


def task_range_halves_merge_identical():
    ref = whole()
    a, b, merged = tmp("a.h5"), tmp("b.h5"), tmp("merged.h5")
    run(2, ["--tasks", "300", "-o", a, "--fail-task", "11", "--task-range", "0:150"], expect=2)
    run(1, ["--tasks", "300", "-o", b, "--fail-task", "11", "--task-range", "150:300"])
    carlo("merge", "-o", merged, b, a)
    same(ref, merged, "--task-range halves merged")


def target_stderr_component_stops_early():
    out = tmp("t.h5")
    p = run(2, ["--tasks", "100000", "-o", out, "--target-stderr", "fate[2]=0.004",
                "--check-every", "100"])
    with h5py.File(out, "r") as f:
        n = f["observations/fate"].shape[0]
        check(f["observations/fate"].shape[1] == 3, "still 3 components")
        check(100 <= n < 100000 and n % 100 == 0, f"stopped early at a check point: {n} tasks")
        se = f["summary/fate"].attrs["stderr"]
        check(se[2] <= 0.004, f"fate[2]'s stderr {se[2]} meets the target")
    # Every component: stops no earlier than the most variable one needs.
    all_ = tmp("all.h5")
    run(2, ["--tasks", "100000", "-o", all_, "--target-stderr", "fate=0.004", "--check-every", "100"])
    with h5py.File(all_, "r") as f:
        se = f["summary/fate"].attrs["stderr"]
        check(all(x <= 0.004 for x in se), f"every component meets the target: {list(se)}")
        check(f["observations/fate"].shape[0] >= n, "all components need at least as many tasks")
    bad = run(1, ["--tasks", "10", "-o", tmp("bad.h5"), "--target-stderr", "fate[3]=0.1"], expect=1)
    check("fate[2]" in bad.stderr and "fate[3]" in bad.stderr, f"names the columns: {bad.stderr}")


def report_and_info_show_components():
    out = whole()
    text = carlo("report", out).stdout
    for c in ("fate[0]", "fate[1]", "fate[2]", "first"):
        check(c in text, f"carlo report shows {c}:\n{text}")
    info = carlo("info", out).stdout
    check("fate[0]" in info and "fate[2]" in info, f"carlo info shows components:\n{info}")
    js = json.loads(carlo("report", out, "--json").stdout)
    flat = json.dumps(js)
    check('"fate[1]"' in flat, "--json names fate[1]")
    svg = tmp("plot.svg")
    carlo("report", out, "--plot", svg)
    with open(svg) as f:
        check("fate[0]" in f.read(), "the plot labels fate[0]")


CASES = {f.__name__: f for f in (layout_and_summaries_per_component,
                                  identical_across_ranks_and_batches, killed_then_resumed_identical,
                                  task_range_halves_merge_identical,
                                  target_stderr_component_stops_early,
                                  report_and_info_show_components)}
if __name__ == "__main__":
    CASES[ARGS.case]()
    print("ok")
