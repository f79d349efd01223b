import carlo

class NotDeclared:
    def __init__(self, options, data):
        pass

    def run(self, task):
        pass
