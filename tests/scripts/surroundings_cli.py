#!/usr/bin/python3
"""Faults of the surroundings (DESIGN §8): nothing is lost when another run, a full disk or a
damaged checkpoint gets in the way.

Usage: surroundings_cli.py CASE. Environment: CARLO_BIN.
"""
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from carlo_results import lock_holder, results_contents  # noqa: E402

CARLO = os.environ["CARLO_BIN"]
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
ARGS = ["--sim", "faults", "--tasks", "400", "--seed", "8", "--batch", "4", "--fail-tasks", "9"]


def check(cond, msg):
    if not cond:
        sys.exit("FAIL: " + msg)


def state(path):
    """`carlo info --state`: (word, exit status)."""
    p = subprocess.run([CARLO, "info", "--state", path], capture_output=True, text=True)
    return p.stdout.strip(), p.returncode


def mpirun(ranks, args, quiet=True):
    return ["mpiexec", "-n", str(ranks), "--oversubscribe", CARLO, "run"] + (["--quiet"] if quiet else []) + args


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


def damaged_checkpoint_falls_back():
    """A damaged latest checkpoint: --resume continues from the previous generation and the
    journal, says so in one line, and ends identical to an uninterrupted run."""
    d = tempfile.mkdtemp(prefix="carlo-ckpt-")
    ref, out = os.path.join(d, "ref.h5"), os.path.join(d, "r.h5")
    p = subprocess.run(mpirun(2, ARGS + ["-o", ref]), env=ENV, capture_output=True, text=True)
    check(p.returncode == 2, f"reference run: exit {p.returncode}: {p.stderr}")
    run = mpirun(2, ARGS + ["--sleep-ms", "20", "--checkpoint-every", "0.2", "-o", out])
    first = subprocess.Popen(run, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not os.path.exists(out + ".ckpt.prev") and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    first.send_signal(signal.SIGUSR1)  # mpiexec forwards it: a checkpoint, exit 3
    first.wait(timeout=120)
    check(first.returncode == 3, f"interrupted run: exit {first.returncode}: {first.stderr.read()}")
    check(os.path.exists(out + ".ckpt") and os.path.exists(out + ".ckpt.prev"), "two generations")
    check(state(out) == ("partial", 3), f"info --state of an interrupted run: {state(out)}")
    with open(out + ".ckpt", "r+b") as f:  # damage the latest: its checksum no longer matches
        f.seek(os.path.getsize(out + ".ckpt") // 2)
        f.write(b"\xff" * 16)
    p = subprocess.run(run + ["--resume"], env=ENV, capture_output=True, text=True, timeout=300)
    lines = [l for l in p.stderr.splitlines() if l.startswith("carlo")]
    check(p.returncode == 2, f"resume: exit {p.returncode}: {p.stderr}")
    check(any(out + ".ckpt" in l and "previous checkpoint " + out + ".ckpt.prev" in l for l in lines),
          f"one line says the latest is damaged and the previous one is used: {lines}")
    for f in (out + ".ckpt", out + ".ckpt.prev", out + ".journal"):
        check(not os.path.exists(f), f"{f} removed after the finished run")
    check(state(out) == ("failed", 2), f"info --state of a run with a failed task: {state(out)}")
    same_results(ref, out)


SKIP = 77  # ctest SKIP_RETURN_CODE: no private mount namespace here


def in_private_mounts():
    """Re-runs this case inside a private mount namespace (a tmpfs of our own), once."""
    if os.environ.get("CARLO_TEST_IN_NS") == "1":
        return
    try:
        p = subprocess.run(["unshare", "-m", "--propagation", "private", "true"],
                           capture_output=True)
    except OSError:
        p = None
    if p is None or p.returncode != 0:
        print("SKIP: cannot make a private mount namespace (unshare -m needs privileges)")
        sys.exit(SKIP)
    os.environ["CARLO_TEST_IN_NS"] = "1"
    sys.exit(subprocess.run(["unshare", "-m", "--propagation", "private", sys.executable]
                            + sys.argv).returncode)


def full_disk_case(d, name, args, size, failing, every="0.2"):
    """Runs `args` with the output on a tmpfs of `size`: a clean stop (exit 4, one line naming
    the file that failed and ENOSPC), then --resume on a larger tmpfs gives the reference."""
    ref = os.path.join(d, name + "-ref.h5")
    p = subprocess.run(mpirun(2, args + ["-o", ref]), env=ENV, capture_output=True, text=True)
    check(p.returncode == 0, f"{name}: reference run: exit {p.returncode}: {p.stderr}")
    mnt = os.path.join(d, name + "-tmpfs")
    os.mkdir(mnt)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", mnt], check=True)
    out = os.path.join(mnt, "r.h5")
    run = mpirun(2, args + ["-o", out, "--checkpoint-every", every])
    p = subprocess.run(run, env=ENV, capture_output=True, text=True, timeout=300)
    lines = [l for l in p.stderr.splitlines() if l.startswith("carlo")]
    check(p.returncode == 4, f"{name}: exit {p.returncode} on a full disk: {p.stderr}")
    check("Segmentation" not in p.stderr and "signal" not in p.stderr, f"{name}: no crash: {p.stderr}")
    check(len(lines) == 1 and "No space left on device" in lines[0] and out + failing in lines[0],
          f"{name}: one line naming {out + failing} and ENOSPC: {lines}")
    check(os.path.exists(out + ".ckpt"), f"{name}: the last checkpoint is kept")
    check(state(out) == ("partial", 3), f"{name}: info --state after the disk filled: {state(out)}")
    subprocess.run(["mount", "-o", "remount,size=400M", mnt], check=True)  # the cause is gone
    p = subprocess.run(run + ["--resume"], env=ENV, capture_output=True, text=True, timeout=300)
    check(p.returncode == 0, f"{name}: --resume after the disk was freed: exit {p.returncode}: {p.stderr}")
    same_results(ref, out)
    check(state(out) == ("complete", 0), f"{name}: info --state once resumed: {state(out)}")
    subprocess.run(["umount", mnt], check=False)


def disk_full_then_resume_identical():
    """A full disk during the journal, the results file, or a checkpoint: a clean stop, then a
    --resume with room again gives the uninterrupted run's results bit for bit."""
    in_private_mounts()
    d = tempfile.mkdtemp(prefix="carlo-full-")
    pi = ["--sim", "pi", "--samples-per-task", "1", "--tasks", "400000", "--seed", "3", "--batch", "50"]
    full_disk_case(d, "journal", pi, "300k", ".journal")
    # A large tally: 2 MiB in the results file at the end, and in every checkpoint, which is
    # written beside the previous one (so a long run fails there first).
    graph = os.path.join(d, "g.h5")
    subprocess.run([CARLO, "gen", "graph", "--scale", "18", "--edge-factor", "2", "--seed", "1",
                    "-o", graph], check=True, capture_output=True)
    walk = ["--sim", "walk", "--data", graph, "--tasks", "3000", "--seed", "4", "--walks-per-task", "50"]
    # A fresh run's checkpoints of an all-zero tally are sparse files (zero blocks are holes), so
    # the results file is the first 2 MiB write that cannot fit.
    # No periodic checkpoint: a 2 MiB one would not fit either.
    full_disk_case(d, "results", walk, "2000k", ":", every="600")
    # Checkpoints every 50 ms over a run of half a second or more: the first with visits fits,
    # the next one, written beside it, does not.
    walk[walk.index("--tasks") + 1] = "40000"
    full_disk_case(d, "checkpoint", walk, "3500k", ".ckpt", every="0.05")


def lock_holder_pid(out, deadline):
    """The pid of rank 0 once the run holds its output (the lock file names it), else None."""
    while time.time() < deadline:
        words = lock_holder(out).split()
        if "pid" in words[:-1] and words[words.index("pid") + 1].isdigit():
            return int(words[words.index("pid") + 1])
        time.sleep(0.002)
    return None


def stop_while_loading():
    """A stop signal during a long load ends the run there: exit 3, one line, nothing written
    (a checkpoint of the run is not needed: no task ran); --resume then runs it whole."""
    d = tempfile.mkdtemp(prefix="carlo-stopload-")
    data, ref, out = (os.path.join(d, n) for n in ("g.h5", "ref.h5", "r.h5"))
    subprocess.run([CARLO, "gen", "groups", "--rows", "2000", "--bytes", "768M", "--seed", "2",
                    "-o", data], check=True, capture_output=True)
    boot = ["--sim", "bootstrap", "--data", data, "--tasks", "40", "--seed", "5", "--batch", "3"]
    p = subprocess.run(mpirun(2, boot + ["-o", ref]), env=ENV, capture_output=True, text=True)
    check(p.returncode == 0, f"reference run: exit {p.returncode}: {p.stderr}")
    for attempt in range(3):
        run = subprocess.Popen(mpirun(2, boot + ["-o", out], quiet=False), env=ENV,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Rank 0 (the node's leader, which copies the file) takes the lock before it loads: hold
        # it there, signal it alone, and let it go on into the load.
        pid = lock_holder_pid(out, time.time() + 60)
        check(pid is not None, "the run took its lock")
        os.kill(pid, signal.SIGSTOP)
        os.kill(pid, signal.SIGTERM)
        t0 = time.time()
        os.kill(pid, signal.SIGCONT)
        _, err = run.communicate(timeout=300)
        seconds = time.time() - t0
        if "interrupted while loading the data" in err:
            break
        print(f"attempt {attempt}: the signal landed after the load ({err.strip()[-200:]})")
        subprocess.run(mpirun(1, boot + ["-o", out, "--force"]), env=ENV, capture_output=True)
        for f in os.listdir(d):
            if f.startswith("r.h5"):
                os.unlink(os.path.join(d, f))
    else:
        check(False, "three signals, none seen during the load")
    lines = [l for l in err.splitlines() if l.startswith("carlo")]
    print(f"stopped {seconds:.2f} s after the signal: {lines}")
    check(run.returncode == 3, f"exit {run.returncode}, expected 3: {err}")
    check(len(lines) == 1 and "no task ran and nothing was written" in lines[0]
          and "--resume" in lines[0], f"one line: {lines}")
    left = sorted(f for f in os.listdir(d) if f.startswith("r.h5"))
    check(left == [], f"nothing written, lock released: {left}")
    p = subprocess.run(mpirun(2, boot + ["-o", out, "--resume"]), env=ENV, capture_output=True,
                       text=True)
    check(p.returncode == 0, f"--resume: exit {p.returncode}: {p.stderr}")
    same_results(ref, out)


def stop_one_point_tasks_promptly():
    """Results arriving as fast as the master writes them (a 2^40-task run of one-point tasks)
    must not hold off a signal: the run stops within seconds, not when the flood pauses."""
    d = tempfile.mkdtemp(prefix="carlo-flood-")
    out = os.path.join(d, "r.h5")
    pi = ["--sim", "pi", "--samples-per-task", "1", "--tasks", str(2**40), "--seed", "1"]
    run = subprocess.Popen(mpirun(2, pi + ["-o", out]), env=ENV, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    check(lock_holder_pid(out, time.time() + 60) is not None, "the run took its lock")
    time.sleep(3)  # batches grow to millions of tasks: the master writes non-stop
    run.send_signal(signal.SIGUSR1)  # mpiexec forwards it
    t0 = time.time()
    try:
        run.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        run.kill()
        check(False, "still running 90 s after SIGUSR1")
    seconds = time.time() - t0
    print(f"stopped {seconds:.1f} s after SIGUSR1; {state(out)}")
    check(run.returncode == 3, f"exit {run.returncode}, expected 3")
    check(state(out) == ("partial", 3), f"info --state: {state(out)}")
    for f in os.listdir(d):
        os.unlink(os.path.join(d, f))


if __name__ == "__main__":
    globals()[sys.argv[1]]()
