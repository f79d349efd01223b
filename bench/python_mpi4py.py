#!/usr/bin/python3
"""The numpy bootstrap of docs/examples/python/bootstrap.py, unchanged, run with mpi4py over an
MPI-3 shared window instead of carlo: the hand-written MPI baseline of docs/benchmarks.md
("Python simulations"). Needs Debian's python3-mpi4py.

    mpiexec -n WORKERS bench/python_mpi4py.py GROUPS.h5 TASKS [ROWS_PER_TASK]

What a careful mpi4py user writes: the ranks of a node share one window (MPI.Win.Allocate_shared,
all of it allocated by the node's rank 0), rank 0 of the node reads `values` and `offsets` with
h5py straight into it, the others wrap the same memory as read-only numpy arrays; task t goes to
rank t mod WORKERS (static: no master, no retries, no checkpoints), task t draws from
Generator(Philox(key=[seed, t])) as bench/python_pool.py does; the estimates are gathered on
rank 0. Prints the mean estimate and the wall time from MPI start to the gathered result, file read
included (the command's own wall, with interpreter start-up, is what `time` around mpiexec says).
"""
import os
import sys
import time
import types

import h5py
import numpy as np
from mpi4py import MPI

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "docs", "examples", "python"))
sys.modules["carlo"] = types.SimpleNamespace(simulation=lambda **kw: (lambda cls: cls))
import bootstrap  # noqa: E402  (the example, with the stand-in carlo)
sys.path.insert(0, HERE)
from mpi_window import shared_arrays  # noqa: E402


class Data:
    def __init__(self, values, offsets):
        self.values, self.offsets = values, offsets


class Task:
    def __init__(self, seed, task_id):
        self.id = task_id
        self.rng = np.random.Generator(np.random.Philox(key=[seed, task_id]))
        self.result = np.nan

    def observe(self, name, value):
        self.result = value


def main():
    path, tasks = sys.argv[1], int(sys.argv[2])
    k = int(sys.argv[3]) if len(sys.argv) > 3 else 64
    world = MPI.COMM_WORLD
    world.Barrier()
    t0 = time.perf_counter()
    node = world.Split_type(MPI.COMM_TYPE_SHARED)
    win, arrays = shared_arrays(path, node, ("values", "offsets"))
    data = Data(*arrays)
    t_read = time.perf_counter() - t0
    sim = bootstrap.Bootstrap({"rows-per-task": k}, data)
    mine = range(world.rank, tasks, world.size)
    estimates = np.empty(len(mine))
    for i, t in enumerate(mine):
        task = Task(1, t)
        sim.run(task)
        estimates[i] = task.result
    parts = world.gather(estimates, root=0)
    if world.rank == 0:
        wall = time.perf_counter() - t0
        print(f"mpi4py shared window, {world.size} ranks: {tasks} tasks, estimate "
              f"{np.mean(np.concatenate(parts)):.6f}, {wall:.2f} s from MPI start "
              f"(window filled in {t_read:.2f} s)")
    del sim, data
    win.Free()


if __name__ == "__main__":
    main()
