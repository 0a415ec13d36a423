"""A synthetic SGLang-shaped tree."""
