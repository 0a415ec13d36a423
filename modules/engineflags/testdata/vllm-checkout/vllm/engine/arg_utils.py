import argparse
from dataclasses import dataclass
from typing import Literal, get_args

# Third-party imports the extractor cannot satisfy: it must stub them.
import torch
from transformers import PretrainedConfig

CacheDType = Literal["auto", "fp8", "fp8_e5m2"]


@dataclass
class EngineArgs:
    max_num_seqs: int | None = None
    kv_cache_dtype: CacheDType = "auto"
    enable_prefix_caching: bool = True
    quantization: str | None = None

    @staticmethod
    def add_cli_args(parser):
        group = parser.add_argument_group("CacheConfig")
        group.add_argument("--kv-cache-dtype", choices=get_args(CacheDType), default="auto")
        group.add_argument("--enable-prefix-caching", action=argparse.BooleanOptionalAction)
        group.add_argument("--max-num-seqs", type=int)
        group.add_argument("--quantization", "-q", type=str, default=None)
        group.add_argument("--dtype", default=torch.bfloat16)
        return parser
