from vllm.tool_parsers import ToolParserManager


@ToolParserManager.register_module(name="mistral")
class MistralToolParser:
    pass
