import carlo

@carlo.simulation(name="pybad", observations=["x"])
class Bad:
    def __init__(self, options, data):
        raise ValueError("refusing this data")

    def run(self, task):
        pass
