from vllm.engine.arg_utils import EngineArgs


def make_arg_parser(parser):
    parser.add_argument("model_tag", nargs="?")
    parser.add_argument("--headless", action="store_true")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--tool-call-parser", type=str)
    parser.add_argument("--tool-parser-plugin", type=str, default="")
    parser.add_argument("--reasoning-parser", type=str, default="")
    parser.add_argument("--enable-auto-tool-choice", action="store_true")
    parser.add_argument("--tensor-parallel-size", "-tp", type=int, default=1)
    return EngineArgs.add_cli_args(parser)
