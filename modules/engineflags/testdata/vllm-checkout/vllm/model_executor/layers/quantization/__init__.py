import torch  # never imported by the extractor: it reads this file's source

QUANTIZATION_METHODS: list[str] = [
    "awq",
    "awq_marlin",
    "gptq",
    "gptq_marlin",
    "fp8",
]

DEPRECATED_QUANTIZATION_METHODS = ["gptq"]
