"""Test aid (python.cmake): a real tally from Python. Task t scores 3 values (one scalar call,
one array call) into `flux` (5 bins); --nan-task T scores NaN in task T (a task failure)."""
import numpy as np

import carlo


@carlo.simulation(name="pyscores", data="none", observations=["u"],
                  tallies={"hits": 4, "flux": (5, "real")},
                  options={"nan-task": (-1, "task that scores NaN")})
class Scores:
    def __init__(self, options, data):
        self.nan = options["nan-task"]

    def run(self, task):
        t = task.id
        task.tally("hits", t % 4)
        task.score("flux", t % 5, 1e-3 * t - 0.25)
        task.score("flux", np.array([(t + 1) % 5, (t + 2) % 5]), np.array([2.0 ** (t % 60 - 30), -1.5]))
        if t == self.nan:
            task.score("flux", 0, float("nan"))
        task.observe("u", task.rng.random())
