#!/usr/bin/python3
"""carlo on two real nodes: network namespaces with their own hostnames, Open MPI across them over
TCP (multinode_cluster.py), no CARLO_RANKS_PER_NODE. Each node loads the data once, and the
results are bitwise identical to a run on one node, also across checkpoints (the node leaders send
their tally copies to rank 0) and across a node killed with -9 followed by --resume.

Usage: multinode.py CASE. Environment: CARLO_BIN. Exits 77 (skipped) where namespaces cannot be
made (not root, no iproute2/strace, a container without CAP_SYS_ADMIN).
"""
import os
import random
import subprocess
import sys
import tempfile
import time

import h5py

from carlo_results import results_contents  # shared helpers in tests/scripts/
from multinode_cluster import SKIP, Cluster, cannot_make_namespaces

CARLO = os.environ["CARLO_BIN"]
RANKS_PER_NODE = 2
# walk on a 65,536-node graph: its tally is larger than the per-rank cache, so each node's ranks
# add into the node's one shared copy, which the node leader sends at every checkpoint.
WALK = ["--sim", "walk", "--seed", "4", "--walks-per-task", "20000", "--batch", "2"]


def check(cond, msg):
    if not cond:
        sys.exit("FAIL: " + msg)


def plain_env():
    e = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    e.pop("CARLO_RANKS_PER_NODE", None)
    return e


def run(cmd, env, expect=0, timeout=120):
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    if p.returncode != expect:
        sys.exit(f"FAIL: {' '.join(cmd)} exited {p.returncode}, expected {expect}\n"
                 f"stdout: {p.stdout}\nstderr: {p.stderr}")
    return p


def setup(d, tasks):
    """The graph and the one-node reference run (4 ranks on this machine's one hostname)."""
    graph = os.path.join(d, "g16.h5")
    run([CARLO, "gen", "graph", "--scale", "16", "--seed", "5", "-o", graph], plain_env())
    ref = os.path.join(d, "ref.h5")
    args = WALK + ["--data", graph, "--tasks", str(tasks)]
    ranks = str(2 * RANKS_PER_NODE)
    run(["mpiexec", "-n", ranks, "--oversubscribe", CARLO, "run", "--quiet"] + args + ["-o", ref],
        plain_env())
    with h5py.File(ref, "r") as f:
        check(f.attrs["nodes"] == 1, f"the reference run is on one node, says {f.attrs['nodes']}")
    return graph, ref, args


def attrs(path):
    with h5py.File(path, "r") as f:
        return dict(f.attrs.items())


def identical(out, ref, what):
    a, b = results_contents(out), results_contents(ref)
    check(sorted(a) == sorted(b), f"{what}: the same datasets as on one node ({sorted(a)})")
    for key in sorted(b):
        check(a[key] == b[key], f"{what}: {key} differs from the one-node run")


def two_nodes_identical():
    """Two nodes: carlo reports 2 nodes, one process per node opens the data file (the node
    leader loads it into the node's shared copy), a checkpoint every 50 ms, and every dataset and
    summary bitwise identical to the one-node run."""
    with tempfile.TemporaryDirectory(prefix="carlo-mn-") as d:
        _two_nodes_identical(d)


def _two_nodes_identical(d):
    graph, ref, args = setup(d, 200)
    out = os.path.join(d, "mn.h5")
    with Cluster(2) as c:
        env = c.env(plain_env(), trace_opens=graph)
        run(c.mpirun([CARLO, "run", "--quiet"] + args + ["-o", out, "--checkpoint-every", "0.05"],
                     RANKS_PER_NODE), env)
        for host in c.hosts:
            openers = c.processes_opening(host)
            check(len(openers) == 1, f"{host}: {len(openers)} processes opened the data file, "
                                     f"expected the node leader alone")
    a = attrs(out)
    check(a["nodes"] == 2 and a["ranks"] == 4, f"carlo saw {a['nodes']} nodes, {a['ranks']} ranks")
    check(a["state"] == "complete", f"state {a['state']}")
    check(a["checkpoints"] >= 5, f"at least 5 checkpoints on two nodes, took {a['checkpoints']}")
    identical(out, ref, "two nodes with checkpoints")
    print(f"2 nodes, one loader each, {int(a['checkpoints'])} checkpoints, identical")


def checkpoint_taken(path, proc):
    """Waits until `path` is written anew (a checkpoint of the run `proc`); False if it ended."""
    since = time.time()
    while proc.poll() is None:
        try:
            if os.stat(path).st_mtime > since:
                return True
        except FileNotFoundError:
            pass
        time.sleep(0.02)
    return False


def kill9_node_resume():
    """A node dies (kill -9 of every process on it: its orted and ranks) at random moments after
    a checkpoint, inside widened checkpoints too; each --resume continues from the last
    checkpoint on two nodes, and the finished file is bitwise identical to the one-node run."""
    with tempfile.TemporaryDirectory(prefix="carlo-mn-") as d:
        _kill9_node_resume(d)


def _kill9_node_resume(d):
    graph, ref, args = setup(d, 500)
    out = os.path.join(d, "mn.h5")
    rng = random.Random(7)
    kills = 0
    with Cluster(2) as c:
        # Each checkpoint holds the ranks' adds for 60 ms, so many kills land inside one.
        env = dict(c.env(plain_env()), CARLO_TEST_CHECKPOINT_PAUSE_MS="60")
        # A lost node is not a poison task: --max-crashes high enough that no task is quarantined
        # for having been in flight when its node died.
        cmd = c.mpirun([CARLO, "run", "--quiet"] + args +
                       ["-o", out, "--resume", "--checkpoint-every", "0.2", "--max-crashes", "100"],
                       RANKS_PER_NODE)
        for _ in range(8):
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True)
            # Kill at a random moment after this run's first checkpoint, so every kill tests a
            # resume from one (the later checkpoints of a run are spread over the run).
            if kills < 3 and checkpoint_taken(out + ".ckpt", proc):
                time.sleep(rng.uniform(0.0, 1.0))
            if kills < 3 and proc.poll() is None:
                victim = rng.choice(c.hosts)
                c.kill_node(victim)
                try:
                    proc.wait(timeout=30)  # mpirun notices the lost node and ends the job
                except subprocess.TimeoutExpired:
                    check(False, f"mpirun still running 30 s after {victim} was killed")
                for host in c.hosts:
                    c.kill_node(host)  # nothing of the job may outlive it
                kills += 1
                continue
            proc.wait(timeout=120)
            check(proc.returncode == 0, f"resumed run exit {proc.returncode}: {proc.stderr.read()}")
            break
        else:
            check(False, "never finished")
    check(kills >= 3, f"only {kills} kills happened; the test did not test much")
    check(not os.path.exists(out + ".ckpt") and not os.path.exists(out + ".journal"),
          "checkpoint files removed after completion")
    a = attrs(out)
    check(a["nodes"] == 2 and a["state"] == "complete", f"nodes {a['nodes']}, state {a['state']}")
    identical(out, ref, f"two nodes after {kills} node kills")
    print(f"{kills} node kills, then identical")


def main():
    why = cannot_make_namespaces()
    if why:
        print(f"multinode: SKIP: {why}")
        return SKIP
    globals()[sys.argv[1]]()
    print(f"{sys.argv[1]}: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
