#!/usr/bin/python3
"""End-to-end tests of `carlo merge`: parts of a run split with --task-range, each run under
mpiexec with its own rank count, merge into the file one run over all tasks writes.

Usage: merge_cli.py CASE
Environment: CARLO_BIN (the carlo executable), CARLO_SOURCE_DIR.
"""
import os
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np

from carlo_results import results_contents  # shared helpers in tests/scripts/

CARLO = os.environ["CARLO_BIN"]
SRC = os.environ["CARLO_SOURCE_DIR"]
GROUPS = os.path.join(SRC, "data", "groups-small.h5")


def check(cond, msg):
    if not cond:
        sys.exit("FAIL: " + msg)


def carlo_run(ranks, args, expect=0):
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    cmd = ["mpiexec", "-n", str(ranks), "--oversubscribe", CARLO, "run", "--quiet"] + args
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=500)
    check(p.returncode == expect, f"{' '.join(cmd)} exited {p.returncode}, expected {expect}\n"
                                  f"stdout: {p.stdout}\nstderr: {p.stderr}")


def carlo_merge(args, expect=0):
    cmd = [CARLO, "merge"] + args
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=500)
    check(p.returncode == expect, f"{' '.join(cmd)} exited {p.returncode}, expected {expect}\n"
                                  f"stdout: {p.stdout}\nstderr: {p.stderr}")
    return p


datasets = results_contents


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def same_results(merged, single):
    a, b = datasets(merged), datasets(single)
    check(a.keys() == b.keys(), f"same objects: {sorted(a.keys() ^ b.keys())}")
    for k in b:
        check(a[k] == b[k], f"{k} differs between the merged file and the single run")
    with h5py.File(merged, "r") as m, h5py.File(single, "r") as s:
        for attr in ("state", "simulation", "seed", "tasks", "data_path", "data_checksum",
                     "tasks_done", "tasks_failed", "tasks_pending", "carlo_version"):
            check(text(m.attrs[attr]) == text(s.attrs[attr]),
                  f"root attribute {attr}: {m.attrs[attr]} vs {s.attrs[attr]}")
        check(text(m["options"].attrs["task-range"]) == f"0:{int(s.attrs['tasks'])}",
              "merged options record the whole task range")


def workdir():
    return tempfile.mkdtemp(prefix="carlo-merge-")


def split_run(d, sim, ranges, expect=0):
    """Runs each (ranks, A, B) slice; returns the part paths."""
    parts = []
    for i, (ranks, a, b) in enumerate(ranges):
        part = os.path.join(d, f"part{i + 1}.h5")
        carlo_run(ranks, sim + ["--task-range", f"{a}:{b}", "-o", part], expect=expect)
        parts.append(part)
    return parts


def refused(d, parts, *needles):
    """`carlo merge` exits 1 with one line naming every needle, and leaves nothing behind."""
    before = set(os.listdir(d))
    out = os.path.join(d, "all.h5")
    p = carlo_merge(parts + ["-o", out], expect=1)
    lines = p.stderr.strip().splitlines()
    check(len(lines) == 1, f"one error line: {p.stderr!r}")
    for n in needles:
        check(n in lines[0], f"error names {n!r}: {lines[0]}")
    check(not os.path.exists(out), "no output left behind")
    check(set(os.listdir(d)) == before, f"no temporary files left: {set(os.listdir(d)) - before}")
    return lines[0]


FAULTS = ["--sim", "faults", "--tasks", "900", "--seed", "4"]

# ---------------------------------------------------------------------------------------------


def bootstrap_parts_equal_single_run():
    d = workdir()
    sim = ["--sim", "bootstrap", "--data", GROUPS, "--rows-per-task", "16", "--tasks", "3000",
           "--seed", "7"]
    parts = split_run(d, sim, [(1, 0, 1000), (3, 1000, 2100), (2, 2100, 3000)])
    single = os.path.join(d, "single.h5")
    carlo_run(2, sim + ["-o", single])
    merged = os.path.join(d, "all.h5")
    # Parts in any order on the command line.
    p = carlo_merge([parts[2], parts[0], parts[1], "-o", merged])
    check("3000 tasks (3000 done, 0 failed)" in p.stdout, f"closing line: {p.stdout}")
    same_results(merged, single)
    with h5py.File(merged, "r") as f:
        check(int(f.attrs["ranks"]) == 6, f"ranks = sum over parts: {f.attrs['ranks']}")
        listed = [os.path.basename(x) for x in text(f.attrs["merged_from"]).split()]
        check(listed == ["part1.h5", "part2.h5", "part3.h5"], f"merged_from in task order: {listed}")
        walls = []
        for part in parts:
            with h5py.File(part, "r") as g:
                walls.append(float(g.attrs["wall_seconds"]))
        check(float(f.attrs["wall_seconds"]) == sum(walls), "wall_seconds = sum over parts")
        lanes = set(f["timeline/rank"][:])
        check(max(lanes) <= 5, f"timeline ranks within the parts' 6 lanes: {sorted(lanes)}")
    # The merged file is a results file carlo itself reads.
    info = subprocess.run([CARLO, "info", merged], capture_output=True, text=True)
    check(info.returncode == 0 and "PARTIAL" not in info.stdout, f"carlo info: {info.stdout}{info.stderr}")


def faults_failures_and_tally_merged():
    d = workdir()
    sim = ["--sim", "faults", "--tasks", "2000", "--seed", "3", "--fail-tasks", "5,1300,1999",
           "--flaky-tasks", "700", "--max-retries", "1"]
    parts = split_run(d, sim, [(2, 0, 600), (1, 600, 1500), (4, 1500, 2000)], expect=2)
    single = os.path.join(d, "single.h5")
    carlo_run(3, sim + ["-o", single], expect=2)
    merged = os.path.join(d, "all.h5")
    carlo_merge(parts + ["-o", merged])
    same_results(merged, single)
    with h5py.File(merged, "r") as f:
        check(list(f["failures/task"][:]) == [5, 1300, 1999], "failures of all parts, in task order")
        check(int(f["tallies/hits"][:].sum()) == 1997, "tally summed over the parts' done tasks")


def single_whole_run_is_a_part():
    d = workdir()
    whole = os.path.join(d, "whole.h5")
    carlo_run(2, FAULTS + ["-o", whole])
    merged = os.path.join(d, "all.h5")
    carlo_merge([whole, "-o", merged])
    same_results(merged, whole)


def refuses_overlap():
    d = workdir()
    parts = split_run(d, FAULTS, [(1, 0, 400), (1, 350, 900)])
    refused(d, parts, "part1.h5", "part2.h5", "overlap at task 350")


def refuses_gap():
    d = workdir()
    parts = split_run(d, FAULTS, [(1, 0, 300), (1, 300, 500), (1, 600, 900)])
    refused(d, parts, "tasks 500:600 are in no part")
    refused(d, parts[1:], "tasks 0:300 are in no part")
    refused(d, parts[:2], "tasks 500:900 are in no part")


def refuses_mismatched_seed():
    d = workdir()
    p1 = split_run(d, FAULTS, [(1, 0, 450)])[0]
    p2 = os.path.join(d, "other.h5")
    carlo_run(1, ["--sim", "faults", "--tasks", "900", "--seed", "5", "--task-range", "450:900",
                  "-o", p2])
    refused(d, [p1, p2], "other.h5: seed 5 differs from", "part1.h5: seed 4")


def refuses_mismatched_sim_option():
    d = workdir()
    p1 = split_run(d, FAULTS, [(1, 0, 450)])[0]
    p2 = os.path.join(d, "other.h5")
    carlo_run(1, FAULTS + ["--work", "3", "--task-range", "450:900", "-o", p2])
    refused(d, [p1, p2], "other.h5: sim.work 3 differs from", "part1.h5: sim.work 0")


def refuses_different_task_count():
    d = workdir()
    p1 = split_run(d, FAULTS, [(1, 0, 450)])[0]
    p2 = os.path.join(d, "other.h5")
    carlo_run(1, ["--sim", "faults", "--tasks", "1000", "--seed", "4", "--task-range", "450:1000",
                  "-o", p2])
    refused(d, [p1, p2], "other.h5: tasks 1000 differs from", "part1.h5: tasks 900")


def refuses_partial_part():
    d = workdir()
    parts = split_run(d, FAULTS, [(1, 0, 450), (1, 450, 900)])
    # What an interrupted part leaves (finish() with state "partial", see results-format.md).
    with h5py.File(parts[1], "a") as f:
        f.attrs["state"] = "partial"
    refused(d, parts, "part2.h5", "state 'partial'", "not a complete results file")
    with h5py.File(parts[1], "a") as f:
        f.attrs["state"] = "running"
    refused(d, parts, "part2.h5", "state 'running'")


def refuses_part_without_task_range():
    d = workdir()
    parts = split_run(d, FAULTS, [(1, 0, 900)])
    with h5py.File(parts[0], "a") as f:
        del f["options"].attrs["task-range"]
    refused(d, parts, "part1.h5", "no task-range")


def refuses_run_stopped_by_target():
    d = workdir()
    early = os.path.join(d, "early.h5")
    carlo_run(1, ["--sim", "faults", "--tasks", "100000", "--seed", "4", "-o", early,
                  "--target-stderr", "value=0.05", "--check-every", "100"])
    refused(d, [early], "early.h5: keeps", "of 100000 requested tasks", "--target-stderr")


def refuses_non_results_file():
    d = workdir()
    p1 = split_run(d, FAULTS, [(1, 0, 900)])[0]
    groups = os.path.join(d, "groups.h5")
    shutil.copy(GROUPS, groups)
    refused(d, [p1, groups], "groups.h5", "not a carlo results file")
    junk = os.path.join(d, "junk.h5")
    with open(junk, "w") as f:
        f.write("not hdf5\n")
    refused(d, [junk], "junk.h5")


def refuses_existing_output_unless_forced():
    d = workdir()
    parts = split_run(d, FAULTS, [(1, 0, 450), (2, 450, 900)])
    out = os.path.join(d, "all.h5")
    with open(out, "w") as f:
        f.write("precious\n")
    p = carlo_merge(parts + ["-o", out], expect=1)
    check("all.h5: output exists (use --force to overwrite)" in p.stderr, p.stderr)
    check(open(out).read() == "precious\n", "existing output untouched")
    # A refused merge with --force keeps the old file too: it is replaced only by a complete one.
    p = carlo_merge(parts[:1] + ["-o", out, "--force"], expect=1)
    check(open(out).read() == "precious\n", "existing output untouched by a refused --force merge")
    carlo_merge(parts + ["-o", out, "--force"])
    with h5py.File(out, "r") as f:
        check(text(f.attrs["state"]) == "complete", "replaced by the merged file")
    p = carlo_merge(parts + ["-o", parts[0], "--force"], expect=1)
    check("also one of the parts" in p.stderr, p.stderr)


CASES = {f.__name__: f for f in [
    bootstrap_parts_equal_single_run, faults_failures_and_tally_merged, single_whole_run_is_a_part,
    refuses_overlap, refuses_gap, refuses_mismatched_seed, refuses_mismatched_sim_option,
    refuses_different_task_count, refuses_partial_part, refuses_part_without_task_range,
    refuses_run_stopped_by_target, refuses_non_results_file, refuses_existing_output_unless_forced]}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in CASES:
        sys.exit(f"usage: merge_cli.py {{{','.join(CASES)}}}")
    CASES[sys.argv[1]]()
