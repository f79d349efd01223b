#!/usr/bin/python3
"""`walk` (DESIGN section 5) in mpi4py: the MPI peer of `carlo run --sim walk` in
docs/benchmarks.md ("walk end to end"). Needs Debian's python3-mpi4py and python3-numba.

    mpirun -n N /usr/bin/python3 bench/walk_mpi4py.py GRAPH.h5 --tasks T [--walks-per-task 1000]
           [--alpha 0.85] [--seed 1] -o OUT.h5 [--verbose]

What a careful mpi4py user writes: the ranks of a node share one MPI-3 window
(MPI.Win.Allocate_shared, all of it allocated by the node's rank 0), which reads `values` and
`offsets` with h5py straight into it; the others wrap the same memory as read-only numpy arrays.
Tasks are split in contiguous blocks, one per rank (all tasks cost the same on average); each rank
runs its block with the numba kernel of bench/walk_numba.py into a private int64 visits array;
MPI Reduce to rank 0, which writes /tallies/visits (uint64) and /observations/steps (float64, per
task) with h5py, as carlo's results file holds them. Prints nothing but errors unless --verbose.
"""
import os
import sys
import time

import h5py
import numpy as np
from mpi4py import MPI

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import walk_numba  # noqa: E402
from mpi_window import shared_arrays  # noqa: E402


def main():
    args = walk_numba.parse_peer_args(__doc__.splitlines()[0])
    world = MPI.COMM_WORLD
    t0 = time.perf_counter()
    node = world.Split_type(MPI.COMM_TYPE_SHARED)
    win, (offsets, values) = shared_arrays(args.graph, node, ("offsets", "values"))
    error = None
    if world.rank == 0:  # one rank checks, all stop on an error
        try:
            walk_numba.check_args(offsets, values, args.walks_per_task, args.alpha)
        except ValueError as e:
            error = f"{args.graph}: {e}"
    error = world.bcast(error, root=0)
    if error:
        if world.rank == 0:
            print(f"walk_mpi4py: {error}", file=sys.stderr)
        sys.exit(1)
    t_load = time.perf_counter() - t0

    first = args.tasks * world.rank // world.size
    last = args.tasks * (world.rank + 1) // world.size
    visits = np.zeros(len(offsets) - 1, np.int64)
    steps = np.zeros(last - first, np.int64)
    walk_numba.run_tasks(offsets.view(np.int64), values, first, last, args.walks_per_task,
                         args.alpha, args.seed, args.lanes, visits, steps)
    t_busy = time.perf_counter() - t0 - t_load

    total = np.empty_like(visits) if world.rank == 0 else None
    world.Reduce(visits, total, op=MPI.SUM, root=0)
    all_steps = world.gather(steps, root=0)
    if world.rank == 0:
        with h5py.File(args.output, "w") as f:
            f["tallies/visits"] = total.view(np.uint64)
            f["observations/steps"] = np.concatenate(all_steps).astype(np.float64)
    busy = world.gather(t_busy, root=0)
    if args.verbose and world.rank == 0:
        print(f"walk_mpi4py, {world.size} ranks: {args.tasks} tasks, load {t_load:.2f} s, busy "
              f"{' '.join(f'{b:.2f}' for b in busy)} s, "
              f"{time.perf_counter() - t0:.2f} s from MPI start to written")
    del offsets, values
    win.Free()


if __name__ == "__main__":
    main()
