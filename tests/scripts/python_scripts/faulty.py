"""Test aid (python.cmake): failures inside run(). --fail-task T raises ValueError in task T on
every attempt; --write {values,row,flags} makes task 3 try to write into the shared data."""
import carlo


@carlo.simulation(name="pyfaulty", data="optional", observations=["u"],
                  tallies={"hits": 4},
                  options={"fail-task": (-1, "task that raises"),
                           "write": ("", "how task 3 writes into the data: values, row, flags")})
class Faulty:
    def __init__(self, options, data):
        self.fail = options["fail-task"]
        self.write = options["write"]
        self.data = data

    def run(self, task):
        task.tally("hits", task.id % 4)
        if task.id == self.fail:
            raise ValueError(f"boom in task {task.id}")
        if task.id == 3 and self.write == "values":
            self.data.values[0] = 1.0
        if task.id == 3 and self.write == "row":
            self.data[0][:] = 0
        if task.id == 3 and self.write == "flags":
            self.data.values.setflags(write=True)
        task.observe("u", task.rng.random())
