#!/usr/bin/env python3
"""Write an engine release's flag table from an upstream source checkout.

The table is what sovereign checks a rendered command line against: every
long option the release's own parser registers, whether it takes a value,
and the values it accepts. It is read from the parser itself, not from the
documentation: the script imports the checkout's parser-building code and
runs it, the way the server builds its parser at start-up.

  vllm:   make_arg_parser(FlexibleArgumentParser()) from
          vllm/entrypoints/openai/cli_args.py (what `vllm serve` calls: the
          frontend's arguments and EngineArgs.add_cli_args).
  sglang: ServerArgs.add_cli_args(argparse.ArgumentParser()) from
          python/sglang/srt/server_args.py (what sglang.launch_server builds).

Neither engine is installed here, and its third-party imports (torch,
transformers, ...) need not be: any module the checkout imports but that
cannot be found is replaced by a permissive stub. Neither add_cli_args
branches on the platform or on installed packages, so the stubs do not
change which flags are registered.

vLLM's --quantization has no argparse choices; its names are checked later
against QUANTIZATION_METHODS, which the script reads from the checkout's
source (model_executor/layers/quantization/__init__.py) without importing
it. vLLM's tool-call and reasoning parser names are registered at run
time: the script reads the keys of the release's lazy registries
(_TOOL_PARSERS_TO_REGISTER, _REASONING_PARSERS_TO_REGISTER) and the names
its parser modules register with @ToolParserManager.register_module(...) or
@ReasoningParserManager.register_module(...); a --tool-parser-plugin or
--reasoning-parser-plugin can add more, which the table says.

Usage:
  extract_flags.py --engine vllm --checkout DIR --release v0.14.0 \
      --repository https://github.com/vllm-project/vllm --commit SHA \
      [--tag v0.14.0] > vllm-v0.14.0.json
"""

import argparse
import ast
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import types

# The checkout is read, never written: no __pycache__ beside its sources.
sys.dont_write_bytecode = True


class _Stub(types.ModuleType):
    """A module, class, function and value at once: whatever the
    checkout's import-time code asks of a missing package succeeds."""

    __path__ = []  # a package, so that submodule imports work too

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        child = _Stub(self.__name__ + "." + name)
        setattr(self, name, child)
        return child

    def __call__(self, *args, **kwargs):
        # Used as a decorator: @stub or @stub(...)
        if len(args) == 1 and callable(args[0]) and not kwargs:
            return args[0]
        return _Stub(self.__name__ + "()")

    def __mro_entries__(self, bases):
        return (object,)

    def __getitem__(self, key):
        return self

    def __iter__(self):
        return iter(())

    def __bool__(self):
        return False

    def __or__(self, other):
        return self

    __ror__ = __or__

    def __int__(self):
        return 0

    def __index__(self):
        return 0

    def __float__(self):
        return 0.0

    def __lt__(self, other):
        return False

    __le__ = __gt__ = __ge__ = __lt__

    def __eq__(self, other):
        return self is other

    def __hash__(self):
        return id(self)


class _StubLoader(importlib.abc.Loader):
    def create_module(self, spec):
        return _Stub(spec.name)

    def exec_module(self, module):
        pass


class _StubFinder(importlib.abc.MetaPathFinder):
    """Last on sys.meta_path: stubs only what no other finder found, and
    never the engine's own package (a missing file there is a real error)."""

    def __init__(self, own):
        self.own = own

    def find_spec(self, name, path, target=None):
        if name.split(".")[0] == self.own:
            return None
        return importlib.machinery.ModuleSpec(name, _StubLoader(), is_package=True)


def _table(parser):
    flags = {}
    aliases = {}
    for action in parser._actions:
        longs = [o for o in action.option_strings if o.startswith("--")]
        shorts = [o for o in action.option_strings if not o.startswith("--")]
        if not longs:
            continue
        entry = {"dest": action.dest}
        # nargs "?" and "*" both let the flag stand with no value.
        entry["value"] = "none" if action.nargs == 0 else ("optional" if action.nargs in ("?", "*") else "required")
        if action.choices is not None:
            entry["choices"] = sorted(str(c) for c in action.choices)
        if getattr(action, "deprecated", False):
            entry["deprecated"] = True
        for o in longs:
            flags[o] = dict(entry)
        for s in shorts:
            aliases[s] = longs[0]
    return flags, aliases


def _static_list(path, name):
    """The string items of a module-level list or dict literal, or None."""
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    for node in tree.body:
        targets = []
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        if not any(isinstance(t, ast.Name) and t.id == name for t in targets):
            continue
        items = value.keys if isinstance(value, ast.Dict) else getattr(value, "elts", [])
        return sorted(i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str))
    return None


def _registered(path, manager):
    """The names a module registers with @MANAGER.register_module(...):
    one string, a list of them, or name=... ."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    names = []
    for node in ast.walk(tree):
        for dec in getattr(node, "decorator_list", []):
            if not (isinstance(dec, ast.Call) and isinstance(dec.func, ast.Attribute)
                    and dec.func.attr == "register_module"
                    and isinstance(dec.func.value, ast.Name) and dec.func.value.id == manager):
                continue
            args = list(dec.args) + [k.value for k in dec.keywords if k.arg == "name"]
            for a in args[:1]:
                items = a.elts if isinstance(a, (ast.List, ast.Tuple)) else [a]
                names += [i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)]
    return names


def _parser_names(checkout, dirs, lazy, manager):
    """The parser names a vLLM release registers, and the files they were
    read from: the keys of its lazy registry (LAZY in the package's
    __init__.py, from v0.12 or so) and the names its modules register with
    a decorator (the older way, which later releases still allow)."""
    names, read = set(), []
    for rel in dirs:
        folder = os.path.join(checkout, rel)
        if not os.path.isdir(folder):
            continue
        init = os.path.join(rel, "__init__.py")
        keys = _static_list(os.path.join(checkout, init), lazy)
        if keys:
            names.update(keys)
            read.append(init)
        for entry in sorted(os.listdir(folder)):
            if entry.endswith(".py"):
                found = _registered(os.path.join(folder, entry), manager)
                if found:
                    names.update(found)
                    read.append(os.path.join(rel, entry))
    return sorted(names), read


def _vllm(checkout):
    sys.path.insert(0, checkout)
    sys.meta_path.append(_StubFinder("vllm"))
    from vllm.entrypoints.openai.cli_args import make_arg_parser

    try:
        from vllm.utils.argparse_utils import FlexibleArgumentParser
    except ImportError:
        from vllm.utils import FlexibleArgumentParser
    flags, aliases = _table(make_arg_parser(FlexibleArgumentParser()))
    files = ["vllm/entrypoints/openai/cli_args.py", "vllm/engine/arg_utils.py", "vllm/config"]
    files = [f for f in files if os.path.exists(os.path.join(checkout, f))]

    quant = os.path.join(checkout, "vllm/model_executor/layers/quantization/__init__.py")
    methods = _static_list(quant, "QUANTIZATION_METHODS")
    if methods and "--quantization" in flags and "choices" not in flags["--quantization"]:
        flags["--quantization"]["choices"] = methods
        flags["--quantization"]["choices_checked_by"] = "ModelConfig._verify_quantization (QUANTIZATION_METHODS)"
        deprecated = _static_list(quant, "DEPRECATED_QUANTIZATION_METHODS")
        if deprecated:
            flags["--quantization"]["deprecated_choices"] = deprecated
        files.append("vllm/model_executor/layers/quantization/__init__.py")
    for flag, plugin, dirs, lazy, manager in (
        ("--tool-call-parser", "--tool-parser-plugin",
         ("vllm/tool_parsers", "vllm/entrypoints/openai/tool_parsers"), "_TOOL_PARSERS_TO_REGISTER", "ToolParserManager"),
        ("--reasoning-parser", "--reasoning-parser-plugin",
         ("vllm/reasoning",), "_REASONING_PARSERS_TO_REGISTER", "ReasoningParserManager"),
    ):
        names, read = _parser_names(checkout, dirs, lazy, manager)
        if names and flag in flags and "choices" not in flags[flag]:
            flags[flag]["choices"] = names
            flags[flag]["choices_checked_by"] = manager + " (the parsers the release registers)"
            if plugin in flags:
                flags[flag]["choices_extended_by"] = plugin
            files.extend(read)
    return flags, aliases, files, "vllm serve"


def _sglang(checkout):
    sys.path.insert(0, os.path.join(checkout, "python"))
    sys.meta_path.append(_StubFinder("sglang"))
    from sglang.srt.server_args import ServerArgs

    parser = argparse.ArgumentParser()
    ServerArgs.add_cli_args(parser)
    flags, aliases = _table(parser)
    return flags, aliases, ["python/sglang/srt/server_args.py"], "python3 -m sglang.launch_server"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engine", required=True, choices=["vllm", "sglang"])
    ap.add_argument("--checkout", required=True, help="the upstream source tree at the release")
    ap.add_argument("--release", required=True, help="the release, as its image tags spell it: v0.14.0")
    ap.add_argument("--repository", required=True)
    ap.add_argument("--commit", required=True, help="the commit the checkout is at")
    ap.add_argument("--tag", default="", help="the release tag, when the commit is one")
    opts = ap.parse_args()

    checkout = os.path.abspath(opts.checkout)
    extract = _vllm if opts.engine == "vllm" else _sglang
    flags, aliases, files, program = extract(checkout)
    flags.pop("--help", None)
    aliases.pop("-h", None)
    table = {
        "engine": opts.engine,
        "release": opts.release,
        "program": program,
        "source": {
            "repository": opts.repository,
            "tag": opts.tag,
            "commit": opts.commit,
            "files": files,
            "method": "extract_flags.py: ran the release's own parser-building code "
            "(" + program + ") with missing third-party modules stubbed, and read "
            "every registered option's names, nargs and choices",
        },
        "flags": flags,
        "aliases": aliases,
    }
    json.dump(table, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
