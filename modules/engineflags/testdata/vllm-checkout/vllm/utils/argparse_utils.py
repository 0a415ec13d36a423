import argparse


class FlexibleArgumentParser(argparse.ArgumentParser):
    """Like vLLM's: an ArgumentParser subclass."""
