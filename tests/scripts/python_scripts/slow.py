"""Test aid (python.cmake): tasks that spin in Python for --ms milliseconds (holding the GIL),
for signals and kill -9 + --resume."""
import time

import carlo


@carlo.simulation(name="pyslow", observations=["u"], tallies={"bins": 8},
                  options={"ms": (5.0, "milliseconds each task spins")})
class Slow:
    def __init__(self, options, data):
        self.seconds = options["ms"] / 1000

    def run(self, task):
        end = time.perf_counter() + self.seconds
        while time.perf_counter() < end:
            pass
        u = task.rng.random(3)
        task.tally("bins", (u * 8).astype(int))
        task.observe("u", u[0])
