import carlo

@carlo.simulation(name="pybad", observations=["x"], options={"Rows": (1, "bad name")})
class Bad:
    def run(self, task):
        pass
