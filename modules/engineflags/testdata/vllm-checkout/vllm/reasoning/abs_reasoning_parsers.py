class ReasoningParserManager:
    @classmethod
    def register_module(cls, name=None):
        return lambda c: c
