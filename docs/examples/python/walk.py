"""walk of DESIGN section 5 with a numba kernel: random-walk PageRank over a graph file.

Task t runs --walks-per-task W walks with damping --alpha; each walk starts at a uniform random
node; at every node: visits[cur] += 1, stop with probability 1 - alpha, else move to a uniformly
chosen entry of row cur (duplicates count) or, if the row is empty, to a uniform random node.
Tally `visits` (one bin per node); observation `steps` = the visits the task recorded.

The kernel is numba's @njit (python3-numba): it reads the node-shared arrays in place and draws
from the task's numpy Generator (numba 0.56 supports Generator.random() in nopython mode; a
uniform integer below n is floor(u * n), biased by at most n / 2^53). It is compiled once per rank
in __init__, not in the first task.

    carlo run --plugin docs/examples/python/walk.py --sim pywalk \\
              --data data/graph-small.h5 --tasks 200 --seed 1 -o walk.h5
"""
import numpy as np
from numba import njit

import carlo


@njit(cache=False)
def walks(offsets, values, n_walks, alpha, rng, out):
    """Runs n_walks walks, writing every visited node to `out` (grown as needed); returns the
    number of visits and the (possibly new) buffer."""
    rows = offsets.shape[0] - 1
    count = 0
    for _ in range(n_walks):
        cur = int(rng.random() * rows)
        while True:
            if count == out.shape[0]:
                bigger = np.empty(2 * out.shape[0], np.int64)
                bigger[:count] = out
                out = bigger
            out[count] = cur
            count += 1
            if rng.random() >= alpha:
                break
            start = offsets[cur]
            length = offsets[cur + 1] - start
            if length == 0:
                cur = int(rng.random() * rows)
            else:
                cur = int(values[start + int(rng.random() * length)])
    return count, out


@carlo.simulation(name="pywalk", data="required", observations=["steps"], tallies={"visits": "rows"},
                  options={"walks-per-task": (1000, "walks each task runs, each from a uniform "
                                                    "random node"),
                           "alpha": (0.85, "damping: probability of moving on after each "
                                           "visit, in [0, 1)")})
class Walk:
    """random-walk PageRank with a numba kernel (graph file)"""

    def __init__(self, options, data):
        self.walks = options["walks-per-task"]
        self.alpha = options["alpha"]
        if self.walks < 1:
            raise ValueError(f"--walks-per-task must be at least 1 (got {self.walks})")
        if not 0 <= self.alpha < 1:
            raise ValueError(f"--alpha must be in [0, 1) (got {self.alpha})")
        if data.values.dtype.kind not in "iu":
            raise ValueError(f"neighbour ids must be integers, not {data.values.dtype}")
        self.offsets, self.values = data.offsets, data.values
        if len(data) == 0:
            raise ValueError("the graph has no nodes")
        if len(self.values) and (self.values.min() < 0 or self.values.max() >= len(data)):
            raise ValueError(f"neighbour ids outside [0, {len(data)})")
        self.buffer = np.empty(1 << 16, np.int64)
        # Compile now (a throwaway Generator): the first task should not pay for it.
        walks(self.offsets, self.values, 1, self.alpha,
              np.random.Generator(np.random.Philox(0)), self.buffer)

    def run(self, task):
        count, self.buffer = walks(self.offsets, self.values, self.walks, self.alpha, task.rng,
                                   self.buffer)
        task.tally("visits", self.buffer[:count])
        task.observe("steps", count)
