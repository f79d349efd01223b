#!/usr/bin/python3
"""End-to-end tests of `carlo run --sim slab` (1-D slab transport, DESIGN §5) under mpiexec: the
vector observation `fate` and the float64 tally `flux` through the results file.

Usage: slab_cli.py CASE
Environment: CARLO_BIN (the carlo executable).
"""
import math
import os
import signal
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

from carlo_results import check_refused, lock_holder, results_contents  # shared helpers in tests/scripts/

CARLO = os.environ["CARLO_BIN"]
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
KEYS = ("tallies/flux", "observations/fate")


def check(cond, msg):
    if not cond:
        sys.exit("FAIL: " + msg)


def mpirun(ranks, args):
    return ["mpiexec", "-n", str(ranks), "--oversubscribe", CARLO, "run", "--quiet",
            "--sim", "slab"] + args


def slab(ranks, args, expect=0):
    cmd = mpirun(ranks, args)
    p = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=500)
    check(p.returncode == expect, f"{' '.join(cmd)} exited {p.returncode}, expected {expect}\n"
                                  f"stdout: {p.stdout}\nstderr: {p.stderr}")
    return p


def tmpdir():
    return tempfile.mkdtemp(prefix="carlo-slab-")


def contents(path):
    """results_contents with every summary attribute as bytes: a vector's are arrays."""
    out = results_contents(path)
    for key, value in out.items():
        if isinstance(value, dict):
            out[key] = {k: np.asarray(v).tobytes() for k, v in value.items()}
    return out


def same(a, b, what):
    """The datasets (and summaries) of results file a are bitwise those of b."""
    ra, rb = contents(a), contents(b)
    for key in KEYS:
        check(key in ra and key in rb, f"{key} present ({what})")
    for key in rb:
        if key.startswith(("tallies/", "observations/", "summary/", "tasks/status")):
            check(ra.get(key) == rb[key], f"{key} differs: {what}")


# ---------------------------------------------------------------------------------------------

def analytic_pure_absorber():
    """--scatter 0: the file's transmission is exp(-S L) and flux/(N T width) is each bin's
    average of exp(-S x), both within 5 exact standard errors; the shapes and dtypes are the
    contract's (fate float64[T, 3], flux float64[B])."""
    L, S, N, T, B = 2.0, 1.5, 2000, 100, 20
    out = os.path.join(tmpdir(), "a.h5")
    slab(2, ["--tasks", str(T), "--seed", "3", "-o", out, "--thickness", str(L), "--sigma", str(S),
             "--scatter", "0", "--particles", str(N), "--bins", str(B)])
    with h5py.File(out, "r") as f:
        fate = f["observations/fate"][()]
        flux = f["tallies/flux"][()]
    check(fate.dtype == np.float64 and fate.shape == (T, 3), f"fate float64[{T}, 3]: {fate.dtype} {fate.shape}")
    check(flux.dtype == np.float64 and flux.shape == (B,), f"flux float64[{B}]: {flux.dtype} {flux.shape}")
    check(np.allclose(fate.sum(axis=1), 1.0, rtol=0, atol=1e-15), "every task's fates add up to 1")
    check(np.all(fate[:, 1] == 0), "nothing is reflected without scattering")
    exact = math.exp(-S * L)
    tr = fate[:, 0]
    z = abs(tr.mean() - exact) / (tr.std(ddof=1) / math.sqrt(T))
    check(z < 5, f"transmission {tr.mean()} vs exp(-S L) = {exact}: {z:.1f} stderr")
    # Per particle, the track in bin [a, a + w) is X = clip(d - a, 0, w), d ~ Exp(S):
    # E[X] = e^{-Sa} (1 - e^{-Sw}) / S, E[X^2] = e^{-Sa} 2 (1 - e^{-Sw} (1 + Sw)) / S^2.
    w = L / B
    a = np.arange(B) * w
    mean = np.exp(-S * a) * (1 - math.exp(-S * w)) / S
    second = np.exp(-S * a) * 2 * (1 - math.exp(-S * w) * (1 + S * w)) / S ** 2
    se = np.sqrt((second - mean ** 2) / (N * T)) / w
    zf = np.abs(flux / (N * T * w) - mean / w) / se
    check(zf.max() < 5, f"bin {int(zf.argmax())}: flux off the bin average of exp(-S x) by {zf.max():.1f} stderr")
    check((np.abs(flux / (N * T * w) - 0.9 * mean / w) / se).min() > 5, "the bound detects a 10% error")
    print(f"transmission z = {z:.2f}, max flux z = {zf.max():.2f} over {B} bins")


def identical_across_ranks():
    """Same seed: bitwise identical flux, fates and summaries at 1, 3 and 8 ranks and with
    --batch 1; another seed gives another flux."""
    d = tmpdir()
    args = ["--tasks", "64", "--seed", "9", "--particles", "3000", "--bins", "50"]
    ref = os.path.join(d, "r1.h5")
    slab(1, args + ["-o", ref])
    for ranks, extra in [(3, []), (8, []), (3, ["--batch", "1"])]:
        out = os.path.join(d, f"r{ranks}{len(extra)}.h5")
        slab(ranks, args + extra + ["-o", out])
        same(out, ref, f"{ranks} ranks {extra} vs 1 rank")
    other = os.path.join(d, "other.h5")
    slab(2, ["--tasks", "64", "--seed", "10", "--particles", "3000", "--bins", "50", "-o", other])
    check(results_contents(other)["tallies/flux"] != results_contents(ref)["tallies/flux"],
          "another seed gives another flux")


def session_pids(proc):
    return subprocess.run(["ps", "-o", "pid=", "-s", str(proc.pid)], capture_output=True,
                          text=True).stdout.split()


def kill_session(proc):
    """kill -9 mpiexec and its ranks (all in the session the test started for it), as a node
    failure would, and waits until they are gone."""
    for pid in session_pids(proc):
        try:
            os.kill(int(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()
    deadline = time.time() + 30
    while session_pids(proc) and time.time() < deadline:
        time.sleep(0.05)


def kill9_resume_identical():
    """kill -9 during the run, then --resume (at another rank count): bitwise the uninterrupted
    run's flux and fates."""
    d = tmpdir()
    args = ["--tasks", "300", "--seed", "21", "--particles", "200000", "--batch", "2",
            "--checkpoint-every", "0.2"]
    ref = os.path.join(d, "ref.h5")
    slab(2, args + ["-o", ref])
    out = os.path.join(d, "k.h5")
    proc = subprocess.Popen(mpirun(3, args + ["-o", out]), env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.time() + 120
    while lock_holder(out) == "" and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(1.0)  # a few checkpoints (every 0.2 s)
    check(proc.poll() is None, "the run was still going when killed (make it longer)")
    kill_session(proc)
    saved = [s for s in (".ckpt", ".journal") if os.path.exists(out + s)]
    check(saved, "the killed run left a checkpoint or journal to resume from")
    slab(2, args + ["-o", out, "--resume"])
    same(out, ref, "resumed after kill -9 vs uninterrupted")
    with h5py.File(out, "r") as f:
        check(f.attrs["state"] == "complete", "state complete after the resume")
    print(f"killed leaving {saved}, resumed identical")


def task_range_merge():
    """Two halves run with --task-range (at different rank counts), merged with `carlo merge`:
    bitwise the single run's flux and fates."""
    d = tmpdir()
    args = ["--tasks", "90", "--seed", "5", "--particles", "2000", "--scatter", "0.8"]
    single = os.path.join(d, "single.h5")
    slab(2, args + ["-o", single])
    parts = []
    for ranks, rng in [(1, "0:45"), (3, "45:90")]:
        part = os.path.join(d, f"part{len(parts)}.h5")
        slab(ranks, args + ["--task-range", rng, "-o", part])
        parts.append(part)
    merged = os.path.join(d, "all.h5")
    p = subprocess.run([CARLO, "merge", parts[1], parts[0], "-o", merged], capture_output=True,
                       text=True, timeout=300)
    check(p.returncode == 0, f"carlo merge exited {p.returncode}: {p.stderr}")
    same(merged, single, "merged halves vs single run")


def refusals():
    """Bad options are refused before any task runs, one line naming the option, no file."""
    cases = [(["--thickness", "0"], "--thickness must be finite and > 0"),
             (["--scatter", "1.5"], "--scatter must be in [0, 1]"),
             (["--bins", "0"], "--bins must be in [1, 65536]")]
    for extra, needle in cases:
        out = os.path.join(tmpdir(), "x.h5")
        p = slab(2, ["--tasks", "4", "--seed", "1", "-o", out] + extra, expect=1)
        check_refused(p.stderr, needle, out, str(extra))


def main():
    case = sys.argv[1]
    globals()[case]()
    print(f"{case}: ok")


if __name__ == "__main__":
    main()
