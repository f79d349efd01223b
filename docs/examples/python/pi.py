"""pi: the per-task overhead benchmark of docs/benchmarks.md (and the smallest Python simulation).

Task t throws --points uniform points in the unit square with its own numpy Generator;
observation `pi` = 4 x the fraction inside the quarter circle.

    carlo run --plugin docs/examples/python/pi.py --sim pypi --tasks 1000 --seed 1 -o pi.h5
"""
import carlo


@carlo.simulation(name="pypi", observations=["pi"],
                  options={"points": (1, "points each task throws")})
class Pi:
    """pi from uniform points, in Python (one point per task by default: measures overhead)"""

    def __init__(self, options, data):
        self.n = options["points"]
        if self.n < 1:
            raise ValueError(f"--points must be at least 1 (got {self.n})")

    def run(self, task):
        if self.n == 1:
            x, y = task.rng.random(2)
            task.observe("pi", 4.0 if x * x + y * y < 1.0 else 0.0)
        else:
            xy = task.rng.random((self.n, 2))
            inside = (xy * xy).sum(axis=1) < 1.0
            task.observe("pi", 4.0 * inside.mean())
