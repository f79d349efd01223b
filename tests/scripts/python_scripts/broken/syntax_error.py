import carlo

@carlo.simulation(name="pybad", observations=["x"])
class Bad:
    def run(self, task)
        pass
