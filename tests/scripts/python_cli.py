#!/usr/bin/python3
"""Simulations written in Python (python.cmake; DESIGN section 7), end to end under mpiexec.

Usage: python_cli.py CASE. Environment: CARLO_BIN, CARLO_SOURCE_DIR.
"""
import os
import signal
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from carlo_results import results_contents  # noqa: E402

CARLO = os.environ["CARLO_BIN"]
SRC = os.environ["CARLO_SOURCE_DIR"]
EXAMPLES = os.path.join(SRC, "docs", "examples", "python")
AIDS = os.path.join(SRC, "tests", "scripts", "python_scripts")
GROUPS = os.path.join(SRC, "data", "groups-small.h5")
GRAPH = os.path.join(SRC, "data", "graph-small.h5")
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
SCRATCH = tempfile.TemporaryDirectory(prefix="carlo-python-")


def check(cond, msg):
    if not cond:
        sys.exit("FAIL: " + msg)


def out(name):
    return os.path.join(SCRATCH.name, name)


def cmd(args, ranks=1):
    return ["mpiexec", "-n", str(ranks), "--oversubscribe", CARLO, "run", "--quiet"] + list(args)


def run(args, expect, ranks=1):
    p = subprocess.run(cmd(args, ranks), env=ENV, capture_output=True, text=True, timeout=600)
    check(p.returncode == expect,
          f"{' '.join(args)} on {ranks} ranks exited {p.returncode}, expected {expect}\n{p.stderr}")
    return p


def message(f, i):
    m = f["failures/message"][i]
    return m.decode() if isinstance(m, bytes) else m


EXAMPLE_RUNS = {
    "pi": ["--plugin", os.path.join(EXAMPLES, "pi.py"), "--sim", "pypi", "--points", "20",
           "--tasks", "3000", "--seed", "5"],
    "bootstrap": ["--plugin", os.path.join(EXAMPLES, "bootstrap.py"), "--sim", "pyboot",
                  "--data", GROUPS, "--tasks", "300", "--seed", "5"],
    "walk": ["--plugin", os.path.join(EXAMPLES, "walk.py"), "--sim", "pywalk", "--data", GRAPH,
             "--tasks", "60", "--walks-per-task", "200", "--seed", "5"],
}


def examples_identical_across_ranks_and_batches():
    """Every example: 1 rank, 3 ranks and --batch 1 give bitwise identical results files."""
    for name, args in EXAMPLE_RUNS.items():
        files = []
        for ranks, extra in ((1, []), (3, []), (1, ["--batch", "1"])):
            files.append(out(f"{name}-{ranks}-{len(extra)}.h5"))
            run(args + extra + ["-o", files[-1]], 0, ranks)
        ref = results_contents(files[0])
        check(len(ref) > 3, f"{name}: results hold data")
        for f in files[1:]:
            check(results_contents(f) == ref, f"{name}: {f} differs from the 1-rank run")
        print(f"{name}: identical at 1 and 3 ranks and --batch 1")


def bootstrap_estimates_the_cpp_expectation():
    """The numpy bootstrap and the C++ sample estimate the same expectation (the data's average
    row mean), each within 4 standard errors; not the same numbers (different generators)."""
    with h5py.File(GROUPS, "r") as f:
        v, o = f["values"][()], f["offsets"][()]
    expected = np.mean([v[o[i]:o[i + 1]].mean() for i in range(len(o) - 1) if o[i + 1] > o[i]])
    for sim, plugin in (("pyboot", ["--plugin", os.path.join(EXAMPLES, "bootstrap.py")]),
                        ("bootstrap", [])):
        path = out(sim + ".h5")
        run(plugin + ["--sim", sim, "--data", GROUPS, "--tasks", "3000", "--seed", "9",
                      "-o", path], 0, 2)
        with h5py.File(path, "r") as f:
            s = f["summary/estimate"].attrs
            mean, se = float(s["mean"]), float(s["stderr"])
        check(abs(mean - expected) < 4 * se, f"{sim}: {mean} +- {se} vs expected {expected}")
        print(f"{sim}: {mean:.5f} +- {se:.5f}, expected {expected:.5f}")


def walk_estimates_pagerank_like_cpp():
    """The numba walk's visits agree with the C++ walk's, node by node, within sampling noise."""
    tallies = []
    for sim, plugin in (("pywalk", ["--plugin", os.path.join(EXAMPLES, "walk.py")]), ("walk", [])):
        path = out(sim + ".h5")
        run(plugin + ["--sim", sim, "--data", GRAPH, "--tasks", "100", "--seed", "2", "-o", path],
            0, 2)
        with h5py.File(path, "r") as f:
            tallies.append(f["tallies/visits"][()].astype(float))
    a, b = tallies
    pa, pb = a / a.sum(), b / b.sum()
    # Chi-square-like distance on the nodes with many visits: well under 5 sigma per node.
    big = (a + b) > 400
    z = (a[big] - b[big] * a.sum() / b.sum()) / np.sqrt(a[big] + b[big])
    check(big.sum() > 50 and np.abs(z).max() < 6, f"visits differ: max |z| = {np.abs(z).max()}")
    check(abs(pa.sum() - pb.sum()) < 1e-9 and np.abs(pa - pb).sum() < 0.1, "PageRank L1 distance")
    print(f"pywalk vs walk: {big.sum()} nodes compared, max |z| = {np.abs(z).max():.2f}")


def rng_is_keyed_numpy_philox():
    """task.rng is numpy's Philox Generator, a pure function of (seed, task id) as documented
    (carlo.task_rng), reset for every task."""
    path = out("rng.h5")
    run(["--plugin", os.path.join(AIDS, "rng_check.py"), "--sim", "pyrng", "--seed", "77",
         "--seed-copy", "77", "--tasks", "200", "-o", path], 0, 2)
    with h5py.File(path, "r") as f:
        same = f["observations/same"][()]
    check(same.min() == 1.0, f"task.rng differs from carlo.task_rng in {int((same != 1).sum())} tasks")


def write_into_data_fails_the_task():
    """The data is read-only: a write into values, into a row, or making values writeable again,
    fails the task (exit 2, ValueError in /failures); the other tasks are done."""
    for how in ("values", "row", "flags"):
        path = out(f"write-{how}.h5")
        run(["--plugin", os.path.join(AIDS, "faulty.py"), "--sim", "pyfaulty", "--data", GROUPS,
             "--write", how, "--tasks", "20", "--seed", "1", "--max-retries", "1", "-o", path], 2, 2)
        with h5py.File(path, "r") as f:
            check(list(f["failures/task"][()]) == [3], f"{how}: only task 3 failed")
            m = message(f, 0)
            check("ValueError" in m and ("read-only" in m or "WRITEABLE" in m) and "faulty.py:" in m,
                  f"{how}: message {m!r}")
            check(int((f["tasks/status"][()] == 1).sum()) == 19, f"{how}: the others are done")
        print(f"{how}: {m}")
    with h5py.File(GROUPS, "r") as f:
        check(f["values"][0] != 1.0, "the file is untouched")


def exceptions_are_failures():
    """An exception in run() fails the task after its retries: exit 2, the last traceback line and
    where it was raised in /failures, its tally counts discarded."""
    path = out("fail.h5")
    p = run(["--plugin", os.path.join(AIDS, "faulty.py"), "--sim", "pyfaulty", "--fail-task", "7",
             "--tasks", "40", "--seed", "1", "--max-retries", "2", "-o", path], 2, 3)
    with h5py.File(path, "r") as f:
        check(list(f["failures/task"][()]) == [7], "task 7 failed")
        check(int(f["failures/attempts"][0]) == 3, "after 1 + 2 retries")
        m = message(f, 0)
        check(m.startswith("ValueError: boom in task 7 (faulty.py:"), f"message {m!r}")
        check(int(f["tallies/hits"][()].sum()) == 39, "the failed task's tally was discarded")
        check(np.isnan(f["observations/u"][7]), "no observation for the failed task")


BROKEN = {
    "syntax_error": "SyntaxError",
    "no_decorator": "declares no simulation",
    "bad_option_name": "Rows",
    "reserved_option": "seed",
    "init_raises": "ValueError: refusing this data",
    "import_error": "ModuleNotFoundError",
}


def broken_scripts_refused():
    """A script that cannot be imported, declares nothing, declares a bad option or raises in
    __init__ refuses the run: one error line naming the script, exit 1, no results file."""
    for name, needle in BROKEN.items():
        script = os.path.join(AIDS, "broken", name + ".py")
        path = out(f"broken-{name}.h5")
        p = run(["--plugin", script, "--sim", "pybad", "--tasks", "5", "--seed", "1", "-o", path],
                1, 2)
        lines = [line for line in p.stderr.splitlines() if line.startswith("carlo")]
        check(len(lines) == 1, f"{name}: one error line, got {lines}")
        check(needle in lines[0] and (name + ".py") in lines[0], f"{name}: {lines[0]!r}")
        check(not os.path.exists(path), f"{name}: no results file")
        print(f"{name}: {lines[0]}")


def killed_then_resumed_identical():
    """kill -9 of the whole job while Python tasks run, then --resume: identical to a run that was
    never killed; and a resume with an edited script is refused (its checksum is provenance)."""
    script = os.path.join(SCRATCH.name, "slow.py")
    with open(os.path.join(AIDS, "slow.py")) as src, open(script, "w") as dst:
        dst.write(src.read())
    args = ["--plugin", script, "--sim", "pyslow", "--tasks", "600", "--seed", "4",
            "--checkpoint-every", "0.2"]
    ref = out("slow-ref.h5")
    run(args + ["--ms", "0", "-o", ref], 0, 2)
    path = out("slow.h5")
    proc = subprocess.Popen(cmd(args + ["--ms", "6", "-o", path], 2), env=ENV, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not os.path.exists(path + ".ckpt"):
        time.sleep(0.05)
    time.sleep(0.8)
    # kill -9 of the whole job: mpiexec (its process group), then its ranks, which Open MPI's
    # launcher puts in process groups of their own; the resume below needs them gone.
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    ranks = f"^{CARLO} run .*{path}"
    subprocess.run(["pkill", "-KILL", "-f", ranks], check=False)
    deadline = time.time() + 60
    while subprocess.run(["pgrep", "-f", ranks], capture_output=True).returncode == 0:
        check(time.time() < deadline, "the killed job's ranks did not exit")
        time.sleep(0.05)
    check(os.path.exists(path + ".ckpt"), "a checkpoint was left")
    with open(script, "a") as f:
        f.write("# edited\n")
    p = run(args + ["--ms", "6", "-o", path, "--resume"], 1, 2)
    check("plugin" in p.stderr, f"an edited script is refused on resume: {p.stderr}")
    with open(script) as f:
        text = f.read()
    with open(script, "w") as f:
        f.write(text.replace("# edited\n", ""))
    run(args + ["--ms", "6", "-o", path, "--resume"], 0, 3)
    check(results_contents(path) == results_contents(ref), "resumed run differs")


def split_parts_merge_and_refuse_an_edited_script():
    """Two --task-range parts of a Python run merge into the file one run over all tasks writes;
    a part made after the script was edited is refused by merge (the checksum is provenance)."""
    script = os.path.join(SCRATCH.name, "pi.py")
    with open(os.path.join(EXAMPLES, "pi.py")) as src, open(script, "w") as dst:
        dst.write(src.read())
    args = ["--plugin", script, "--sim", "pypi", "--points", "10", "--tasks", "300", "--seed", "6"]
    whole, parts = out("pi-whole.h5"), [out("pi-part0.h5"), out("pi-part1.h5")]
    run(args + ["-o", whole], 0, 2)
    run(args + ["--task-range", "0:120", "-o", parts[0]], 0, 2)
    run(args + ["--task-range", "120:300", "-o", parts[1]], 0, 1)
    merged = out("pi-merged.h5")
    p = subprocess.run([CARLO, "merge", "-o", merged] + parts, env=ENV, capture_output=True,
                       text=True)
    check(p.returncode == 0, f"merge exited {p.returncode}: {p.stderr}")
    check(results_contents(merged) == results_contents(whole), "merged parts differ from one run")
    with open(script, "a") as f:
        f.write("# edited\n")
    run(args + ["--task-range", "120:300", "-o", parts[1], "--force"], 0, 1)
    p = subprocess.run([CARLO, "merge", "-o", out("pi-refused.h5")] + parts, env=ENV,
                       capture_output=True, text=True)
    check(p.returncode == 1 and "plugin-checksum" in p.stderr, f"merge of an edited script's part: "
          f"exit {p.returncode}: {p.stderr}")
    check(not os.path.exists(out("pi-refused.h5")), "no merged file")


def signal_checkpoints_while_python_runs():
    """SIGUSR1 reaches carlo while a rank is inside Python code: checkpoint and exit 3."""
    path = out("sig.h5")
    proc = subprocess.Popen(cmd(["--plugin", os.path.join(AIDS, "slow.py"), "--sim", "pyslow",
                                 "--tasks", "100000", "--seed", "1", "--ms", "20", "-o", path], 2),
                            env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    # Tasks run once the fresh run's first checkpoint exists (a signal before the first task ends
    # the run writing nothing, by design); on a loaded machine that may take more than seconds.
    deadline = time.time() + 120
    while not os.path.exists(path + ".ckpt") and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(1)
    proc.send_signal(signal.SIGUSR1)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        sys.exit("FAIL: SIGUSR1 did not stop the run")
    check(proc.returncode == 3, f"exit {proc.returncode}, expected 3: {proc.stderr.read()}")
    check(os.path.exists(path + ".ckpt"), "checkpoint written")


def real_tally_scores_identical_and_nan_fails():
    args = ["--plugin", os.path.join(AIDS, "scores.py"), "--sim", "pyscores", "--tasks", "400",
            "--seed", "2"]
    run(args + ["-o", out("s1.h5")], 0, ranks=1)
    run(args + ["--batch", "1", "-o", out("s3.h5")], 0, ranks=3)
    a, b = results_contents(out("s1.h5")), results_contents(out("s3.h5"))
    check(a["tallies/flux"] == b["tallies/flux"] and a["tallies_exact/flux"] == b["tallies_exact/flux"],
          "flux differs between 1 rank and 3 ranks --batch 1")
    import math
    terms = [[] for _ in range(5)]
    for t in range(400):
        terms[t % 5].append(1e-3 * t - 0.25)
        terms[(t + 1) % 5].append(2.0 ** (t % 60 - 30))
        terms[(t + 2) % 5].append(-1.5)
    with h5py.File(out("s1.h5"), "r") as f:
        flux = f["tallies/flux"][()]
    for b in range(5):
        check(flux[b] == math.fsum(terms[b]), f"bin {b}: {flux[b]!r} vs fsum {math.fsum(terms[b])!r}")
    run(args + ["--nan-task", "7", "-o", out("sn.h5")], 2, ranks=2)
    with h5py.File(out("sn.h5"), "r") as f:
        check(list(f["failures/task"][()]) == [7], "task 7 failed")
        check("non-finite" in message(f, 0), f"message: {message(f, 0)}")


def segfault_is_quarantined():
    """A task that segfaults the interpreter is a crash like any other: the job dies, --resume
    twice (crash, then crash on probation), then the task is quarantined and the rest done."""
    path = out("crash.h5")
    args = ["--plugin", os.path.join(AIDS, "crash.py"), "--sim", "pycrash", "--tasks", "200",
            "--seed", "1", "-o", path, "--resume", "--checkpoint-every", "0.1"]
    codes = []
    for _ in range(4):
        p = subprocess.run(cmd(args, 3), env=ENV, capture_output=True, text=True, timeout=300)
        codes.append(p.returncode)
        if p.returncode in (0, 2):
            break
    check(codes[-1] == 2 and len(codes) == 3, f"exit codes {codes}")
    with h5py.File(path, "r") as f:
        check(list(f["failures/task"][()]) == [50], "only the crashing task failed")
        check("crashed its worker" in message(f, 0), f"message {message(f, 0)!r}")
        check(int((f["tasks/status"][()] == 1).sum()) == 199, "every other task done")


def help_lists_simulations_and_options():
    """--help with a .py plugin lists its simulations, and with --sim its options, typed, with
    their defaults."""
    walk = os.path.join(EXAMPLES, "walk.py")
    p = subprocess.run([CARLO, "run", "--plugin", walk, "--help"], env=ENV, capture_output=True,
                       text=True)
    check(p.returncode == 0 and "pywalk" in p.stdout, f"simulation listed: {p.stdout}")
    p = subprocess.run([CARLO, "run", "--plugin", walk, "--sim", "pywalk", "--help"], env=ENV,
                       capture_output=True, text=True)
    for needle in ("--walks-per-task INT (=1000)", "--alpha REAL (=0.85)", "walk.py"):
        check(needle in p.stdout, f"{needle!r} in --help:\n{p.stdout}")


def carlo_does_not_link_python():
    """carlo and libcarlo do not load libpython: only a .py plugin does (libcarlo_python)."""
    p = subprocess.run(["ldd", CARLO], capture_output=True, text=True)
    check("libpython" not in p.stdout, f"carlo links libpython:\n{p.stdout}")
    check("libcarlo" in p.stdout, "ldd works")


def vector_observation_fate():
    """observations={"fate": 3}: float64[T, 3], identical across ranks and batches; a vector of
    the wrong length or a number for a vector fails the task with a message naming it."""
    fate = ["--plugin", os.path.join(EXAMPLES, "fate.py"), "--sim", "pyfate", "--tasks", "200",
            "--seed", "3"]
    run(fate + ["-o", out("f1.h5")], 0)
    run(fate + ["-o", out("f2.h5"), "--batch", "3"], 0, ranks=2)
    with h5py.File(out("f1.h5"), "r") as a, h5py.File(out("f2.h5"), "r") as b:
        v = a["observations/fate"][()]
        check(v.shape == (200, 3), f"fate is float64[T, 3]: {v.shape}")
        check(np.allclose(v.sum(axis=1), 1.0), "each task's fractions sum to 1")
        check(a["observations/first"].shape == (200,), "first stays a scalar")
        check(v.tobytes() == b["observations/fate"][()].tobytes(), "identical at 2 ranks, --batch 3")
        check(np.asarray(a["summary/fate"].attrs["mean"]).shape == (3,), "summary per component")
    bad = out("bad_vector.py")
    with open(bad, "w") as f:
        f.write("import carlo\n\n\n@carlo.simulation(name='badvec', observations={'v': 2})\n"
                "class Bad:\n    def __init__(self, options, data):\n        pass\n\n"
                "    def run(self, task):\n"
                "        task.observe('v', [1.0, 2.0, 3.0] if task.id % 2 else 1.0)\n")
    run(["--plugin", bad, "--sim", "badvec", "--tasks", "4", "--seed", "1", "--max-retries", "0",
         "-o", out("bad.h5")], 2)
    with h5py.File(out("bad.h5"), "r") as f:
        msgs = [message(f, i) for i in range(len(f["failures/task"]))]
        check(len(msgs) == 4, f"every task failed: {msgs}")
        check(any("takes 2 floats, got 3" in m for m in msgs), f"wrong length named: {msgs}")
        check(any("is a vector of 2" in m for m in msgs), f"a number for a vector named: {msgs}")


CASES = {f.__name__: f for f in (
    examples_identical_across_ranks_and_batches, bootstrap_estimates_the_cpp_expectation,
    walk_estimates_pagerank_like_cpp, rng_is_keyed_numpy_philox, write_into_data_fails_the_task,
    exceptions_are_failures, broken_scripts_refused, killed_then_resumed_identical,
    split_parts_merge_and_refuse_an_edited_script, signal_checkpoints_while_python_runs,
    segfault_is_quarantined, real_tally_scores_identical_and_nan_fails,
    help_lists_simulations_and_options, vector_observation_fate,
    carlo_does_not_link_python)}

if __name__ == "__main__":
    CASES[sys.argv[1]]()
