#!/usr/bin/python3
"""Faults of the surroundings (DESIGN §8): nothing is lost when another run, a full disk or a
damaged checkpoint gets in the way.

Usage: surroundings_cli.py CASE. Environment: CARLO_BIN.
"""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from carlo_results import results_contents  # noqa: E402

CARLO = os.environ["CARLO_BIN"]
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
ARGS = ["--sim", "faults", "--tasks", "400", "--seed", "8", "--batch", "4", "--fail-tasks", "9"]


def check(cond, msg):
    if not cond:
        sys.exit("FAIL: " + msg)


def mpirun(ranks, args):
    return ["mpiexec", "-n", str(ranks), "--oversubscribe", CARLO, "run", "--quiet"] + args


def same_results(a, b):
    ra, rb = results_contents(a), results_contents(b)
    check(ra.keys() == rb.keys(), f"same objects: {sorted(ra.keys() ^ rb.keys())}")
    for k in ra:
        check(ra[k] == rb[k], f"{k} differs between {a} and {b}")


def second_run_refused():
    """A second run on an output in use (plain, --force, --resume) is refused naming the holder
    and touches nothing; the first run ends as if alone."""
    d = tempfile.mkdtemp(prefix="carlo-owner-")
    ref, out = os.path.join(d, "ref.h5"), os.path.join(d, "r.h5")
    p = subprocess.run(mpirun(2, ARGS + ["-o", ref]), env=ENV, capture_output=True, text=True)
    check(p.returncode == 2, f"reference run: exit {p.returncode}: {p.stderr}")
    first = subprocess.Popen(mpirun(2, ARGS + ["--sleep-ms", "40", "-o", out]), env=ENV,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not os.path.exists(out + ".journal") and time.time() < deadline:
        time.sleep(0.05)
    check(os.path.exists(out + ".lock"), "the first run holds a lock file")
    before = {f: os.stat(f).st_ino for f in (out, out + ".journal", out + ".lock")}
    for extra in ([], ["--force"], ["--resume"]):
        p = subprocess.run(mpirun(2, ARGS + ["-o", out] + extra), env=ENV, capture_output=True,
                           text=True)
        lines = [l for l in p.stderr.splitlines() if l.startswith("carlo")]
        check(p.returncode == 1, f"second run {extra}: exit {p.returncode}: {p.stderr}")
        check(len(lines) == 1 and f"{out} is in use by carlo run pid" in lines[0]
              and "on host" in lines[0], f"second run {extra}: one line naming the holder: {lines}")
        check(first.poll() is None, f"the first run was still going during {extra}")
        for f, ino in before.items():
            check(os.stat(f).st_ino == ino, f"{f} untouched by the second run {extra}")
    first.wait(timeout=300)
    check(first.returncode == 2, f"first run: exit {first.returncode}: {first.stderr.read()}")
    check(not os.path.exists(out + ".lock"), "the lock file goes with the run")
    same_results(ref, out)


if __name__ == "__main__":
    globals()[sys.argv[1]]()
