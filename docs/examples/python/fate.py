"""fate: a vector observation in Python (docs/python.md).

Task t draws --draws uniforms u with its own numpy Generator and observes `fate`, the fraction of
them in each of [0, 1/2), [1/2, 3/4) and [3/4, 1) (a vector of 3, so /observations/fate is
float64[T, 3]), and `first`, the first uniform (a scalar).

    carlo run --plugin docs/examples/python/fate.py --sim pyfate --tasks 1000 --seed 1 -o fate.h5
"""
import numpy as np

import carlo


@carlo.simulation(name="pyfate", observations={"first": 0, "fate": 3},
                  options={"draws": (20, "uniforms each task draws")})
class Fate:
    """fractions of uniforms in three bins: a vector observation of 3 components"""

    def __init__(self, options, data):
        self.n = options["draws"]
        if self.n < 1:
            raise ValueError(f"--draws must be at least 1 (got {self.n})")

    def run(self, task):
        u = task.rng.random(self.n)
        counts = np.histogram(u, bins=[0.0, 0.5, 0.75, 1.0])[0]
        task.observe("fate", counts / self.n)
        task.observe("first", float(u[0]))
