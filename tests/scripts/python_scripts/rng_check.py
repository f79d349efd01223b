"""Test aid (python.cmake): task.rng is numpy's Philox Generator keyed as carlo.task_rng documents
(a pure function of seed and task id), fresh in every task even if run() reads it twice."""
import numpy as np

import carlo


@carlo.simulation(name="pyrng", observations=["same", "x"], options={"seed-copy": (0, "the --seed")})
class RngCheck:
    def __init__(self, options, data):
        self.seed = options["seed-copy"]

    def run(self, task):
        a = task.rng.random(5)
        expected = carlo.task_rng(self.seed, task.id).random(5)
        fresh = isinstance(task.rng.bit_generator, np.random.Philox)
        task.observe("same", float(np.array_equal(a, expected) and fresh))
        task.observe("x", a[0])
