"""Test aid (python.cmake): task 50 segfaults the interpreter (a NULL read through ctypes)."""
import ctypes

import carlo


@carlo.simulation(name="pycrash", observations=["x"])
class Crash:
    def __init__(self, options, data):
        pass

    def run(self, task):
        if task.id == 50:
            ctypes.string_at(0)
        task.observe("x", 1.0)
