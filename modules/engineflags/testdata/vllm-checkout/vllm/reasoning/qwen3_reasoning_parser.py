from vllm.reasoning.abs_reasoning_parsers import ReasoningParserManager


@ReasoningParserManager.register_module(["qwen3", "qwen3_thinking"])
class Qwen3ReasoningParser:
    pass
