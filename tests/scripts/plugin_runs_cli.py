#!/usr/bin/python3
"""Plugins in long runs (plugin_runs.cmake): provenance of the plugin's build, and outputs that
cannot be written. Uses the carlo installed by `plugin.install` under B/plugin-test/prefix and the
example plugin it built (B/plugin-test/example/libicc.so)."""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import h5py

parser = argparse.ArgumentParser()
parser.add_argument("case")
for opt in ("build-dir", "source-dir", "bad-outputs-plugin", "debug-mode-plugin"):
    parser.add_argument("--" + opt, required=True)
ARGS = parser.parse_args()

ROOT = os.path.join(ARGS.build_dir, "plugin-test")
CARLO = os.path.join(ROOT, "prefix", "bin", "carlo")
ICC = os.path.join(ROOT, "example", "libicc.so")
GROUPS = os.path.join(ARGS.source_dir, "data", "groups-small.h5")
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
SCRATCH = tempfile.TemporaryDirectory(prefix="carlo-plugin-runs-")


def check(cond, msg):
    if not cond:
        sys.exit("FAIL: " + msg)


def path(*parts):
    p = os.path.join(SCRATCH.name, *parts)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    return p


def copy_of_icc(where, rebuilt=False):
    """The example plugin at another path; `rebuilt`: different bytes (as after a rebuild), still a
    loadable library (the dynamic linker ignores bytes past the ELF sections)."""
    dst = path(where, "libicc.so")
    shutil.copyfile(ICC, dst)
    if rebuilt:
        with open(dst, "ab") as f:
            f.write(b"\0rebuilt")
    return dst


def icc(plugin, out, *extra, ranks=2):
    return ["mpiexec", "-n", str(ranks), "--oversubscribe", CARLO, "run", "--quiet", "--plugin",
            plugin, "--sim", "icc", "--data", GROUPS, "--seed", "3", "-o", out] + list(extra)


def run(cmd, expect):
    p = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=300)
    check(p.returncode == expect, f"{' '.join(cmd)} exited {p.returncode}, expected {expect}\n"
                                  f"stderr: {p.stderr}")
    return p


def one_error_line(p, *needles):
    lines = [l for l in p.stderr.splitlines() if l.startswith("carlo")]
    check(len(lines) == 1, f"exactly one error line, got {lines}")
    for n in needles:
        check(n in lines[0], f"the error names {n!r}: {lines[0]}")


def interrupted_run(plugin, out):
    """Starts a slow run and interrupts it with SIGUSR1 once it has results: exit 3, checkpoint."""
    proc = subprocess.Popen(icc(plugin, out, "--tasks", "400", "--pairs-per-task", "400000",
                                "--checkpoint-every", "0.2"),
                            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and not os.path.exists(out + ".ckpt"):
        time.sleep(0.1)
    time.sleep(1.0)  # some results past the first checkpoint
    proc.send_signal(signal.SIGUSR1)
    _, err = proc.communicate(timeout=120)
    check(proc.returncode == 3, f"interrupted run exits 3, got {proc.returncode}: {err}")


def resume_refuses_another_build():
    a = copy_of_icc("a")
    out = path("run", "r.h5")
    interrupted_run(a, out)
    # Another build of the plugin: refused, naming what differs; the partial file is untouched.
    before = open(out, "rb").read()
    p = run(icc(copy_of_icc("b", rebuilt=True), out, "--tasks", "400", "--pairs-per-task",
                "400000", "--checkpoint-every", "0.2", "--resume"), expect=1)
    one_error_line(p, "plugin-checksum")
    check(open(out, "rb").read() == before, "a refused resume leaves the partial file as it was")
    # The same build at another path: resumed to completion.
    run(icc(copy_of_icc("moved"), out, "--tasks", "400", "--pairs-per-task", "400000",
            "--checkpoint-every", "0.2", "--resume"), expect=0)
    with h5py.File(out, "r") as f:
        check(f.attrs["state"] == "complete", "resumed with the same build to completion")


def merge_refuses_another_build():
    a, moved, b = copy_of_icc("a"), copy_of_icc("moved"), copy_of_icc("b", rebuilt=True)
    parts = {}
    for name, plugin, rng in [("p1", a, "0:50"), ("p2", moved, "50:100"), ("p2b", b, "50:100")]:
        parts[name] = path("parts", name + ".h5")
        run(icc(plugin, parts[name], "--tasks", "100", "--task-range", rng), expect=0)
    merged = path("merged", "m.h5")
    p = run([CARLO, "merge", parts["p1"], parts["p2b"], "-o", merged], expect=1)
    one_error_line(p, "plugin-checksum")
    check(not os.path.exists(merged), "no merged file after a refusal")
    run([CARLO, "merge", parts["p1"], parts["p2"], "-o", merged], expect=0)  # same build, moved


def bad_outputs_refused():
    for sim, needle in [("dup-observation", "declares observation 'x' twice"),
                        ("dup-tally", "declares tally 't' twice"),
                        ("slash-observation", "observation name 'a/b'"),
                        ("bracket-observation", "observation name 'x[1]'"),
                        ("null-create", "create returned no simulation")]:
        out = path(sim, "r.h5")
        p = run(["mpiexec", "-n", "2", "--oversubscribe", CARLO, "run", "--plugin",
                 ARGS.bad_outputs_plugin, "--sim", sim, "--tasks", "5", "--seed", "1", "-o", out],
                expect=1)
        one_error_line(p, sim, needle)
        check(not os.path.exists(out), f"{sim}: no results file")


def debug_mode_plugin_refused():
    out = path("debug", "r.h5")
    p = run(["mpiexec", "-n", "2", "--oversubscribe", CARLO, "run", "--plugin",
             ARGS.debug_mode_plugin, "--sim", "debug-mode", "--tasks", "5", "--seed", "1", "-o",
             out], expect=1)
    one_error_line(p, ARGS.debug_mode_plugin, "+glibcxx-debug")
    check(not os.path.exists(out), "no results file")


def main():
    globals()[ARGS.case]()
    print(f"{ARGS.case}: ok")


if __name__ == "__main__":
    main()
