#!/usr/bin/python3
"""The numpy bootstrap of docs/examples/python/bootstrap.py, unchanged, run by a
multiprocessing.Pool instead of carlo: the baseline of docs/benchmarks.md ("Python simulations").

    bench/python_pool.py GROUPS.h5 TASKS WORKERS [ROWS_PER_TASK]

The class is imported with a stand-in `carlo` module (the decorator returns the class as it is);
the data is read with h5py into the parent's memory before the pool forks, which is how such
codes share it (copy-on-write). Task t draws from Generator(Philox(key=[seed, t])), so the
estimates match a carlo run's statistically, not bitwise (carlo derives the key from its own
stream). Prints the mean estimate and the end-to-end wall time, file read included.
"""
import multiprocessing
import os
import sys
import time
import types

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "docs", "examples", "python"))
sys.modules["carlo"] = types.SimpleNamespace(simulation=lambda **kw: (lambda cls: cls))
import bootstrap  # noqa: E402  (the example, with the stand-in carlo)


class Data:
    def __init__(self, values, offsets):
        self.values, self.offsets = values, offsets

    def __len__(self):
        return len(self.offsets) - 1


class Task:
    def __init__(self, seed, task_id):
        self.id = task_id
        self.rng = np.random.Generator(np.random.Philox(key=[seed, task_id]))
        self.result = None

    def observe(self, name, value):
        self.result = value


SIM = None


def run_task(t):
    task = Task(1, t)
    SIM.run(task)
    return task.result


def main():
    global SIM
    path, tasks, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    k = int(sys.argv[4]) if len(sys.argv) > 4 else 64
    t0 = time.perf_counter()
    with h5py.File(path, "r") as f:
        data = Data(f["values"][()], f["offsets"][()])
    SIM = bootstrap.Bootstrap({"rows-per-task": k}, data)
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        estimates = pool.map(run_task, range(tasks), chunksize=max(1, tasks // (workers * 20)))
    wall = time.perf_counter() - t0
    print(f"multiprocessing.Pool({workers}): {tasks} tasks, estimate {np.mean(estimates):.6f}, "
          f"{wall:.2f} s end to end")


if __name__ == "__main__":
    main()
