#!/usr/bin/python3
"""`walk` (DESIGN section 5) in a multiprocessing.Pool: the single-node peer of
`carlo run --sim walk` in docs/benchmarks.md ("walk end to end"). Needs python3-numba.

    bench/walk_pool.py GRAPH.h5 --tasks T [--workers 2] [--walks-per-task 1000] [--alpha 0.85]
                       [--seed 1] -o OUT.h5 [--verbose]

The parent reads the graph with h5py into numpy arrays before the pool forks (the workers share
them copy-on-write) and makes one int64 visits row per worker in shared memory
(multiprocessing.RawArray); the tasks go out in contiguous chunks, 16 per worker (balance on a
shared machine); a worker runs each chunk with the numba kernel of bench/walk_numba.py, the same
as bench/walk_mpi4py.py's, adding to its own row, and returns the chunk's steps only (sending 32
MiB of visits back per chunk cost seconds). The parent sums the rows and writes /tallies/visits
(uint64) and /observations/steps (float64, per task) with h5py. Prints nothing but errors unless
--verbose.
"""
import multiprocessing
import os
import sys
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import walk_numba  # noqa: E402

GRAPH = None  # (offsets as int64, values), set before the fork
ARGS = None
VISITS = None  # (workers, rows) int64 in shared memory, set before the fork
MY_VISITS = None  # this worker's row


def take_row(counter):
    """Pool initializer: the worker takes the next row of VISITS."""
    global MY_VISITS
    with counter.get_lock():
        MY_VISITS = VISITS[counter.value]
        counter.value += 1


def run_chunk(chunk):
    first, last = chunk
    offsets, values = GRAPH
    steps = np.zeros(last - first, np.int64)
    walk_numba.run_tasks(offsets, values, first, last, ARGS.walks_per_task, ARGS.alpha,
                         ARGS.seed, ARGS.lanes, MY_VISITS, steps)
    return first, steps


def main():
    global GRAPH, ARGS, VISITS
    ARGS = walk_numba.parse_peer_args(__doc__.splitlines()[0], workers=True)
    t0 = time.perf_counter()
    with h5py.File(ARGS.graph, "r") as f:
        offsets, values = f["offsets"][()], f["values"][()]
    try:
        walk_numba.check_args(offsets, values, ARGS.walks_per_task, ARGS.alpha)
    except ValueError as e:
        sys.exit(f"walk_pool: {ARGS.graph}: {e}")
    GRAPH = offsets.view(np.int64), values
    t_load = time.perf_counter() - t0

    rows = len(offsets) - 1
    ctx = multiprocessing.get_context("fork")
    VISITS = np.frombuffer(ctx.RawArray("q", ARGS.workers * rows), np.int64)
    VISITS = VISITS.reshape(ARGS.workers, rows)
    n = min(ARGS.tasks, 16 * ARGS.workers)
    chunks = [(ARGS.tasks * i // n, ARGS.tasks * (i + 1) // n) for i in range(n)]
    steps = np.zeros(ARGS.tasks, np.int64)
    with ctx.Pool(ARGS.workers, initializer=take_row, initargs=(ctx.Value("i", 0),)) as pool:
        for first, s in pool.imap_unordered(run_chunk, chunks):
            steps[first:first + len(s)] = s
    visits = VISITS.sum(axis=0)
    with h5py.File(ARGS.output, "w") as f:
        f["tallies/visits"] = visits.view(np.uint64)
        f["observations/steps"] = steps.astype(np.float64)
    if ARGS.verbose:
        print(f"walk_pool, {ARGS.workers} workers: {ARGS.tasks} tasks, load {t_load:.2f} s, "
              f"{time.perf_counter() - t0:.2f} s from start to written")


if __name__ == "__main__":
    main()
