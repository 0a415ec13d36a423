"""A synthetic vLLM-shaped tree: the smallest parser the extractor must read."""
