import dataclasses

import torch  # stubbed by the extractor
from sglang.srt.utils import is_cuda  # the engine's own module: must exist

QUANTIZATION_CHOICES = ["awq", "awq_marlin", "fp8"]


@dataclasses.dataclass
class ServerArgs:
    model_path: str = ""

    @staticmethod
    def add_cli_args(parser):
        parser.add_argument("--model-path", "--model", type=str, required=True)
        parser.add_argument("--tensor-parallel-size", "--tp-size", type=int, default=1)
        parser.add_argument("--kv-cache-dtype", choices=["auto", "fp8_e4m3", "bf16"], default="auto")
        parser.add_argument("--quantization", choices=QUANTIZATION_CHOICES)
        parser.add_argument("--enable-metrics", action="store_true")
        parser.add_argument("--max-running-requests", type=int)
        parser.add_argument("--cuda-graph-bs", type=int, nargs="*")
        parser.add_argument("--tool-call-parser", choices=["qwen25", "llama3"] if is_cuda() else [])
