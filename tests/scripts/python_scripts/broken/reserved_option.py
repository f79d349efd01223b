import carlo

@carlo.simulation(name="pybad", observations=["x"], options={"seed": (1, "carlo run uses it")})
class Bad:
    def run(self, task):
        pass
