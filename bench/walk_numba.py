"""The numba kernel of the Python peers of `walk` (bench/walk_mpi4py.py, bench/walk_pool.py).

The definition of DESIGN section 5 (src/sims/walk.cpp): task t runs `walks` walks with damping
`alpha`; each starts at a uniform random node; at every node: visits[cur] += 1, stop with
probability 1 - alpha, else move to a uniformly chosen entry of row cur (duplicates count) or, if
the row is empty, to a uniform random node. steps[t] = the visits task t recorded.

Random numbers: walk w of task t draws from its own SplitMix64 stream, started at a hash of
(seed, t, w), so the result depends on (seed, task) only, not on which rank runs the task nor on
how many walks run interleaved. The streams are not carlo's: a peer's visits agree with carlo's
statistically, not bitwise. A uniform integer below n is floor(u * n) with a 53-bit u (biased by
at most n / 2^53).

`lanes` walks of a task advance in round robin: the steps of different walks are independent, so
the CPU overlaps their cache misses (a step is two dependent random loads, the row's offset and
one of its entries, plus the random update of `visits`). lanes=1 is the plain one-walk loop.
"""
import argparse

import numpy as np
from numba import njit

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
M1 = np.uint64(0xBF58476D1CE4E5B9)
M2 = np.uint64(0x94D049BB133111EB)
S11, S27, S30, S31 = np.uint64(11), np.uint64(27), np.uint64(30), np.uint64(31)
TO_UNIT = 1.0 / 9007199254740992.0  # 2^-53
LANES = 16  # walks interleaved per task (measured: see docs/benchmarks.md, "walk end to end")


@njit(cache=True, inline="always")
def mix(z):
    """SplitMix64's finaliser (all uint64 arithmetic, wrapping)."""
    z = (z ^ (z >> S30)) * M1
    z = (z ^ (z >> S27)) * M2
    return z ^ (z >> S31)


@njit(cache=True, inline="always")
def below(z, n):
    """floor(u * n) for the 53-bit uniform u of the word z."""
    return np.int64(np.float64(z >> S11) * TO_UNIT * n)


@njit(cache=True)
def run_task(offsets, values, rows, walks, cont, key, lanes, cur, state, visits):
    """Runs the walks of one task (stream key `key`), adds its visits; returns their number.
    cur, state: scratch arrays of `lanes` elements; cont: continue while (z >> 11) < cont."""
    live = 0
    started = 0
    while live < lanes and started < walks:  # the first `lanes` walks
        s = mix(key + np.uint64(started) * GOLDEN)
        s += GOLDEN
        cur[live] = below(mix(s), rows)
        state[live] = s
        live += 1
        started += 1
    steps = 0
    while live > 0:
        i = 0
        while i < live:
            c = cur[i]
            visits[c] += 1
            steps += 1
            s = state[i] + GOLDEN
            if (mix(s) >> S11) >= cont:  # the walk ends
                if started < walks:  # the lane starts the next walk
                    s = mix(key + np.uint64(started) * GOLDEN) + GOLDEN
                    cur[i] = below(mix(s), rows)
                    state[i] = s
                    started += 1
                    i += 1
                else:  # the lane retires: the last live lane takes its place in this round
                    live -= 1
                    cur[i] = cur[live]
                    state[i] = state[live]
                continue
            s += GOLDEN
            start = offsets[c]
            length = offsets[c + 1] - start
            if length == 0:
                cur[i] = below(mix(s), rows)
            else:
                cur[i] = values[start + below(mix(s), length)]
            state[i] = s
            i += 1
    return steps


@njit(cache=True)
def run_tasks(offsets, values, first, last, walks, alpha, seed, lanes, visits, steps):
    """Runs tasks [first, last): adds their visits to `visits` (int64, one bin per node) and
    writes task t's visit count to steps[t - first]. offsets: int64 (a view of the uint64
    offsets), values: any integer type."""
    rows = offsets.shape[0] - 1
    cont = np.uint64(alpha * 9007199254740992.0)
    cur = np.empty(lanes, np.int64)
    state = np.empty(lanes, np.uint64)
    seed_key = mix(np.uint64(seed) + GOLDEN)
    for t in range(first, last):
        key = mix(seed_key ^ mix(np.uint64(t)))
        steps[t - first] = run_task(offsets, values, rows, walks, cont, key, lanes, cur, state,
                                    visits)


def check_args(offsets, values, walks, alpha):
    """The refusals of walk.cpp, as ValueError naming the problem."""
    if walks < 1:
        raise ValueError(f"--walks-per-task must be at least 1 (got {walks})")
    if not 0 <= alpha < 1:
        raise ValueError(f"--alpha must be in [0, 1) (got {alpha})")
    if len(offsets) < 2:
        raise ValueError("the graph has no nodes (0 rows)")
    if values.dtype.kind not in "iu":
        raise ValueError(f"neighbour ids must be integers, but values are {values.dtype}")
    if len(values) and (values.min() < 0 or values.max() >= len(offsets) - 1):
        raise ValueError(f"a neighbour id is outside [0, {len(offsets) - 1})")


def parse_peer_args(description, workers=False):
    """The peers' command line: GRAPH --tasks T [--walks-per-task --alpha --seed] -o OUT
    [--verbose], and --workers N for the pool peer."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("graph")
    p.add_argument("--tasks", type=int, required=True)
    if workers:
        p.add_argument("--workers", type=int, default=2)
    p.add_argument("--walks-per-task", type=int, default=1000)
    p.add_argument("--alpha", type=float, default=0.85)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--lanes", type=int, default=LANES, help=argparse.SUPPRESS)
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--verbose", action="store_true")
    return p.parse_args()
