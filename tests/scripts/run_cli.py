#!/usr/bin/python3
"""End-to-end tests of `carlo run` under mpiexec, checked with h5py.

Usage: run_cli.py CASE   (CASE may carry a suffix: exactly_once.np3, exactly_once.nodes4of2)
Environment: CARLO_BIN (the carlo executable), CARLO_SOURCE_DIR.
"""
import math
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

from carlo_results import results_contents  # shared helpers in tests/scripts/

CARLO = os.environ["CARLO_BIN"]
SRC = os.environ["CARLO_SOURCE_DIR"]
GROUPS = os.path.join(SRC, "data", "groups-small.h5")


def carlo_run(ranks, args, expect=0, nodes_of=None, extra_env=None):
    env = dict(os.environ)
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", **(extra_env or {}))
    if nodes_of:
        env["CARLO_RANKS_PER_NODE"] = str(nodes_of)
    cmd = ["mpiexec", "-n", str(ranks), "--oversubscribe", CARLO, "run", "--quiet"] + args
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=500)
    if p.returncode != expect:
        sys.exit(f"FAIL: {' '.join(cmd)} exited {p.returncode}, expected {expect}\n"
                 f"stdout: {p.stdout}\nstderr: {p.stderr}")
    return p


datasets = results_contents


def check(cond, msg):
    if not cond:
        sys.exit("FAIL: " + msg)


def tmp(name):
    return os.path.join(tempfile.mkdtemp(prefix="carlo-run-"), name)


# ---------------------------------------------------------------------------------------------

def exactly_once(ranks, nodes_of=None):
    out = tmp("r.h5")
    T = 20000
    p = carlo_run(ranks, ["--sim", "faults", "--tasks", str(T), "--seed", "5", "-o", out,
                          "--flaky-tasks", "10,11,12", "--batch", "auto"], nodes_of=nodes_of,
                  extra_env={"CARLO_TIMINGS": "1"})
    check_timings(p.stderr, ranks, T)
    with h5py.File(out, "r") as f:
        task = f["observations/task"][:]
        check(np.array_equal(task, np.arange(T, dtype=float)), "every task stored at its index")
        check((f["tasks/status"][:] == 1).all(), "all tasks done")
        att = f["tasks/attempts"][:]
        check(att[10] == 2 and att[11] == 2 and att[0] == 1, f"attempts recorded: {att[:13]}")
        hits = f["tallies/hits"][:]
        check(hits.sum() == T, f"tally counts each task exactly once: {hits.sum()} != {T}")
        check(np.array_equal(hits, np.bincount(np.arange(T) % 16, minlength=16)), "tally per bin")
        check(f.attrs["state"] in (b"complete", "complete"), "state complete")
        check(int(f.attrs["ranks"]) == ranks, "ranks recorded")
        if nodes_of:
            check(int(f.attrs["nodes"]) == ranks // nodes_of, "virtual nodes recorded")


PHASES = ["start", "decide", "load", "build", "open", "master", "tallies", "tasks", "reduce",
          "finish"]


def check_timings(stderr, ranks, tasks):
    """CARLO_TIMINGS=1: rank 0's phases in run order summing to `total`, and one line per worker
    (every rank, also one that got no batch) whose tasks add up to the tasks run (a retried task
    counts once per attempt)."""
    lines = [l.split()[2:] for l in stderr.splitlines() if l.startswith("carlo timings:")]
    check(len(lines) == 1 + ranks, f"one phase line and {ranks} worker lines: {stderr}")
    phases = dict(kv.split("=") for kv in lines[0])
    check(list(phases) == PHASES + ["total"], f"phases in run order: {list(phases)}")
    seconds = [float(phases[k]) for k in PHASES]
    check(min(seconds) >= 0 and abs(sum(seconds) - float(phases["total"])) < 0.01,
          f"phase seconds add up to the total: {phases}")
    workers = [dict(kv.split("=") for kv in l) for l in lines[1:]]
    check(sorted(int(w["worker"]) for w in workers) == list(range(ranks)), f"workers: {workers}")
    done = sum(int(w["tasks"]) for w in workers)
    check(tasks <= done <= tasks + 3, f"workers' tasks {done} cover the {tasks} tasks once")
    check(all(0 <= float(w["busy"]) <= float(phases["total"]) for w in workers), f"{workers}")
    check(all(0 <= float(w["cpu"]) <= float(phases["total"]) for w in workers), f"{workers}")
    check(any(float(w["cpu"]) > 0 for w in workers), f"some worker's CPU time counted: {workers}")


def identical_across_ranks_and_batches():
    runs = []
    for ranks, batch in [(1, "auto"), (2, "1"), (3, "7"), (4, "auto"), (8, "7")]:
        for sim in (["--sim", "bootstrap", "--data", GROUPS, "--rows-per-task", "8", "--tasks", "1500"],
                    ["--sim", "faults", "--tasks", "3000", "--fail-prob", "0.2", "--max-retries", "1"]):
            out = tmp(f"r{ranks}-{batch}.h5")
            expect = 2 if sim[1] == "faults" else 0
            carlo_run(ranks, sim + ["--seed", "11", "--batch", batch, "-o", out], expect=expect)
            runs.append((sim[1], ranks, batch, datasets(out)))
    for name in ("bootstrap", "faults"):
        ref = [r for r in runs if r[0] == name][0]
        for other in [r for r in runs if r[0] == name][1:]:
            check(other[3].keys() == ref[3].keys(), f"{name}: same objects")
            for k in ref[3]:
                check(other[3][k] == ref[3][k],
                      f"{name}: {k} differs between {ref[1]} ranks batch {ref[2]} and {other[1]} ranks batch {other[2]}")


def retries_and_failures(ranks):
    out = tmp("r.h5")
    p = carlo_run(ranks, ["--sim", "faults", "--tasks", "500", "--seed", "1", "-o", out,
                          "--fail-tasks", "7,123", "--flaky-tasks", "5", "--flaky-attempts", "2",
                          "--max-retries", "2"], expect=2)
    with h5py.File(out, "r") as f:
        st, att = f["tasks/status"][:], f["tasks/attempts"][:]
        check(st[7] == 2 and st[123] == 2, "failed tasks have status 2")
        check(att[7] == 3 and att[123] == 3, "failed after 1 + 2 attempts")
        check(st[5] == 1 and att[5] == 3, "flaky task done on its third attempt")
        check((st == 1).sum() == 498, "all others done")
        ids = list(f["failures/task"][:])
        check(ids == [7, 123], f"/failures lists the failed tasks: {ids}")
        msgs = [m.decode() if isinstance(m, bytes) else m for m in f["failures/message"][:]]
        check("injected failure of task 7" in msgs[0], f"last error message kept: {msgs}")
        check(math.isnan(f["observations/value"][7]), "failed task has no observation")
        check(f["tallies/hits"][:].sum() == 498, "failed tasks' tallies discarded")
        s = dict(f["summary/value"].attrs)
        check(int(s["count"]) == 498, "summary counts done tasks only")


def stragglers_reissued():
    out = tmp("r.h5")
    p = carlo_run(3, ["--sim", "faults", "--tasks", "300", "--seed", "2", "-o", out, "--batch", "10",
                      "--stall-tasks", "295", "--stall-ms", "3000", "--task-timeout", "0.2"])
    with h5py.File(out, "r") as f:
        check((f["tasks/status"][:] == 1).all(), "all done")
        check(f["tallies/hits"][:].sum() == 300, "a re-issued batch is counted once")
        check(int(f.attrs["reissued_batches"]) >= 1, "a batch was re-issued")
    ref = tmp("ref.h5")
    carlo_run(1, ["--sim", "faults", "--tasks", "300", "--seed", "2", "-o", ref, "--batch", "10"])
    a, b = datasets(out), datasets(ref)
    for k in ("observations/value", "tallies/hits", "tasks/status"):
        check(a[k] == b[k], f"{k} identical to an undisturbed run")


def bootstrap_accuracy():
    with h5py.File(GROUPS, "r") as f:
        v, o = f["values"][:], f["offsets"][:]
    means = [v[o[i]:o[i + 1]].mean() for i in range(len(o) - 1) if o[i + 1] > o[i]]
    exact = float(np.mean(means))
    out = tmp("r.h5")
    carlo_run(2, ["--sim", "bootstrap", "--data", GROUPS, "--tasks", "4000", "--seed", "3", "-o", out])
    with h5py.File(out, "r") as f:
        e = f["observations/estimate"][:]
        s = dict(f["summary/estimate"].attrs)
    se = e.std(ddof=1) / math.sqrt(len(e))
    check(abs(e.mean() - exact) < 5 * se, f"bootstrap mean {e.mean()} vs exact {exact}: > 5 se ({se})")
    check(abs(float(s["mean"]) - e.mean()) < 1e-12 * max(1, abs(e.mean())), "summary mean matches")
    check(abs(float(s["stderr"]) - se) < 1e-9, "summary stderr matches")
    p50 = np.percentile(e, 50)
    check(abs(float(s["p50"]) - p50) < 1e-12, f"p50 {s['p50']} vs numpy {p50}")
    for share in ("mmap",):
        out2 = tmp("r2.h5")
        carlo_run(2, ["--sim", "bootstrap", "--data", GROUPS, "--tasks", "4000", "--seed", "3", "-o", out2,
                      "--share", share])
        check(datasets(out2)["observations/estimate"] == datasets(out)["observations/estimate"],
              f"--share {share} gives the same results")


def pi_accuracy():
    out = tmp("r.h5")
    carlo_run(4, ["--sim", "pi", "--tasks", "2000", "--samples-per-task", "20000", "--seed", "9", "-o", out])
    with h5py.File(out, "r") as f:
        e = f["observations/pi"][:]
    se = e.std(ddof=1) / math.sqrt(len(e))
    check(abs(e.mean() - math.pi) < 5 * se, f"pi {e.mean()} not within 5 se ({se}) of pi")


def target_stderr():
    results = []
    for ranks in (1, 3):
        out = tmp(f"t{ranks}.h5")
        carlo_run(ranks, ["--sim", "faults", "--tasks", "1000000", "--seed", "4", "-o", out,
                          "--target-stderr", "value=0.005", "--check-every", "500"])
        with h5py.File(out, "r") as f:
            n = int(f.attrs["tasks"])
            v = f["observations/value"][:]
            check(len(v) == n, f"results hold exactly the prefix: {len(v)} observations, tasks={n}")
            check(n % 500 == 0 and n < 1000000, f"stopped at a multiple of --check-every: {n}")
            se = v.std(ddof=1) / math.sqrt(n)
            check(se <= 0.005, f"target met: {se}")
            if n > 500:
                w = v[: n - 500]
                check(w.std(ddof=1) / math.sqrt(len(w)) > 0.005, "not met at the previous check")
            check(f["tallies/hits"][:].sum() == n, "tallies hold exactly the prefix")
        results.append(datasets(out))
    check(results[0] == results[1], "same answer whatever the ranks")


def usage_errors():
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    out = tmp("r.h5")
    placeholder_ini = os.path.join(SRC, "tests", "fuzz", "corpus", "run_args",
                                   "boost-placeholder-section.ini")
    cases = [
        (["--sim", "nope", "--tasks", "5", "--seed", "1", "-o", out], "unknown simulation 'nope'"),
        (["--sim", "pi", "--seed", "1", "-o", out], "--tasks is required"),
        (["--sim", "pi", "--tasks", "-3", "--seed", "1", "-o", out], "--tasks"),
        (["--sim", "pi", "--tasks", "0", "--seed", "1", "-o", out], "--tasks must be at least 1"),
        (["--sim", "bootstrap", "--tasks", "5", "--seed", "1", "-o", out], "needs --data"),
        (["--sim", "bootstrap", "--data", "/nonexistent.h5", "--tasks", "5", "--seed", "1", "-o", out],
         "/nonexistent.h5"),
        (["--sim", "pi", "--tasks", "5", "--seed", "1", "-o", out, "--target-stderr", "nope=0.1"],
         "no observation 'nope'"),
        (["--sim", "pi", "--tasks", "5", "--seed", "1", "-o", out, "--batch", "0"], "--batch"),
        # What the results file cannot hold is refused up front, not after hours of writing.
        (["--sim", "pi", "--tasks", "5e18", "--seed", "1", "-o", out], "at most 2^40"),
        # A bare word is never silently dropped: `--quiet false` would run quietly.
        (["--sim", "pi", "--tasks", "5", "--seed", "1", "-o", out, "--quiet", "false"],
         "unexpected argument 'false'"),
        (["--sim", "pi", "--tasks", "5", "--seed", "1", "-o", out, "--samples-per-task", "10", "20"],
         "unexpected argument '20'"),
        # Found by fuzz_run_args: Boost's message for a bad value holding its own placeholder
        # looped forever; refused up front (tests/fuzz/corpus/run_args/boost-placeholder-*).
        (["--sim", "pi", "--tasks", "5", "--seed", "1", "-o", out, "--samples-per-task", "%value%"],
         "'%value%' is not allowed"),
        (["--config", placeholder_ini], "'%canonical_option%' is not allowed"),
    ]
    for args, needle in cases:
        p = subprocess.run(["mpiexec", "-n", "3", "--oversubscribe", CARLO, "run"] + args, env=env,
                           capture_output=True, text=True, timeout=120)
        check(p.returncode == 1, f"{args}: exit {p.returncode}, expected 1; stderr {p.stderr}")
        lines = [l for l in p.stderr.splitlines() if l.startswith("carlo")]
        check(len(lines) == 1, f"{args}: exactly one error line (rank 0 only), got {lines}")
        check(needle in lines[0], f"{args}: message names the problem ({needle!r}): {lines[0]}")
        check(not os.path.exists(out), f"{args}: no output written")
    # An existing output is refused unless --force.
    open(out, "w").write("x")
    p = subprocess.run(["mpiexec", "-n", "2", "--oversubscribe", CARLO, "run", "--sim", "pi", "--tasks", "5",
                        "--seed", "1", "-o", out], env=env, capture_output=True, text=True, timeout=120)
    check(p.returncode == 1 and "exists" in p.stderr, f"existing output refused: {p.stderr}")
    carlo_run(2, ["--sim", "pi", "--tasks", "5", "--seed", "1", "-o", out, "--force", "--samples-per-task", "10"])


def main():
    case = sys.argv[1]
    base, _, suffix = case.partition(".")
    if base == "exactly_once":
        if suffix.startswith("nodes"):
            ranks, per = suffix[len("nodes"):].split("of")
            exactly_once(int(ranks), nodes_of=int(per))
        else:
            exactly_once(int(suffix[2:]))
    elif base == "retries_and_failures":
        retries_and_failures(int(suffix[2:]))
    else:
        globals()[base]()
    print(f"{case}: ok")


if __name__ == "__main__":
    main()
