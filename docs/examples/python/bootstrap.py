"""bootstrap of DESIGN section 5 in numpy: the same definition as carlo's C++ `bootstrap`, so the
same expected value (not the same numbers: numpy draws from its own Philox Generator).

Task t chooses --rows-per-task K rows uniformly with replacement (empty rows are redrawn); for each
chosen row of length L it draws L indices uniformly in [0, L) with replacement and takes the mean
of those values; observation `estimate` = the average of the K resampled row means.

    carlo run --plugin docs/examples/python/bootstrap.py --sim pyboot \\
              --data data/groups-small.h5 --tasks 1000 --seed 1 -o boot.h5
"""
import numpy as np

import carlo


@carlo.simulation(name="pyboot", data="required", observations=["estimate"],
                  options={"rows-per-task": (64, "rows (groups) each task resamples, "
                                                    "chosen with replacement")})
class Bootstrap:
    """bootstrap resampling of grouped measurements, in numpy (groups file)"""

    def __init__(self, options, data):
        self.k = options["rows-per-task"]
        if self.k < 1:
            raise ValueError(f"--rows-per-task must be at least 1 (got {self.k})")
        self.values = data.values      # read-only views of the node's one copy: no copy here
        self.offsets = data.offsets
        self.lengths = np.diff(self.offsets)  # one small array per rank (8 bytes a row)
        if not (self.lengths > 0).any():
            raise ValueError("the data has no non-empty row to resample")

    def rows(self, rng):
        """K rows uniformly with replacement, empty ones redrawn (in order, so reproducible)."""
        rows = rng.integers(0, len(self.lengths), size=self.k)
        empty = self.lengths[rows] == 0
        while empty.any():
            rows[empty] = rng.integers(0, len(self.lengths), size=int(empty.sum()))
            empty = self.lengths[rows] == 0
        return rows

    def run(self, task):
        rng = task.rng
        rows = self.rows(rng)
        start = self.offsets[rows].astype(np.int64)
        length = self.lengths[rows].astype(np.int64)
        # One index per value of each chosen row, uniform in [0, L) of its own row, made absolute
        # in place: a task's temporaries are a few arrays as long as the rows it drew, so on a
        # big file (64 rows of ~34,000 values: 17 MiB each) they, not the interpreter, are most
        # of a rank's memory; keep them few.
        index = rng.integers(0, np.repeat(length, length))
        index += np.repeat(start, length)
        picked = self.values[index]
        del index
        sums = np.add.reduceat(picked.astype(np.float64, copy=False), np.cumsum(length) - length)
        task.observe("estimate", float(np.mean(sums / length)))
