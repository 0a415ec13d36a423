_TOOL_PARSERS_TO_REGISTER = {
    "hermes": ("hermes_tool_parser", "Hermes2ProToolParser"),
    "qwen3_xml": ("qwen3xml_tool_parser", "Qwen3XMLToolParser"),
}
