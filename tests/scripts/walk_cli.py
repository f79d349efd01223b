#!/usr/bin/python3
"""End-to-end tests of `carlo run --sim walk` (random-walk PageRank, DESIGN §5) under mpiexec.

Usage: walk_cli.py CASE
Environment: CARLO_BIN (the carlo executable), CARLO_SOURCE_DIR.
"""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

from carlo_results import check_refused, results_contents  # shared helpers in tests/scripts/

CARLO = os.environ["CARLO_BIN"]
SRC = os.environ["CARLO_SOURCE_DIR"]
GRAPH = os.path.join(SRC, "data", "graph-small.h5")


def env():
    e = dict(os.environ)
    e.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    return e


def carlo(ranks, args, expect=0, extra_env=None):
    cmd = ["mpiexec", "-n", str(ranks), "--oversubscribe", CARLO] + args
    e = env()
    e.update(extra_env or {})
    p = subprocess.run(cmd, env=e, capture_output=True, text=True, timeout=500)
    if p.returncode != expect:
        sys.exit(f"FAIL: {' '.join(cmd)} exited {p.returncode}, expected {expect}\n"
                 f"stdout: {p.stdout}\nstderr: {p.stderr}")
    return p


def walk(ranks, data, out, tasks, seed, extra=(), expect=0, extra_env=None):
    return carlo(ranks, ["run", "--quiet", "--sim", "walk", "--data", data, "--tasks", str(tasks),
                         "--seed", str(seed), "-o", out, "--force"] + list(extra), expect,
                 extra_env)


def check(cond, msg):
    if not cond:
        sys.exit("FAIL: " + msg)


def tmp(name):
    return os.path.join(tempfile.mkdtemp(prefix="carlo-walk-"), name)


def read_graph(path):
    with h5py.File(path, "r") as f:
        return f["values"][:], f["offsets"][:]


def write_graph(path, rows, dtype):
    values = np.array([v for r in rows for v in r], dtype=dtype)
    offsets = np.cumsum([0] + [len(r) for r in rows]).astype(np.uint64)
    with h5py.File(path, "w") as f:
        f["values"] = values
        f["offsets"] = offsets


def transition(values, offsets):
    """Row-stochastic P: each row entry (duplicates count) equally likely, empty rows uniform."""
    n = len(offsets) - 1
    P = np.zeros((n, n))
    for i in range(n):
        row = values[offsets[i]:offsets[i + 1]]
        if len(row) == 0:
            P[i, :] = 1.0 / n
        else:
            np.add.at(P[i], row.astype(np.int64), 1.0 / len(row))
    return P


def pagerank_and_stderr(P, alpha, walks):
    """PageRank p by power iteration, and the exact standard error of visits/sum(visits) after
    `walks` independent walks.

    With Q = alpha P and N = (I - Q)^-1, N[i, j] is the expected number of visits to j of a walk
    from i; for the visit counts v_j of one walk (absorbing-chain moments)
        E[v_j v_l | i] = N[i, j] N[j, l] + N[i, l] N[l, j] - [j == l] N[i, j].
    The estimate is the ratio sum(v_j) / sum(L) over walks, L = sum_l v_l the walk length, and
    d_j = v_j - p_j L has mean 0, so stderr_j = sqrt(E[d_j^2] / walks) / E[L] with
    E[d_j^2] = E[v_j^2] - 2 p_j E[v_j L] + p_j^2 E[L^2], averaged over the uniform start."""
    n = P.shape[0]
    p = np.full(n, 1.0 / n)
    for _ in range(10000):
        nxt = (1 - alpha) / n + alpha * (p @ P)
        done = np.abs(nxt - p).sum() < 1e-15
        p = nxt
        if done:
            break
    N = np.linalg.inv(np.eye(n) - alpha * P)
    u = np.full(n, 1.0 / n)
    EL = 1 / (1 - alpha)
    m = u @ N                                   # E[v_j]
    check(np.allclose(m / EL, p, atol=1e-12), "power iteration agrees with the fundamental matrix")
    Nd = np.diag(N)
    Ev2 = m * (2 * Nd - 1)                      # E[v_j^2]
    EvL = m * EL + u @ (N @ N) - m              # E[v_j L] = sum_l E[v_j v_l]
    EL2 = (1 + alpha) / (1 - alpha) ** 2        # geometric walk length
    var_d = Ev2 - 2 * p * EvL + p * p * EL2
    return p, np.sqrt(var_d / walks) / EL


# ---------------------------------------------------------------------------------------------

def pagerank_gen_scale8():
    """visits/sum(visits) on `carlo gen graph --scale 8` is PageRank within 5 exact stderrs."""
    g = tmp("g8.h5")
    carlo(1, ["gen", "graph", "--scale", "8", "--seed", "3", "-o", g])
    values, offsets = read_graph(g)
    n = len(offsets) - 1
    check(n == 256, f"scale 8 has 256 nodes, got {n}")
    check((np.diff(offsets) == 0).sum() > 0, "the graph has dangling nodes")
    tasks, walks = 300, 1000
    out = tmp("w.h5")
    walk(2, g, out, tasks, 5, ["--walks-per-task", str(walks)])
    with h5py.File(out, "r") as f:
        visits = f["tallies/visits"][:]
        steps = f["observations/steps"][:]
    check(visits.dtype == np.uint64 and len(visits) == n, f"tallies/visits is uint64[{n}]")
    check(int(visits.sum()) == int(steps.sum()), "sum(visits) equals the sum of the steps observations")
    p, se = pagerank_and_stderr(transition(values, offsets), 0.85, tasks * walks)
    z = np.abs(visits / visits.sum() - p) / se
    worst = int(np.argmax(z))
    check(z.max() < 5, f"node {worst}: estimate {visits[worst] / visits.sum()} vs PageRank {p[worst]}: "
                       f"{z.max():.1f} stderr")
    # The bound can fail: a kernel that stopped at dangling nodes instead of jumping would be far off.
    dangling = np.diff(offsets) == 0
    q = p.copy()
    q[dangling] *= 0.9
    check((np.abs(visits / visits.sum() - q / q.sum()) / se).max() > 5, "a 10% error is detected")
    print(f"max |z| = {z.max():.2f} over {n} nodes")


def identical_across_ranks():
    """Same seed: bitwise identical tallies, observations and summaries at 1 and 3 ranks, with
    different batch sizes and with the values memory-mapped."""
    runs = [(1, []), (3, []), (3, ["--batch", "1"]), (2, ["--share", "mmap"])]
    outs = []
    for ranks, extra in runs:
        out = tmp("w.h5")
        walk(ranks, GRAPH, out, 64, 9, ["--walks-per-task", "500"] + extra)
        outs.append(results_contents(out))
    for (ranks, extra), r in zip(runs[1:], outs[1:]):
        for key in ("tallies/visits", "observations/steps", "summary/steps"):
            check(key in r, f"{key} present")
            check(r[key] == outs[0][key], f"{key} identical at 1 rank and {ranks} ranks {extra}")
    other = tmp("w.h5")
    walk(1, GRAPH, other, 64, 10, ["--walks-per-task", "500"])
    check(results_contents(other)["tallies/visits"] != outs[0]["tallies/visits"], "another seed gives other visits")


def node_tallies():
    """A tally too large for the per-rank cache (65,536 bins) is added by all ranks of a node
    into one shared copy: identical visits at 1 rank, 3 ranks on one node, 4 ranks as 2 virtual
    nodes, and with a checkpoint snapshot (ranks pause adding) every 50 ms."""
    g = tmp("g16.h5")
    carlo(1, ["gen", "graph", "--scale", "16", "--seed", "5", "-o", g])
    runs = [(1, [], {}), (3, [], {}), (4, [], {"CARLO_RANKS_PER_NODE": "2"}),
            (3, ["--checkpoint-every", "0.05", "--batch", "2"], {})]
    outs = []
    for ranks, extra, extra_env in runs:
        out = tmp("w16.h5")
        walk(ranks, g, out, 400, 4, ["--walks-per-task", "30000"] + extra, extra_env=extra_env)
        outs.append(results_contents(out))
        with h5py.File(out, "r") as f:
            checkpoints = f.attrs["checkpoints"]
    check(checkpoints >= 5, f"the last run took at least 5 checkpoints, took {checkpoints}")
    visits = outs[0]["tallies/visits"]
    counts = np.frombuffer(visits, dtype=np.uint64)
    steps = np.frombuffer(outs[0]["observations/steps"], dtype=np.float64)
    check(counts.size == 65536, f"65,536 bins, got {counts.size}")
    check(int(counts.sum()) == int(steps.sum()), "visits add up to the steps taken")
    for (ranks, extra, extra_env), r in zip(runs[1:], outs[1:]):
        check(r["tallies/visits"] == visits,
              f"visits identical at 1 rank and {ranks} ranks {extra} {extra_env}")


def integer_dtypes():
    """Neighbour ids stored as int64, int32, uint32, int8 or uint8 give the same visits."""
    rng = np.random.default_rng(1)
    rows = [list(rng.integers(0, 100, size=rng.integers(0, 6))) for _ in range(100)]
    outs = {}
    for dtype in ("int64", "int32", "uint32", "int8", "uint8"):
        g = tmp(f"g-{dtype}.h5")
        write_graph(g, rows, dtype)
        out = tmp("w.h5")
        walk(1, g, out, 20, 4, ["--walks-per-task", "100"])
        outs[dtype] = results_contents(out)["tallies/visits"]
    for dtype, v in outs.items():
        check(v == outs["int64"], f"{dtype} visits equal int64 visits")


def refusals():
    """Bad graphs and options are refused before any task runs, with one line naming the problem."""
    rows = [[1, 2] for _ in range(50)]
    rows[17] = [3, 99]
    bad = tmp("bad.h5")
    write_graph(bad, rows, "int64")
    flt = tmp("float.h5")
    write_graph(flt, [[1.0], [0.0]], "float64")
    cases = [
        (bad, [], "walk: row 17 has neighbour id 99 outside [0, 50)"),
        (flt, [], "walk: neighbour ids must be integers, but values are float64"),
        (GRAPH, ["--alpha", "1"], "--alpha must be in [0, 1)"),
        (GRAPH, ["--walks-per-task", "0"], "--walks-per-task must be at least 1"),
    ]
    for data, extra, needle in cases:
        out = tmp("w.h5")
        p = walk(2, data, out, 10, 1, extra, expect=1)
        check_refused(p.stderr, needle, out, f"{data} {extra}")


def refusals_split_over_ranks():
    """The ranks of a node each check a share of the rows: a bad id in the last row alone (the last
    rank's share) or in the first and the last rows is refused as at one rank, naming the first
    bad row, also when the 3 ranks form two virtual nodes of 2 and 1 ranks."""
    rows = [[(i * 7 + k) % 3000 for k in range(5)] for i in range(3000)]
    cases = []
    rows[2999] = [1, 2, 3000]
    last = tmp("bad-last.h5")
    write_graph(last, rows, "int32")
    cases.append((last, {}, "walk: row 2999 has neighbour id 3000 outside [0, 3000)"))
    cases.append((last, {"CARLO_RANKS_PER_NODE": "2"},
                  "walk: row 2999 has neighbour id 3000 outside [0, 3000)"))
    rows[0] = [-5]
    both = tmp("bad-first-and-last.h5")
    write_graph(both, rows, "int32")
    cases.append((both, {}, "walk: row 0 has neighbour id -5 outside [0, 3000)"))
    for data, extra_env, needle in cases:
        out = tmp("w.h5")
        p = walk(3, data, out, 10, 1, expect=1, extra_env=extra_env)
        check_refused(p.stderr, needle, out, f"{data} {extra_env}")


def main():
    case = sys.argv[1]
    globals()[case]()
    print(f"{case}: ok")


if __name__ == "__main__":
    main()
