"""Evaluates the Tiltfile without Tilt (which cannot be installed here), recording what it asks for.

    python -m devstack.tools.tilt_eval [--mode local|k8s]     # prints each Tilt call the Tiltfile makes

The Tiltfile runs in a real Starlark interpreter (PyPI starlark-pyo3, `import starlark`, the
dialect Tilt uses: Starlark with load(), f-strings and top-level statements). Tilt's built-ins
are recording callables: each call is kept as a Call (function name, positional and keyword
arguments, converted to Python values) and answers a small marker dict, so that e.g. helm()'s
result can be passed to k8s_yaml(). Dotted names (config.*, os.*) come from a prelude of
struct(...)s. load('ext://NAME', ...) gets a stub module with recording callables for the
names asked for. print() is captured. read_yaml/read_file/os.path.exists read the real files,
relative to the Tiltfile; config.parse() answers the settings passed in (`--mode`), defaults
included.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
TILTFILE = REPO / "Tiltfile"

# Tilt's top-level built-ins the Tiltfile may call (https://docs.tilt.dev/api.html).
BUILTINS = (
    "local_resource", "docker_build", "custom_build", "k8s_yaml", "k8s_resource", "k8s_kind", "helm",
    "probe", "http_get_action", "exec_action", "tcp_socket_action", "sync", "run", "fall_back_on",
    "restart_container", "port_forward", "link", "allow_k8s_contexts", "update_settings",
    "watch_file", "watch_settings", "local", "default_registry", "docker_compose", "blob",
    "set_team", "v1alpha1_extension", "include", "secret_settings", "ci_settings", "analytics_settings",
    "enable_feature", "disable_snapshots", "version_settings", "trigger_mode", "fail_on",
)
# Dotted names: (namespace, function) pairs, exposed as namespace.function through the prelude.
DOTTED = {
    "config": ("define_string", "define_string_list", "define_bool", "define_object", "parse", "set_enabled_resources"),
    "os": ("getenv", "getcwd", "environ_get", "putenv", "unsetenv", "path_exists", "path_join", "path_basename",
           "path_dirname", "path_abspath"),
}
TRIGGER_MODES = {"TRIGGER_MODE_AUTO": 0, "TRIGGER_MODE_MANUAL": 1}


class TiltfileError(RuntimeError):
    pass


@dataclass
class Call:
    name: str
    args: tuple
    kwargs: dict

    def __getitem__(self, key):
        return self.kwargs[key] if isinstance(key, str) else self.args[key]

    def get(self, key, default=None):
        return self.kwargs.get(key, default)


@dataclass
class Evaluation:
    calls: list[Call] = field(default_factory=list)
    printed: list[str] = field(default_factory=list)
    loads: list[str] = field(default_factory=list)

    def named(self, name: str) -> list[Call]:
        return [c for c in self.calls if c.name == name]

    def resource(self, function: str, name: str) -> Call:
        """The call of `function` (local_resource, k8s_resource, docker_build...) for `name`."""
        for call in self.named(function):
            first = call.args[0] if call.args else call.kwargs.get("name", call.kwargs.get("workload",
                                                                                    call.kwargs.get("ref")))
            if first == name:
                return call
        raise KeyError(f"no {function}({name!r}, ...) call")


def _plain(value):
    """Starlark values arrive converted already; keep them JSON-shaped (tuples become lists)."""
    return json.loads(json.dumps(value, default=str))


def evaluate(settings: Mapping[str, object] | None = None, tiltfile: Path = TILTFILE,
             env: Mapping[str, str] | None = None) -> Evaluation:
    import starlark as sl

    settings = dict(settings or {})
    env = dict(os.environ if env is None else env)
    base = tiltfile.parent
    result = Evaluation()
    defined: dict[str, object] = {}

    def record(name: str, answer=None):
        def call(*args, **kwargs):
            recorded = Call(name, tuple(_plain(list(args))), _plain(kwargs))
            result.calls.append(recorded)
            if answer is not None:
                return answer(*args, **kwargs)
            return {"__tilt__": name, "args": recorded.args, "kwargs": recorded.kwargs}
        return call

    def define(kind: str):
        def define_setting(name, args=False, usage=""):
            defined[name] = {"define_string": "", "define_bool": False}.get(kind, [])
            return None
        return define_setting

    def parse():
        unknown = sorted(set(settings) - set(defined))
        if unknown:
            raise TiltfileError(f"settings not defined by the Tiltfile: {', '.join(unknown)}")
        return {**defined, **settings}

    def read_path(path) -> Path:
        return (base / str(path)).resolve()

    answers = {
        "config.define_string": define("define_string"),
        "config.define_string_list": define("define_string_list"),
        "config.define_bool": define("define_bool"),
        "config.define_object": define("define_object"),
        "config.parse": parse,
        "os.getenv": lambda name, default=None: env.get(name, default),
        "os.environ_get": lambda name, default=None: env.get(name, default),
        "os.getcwd": lambda: str(base),
        "os.path_exists": lambda path: read_path(path).exists(),
        "os.path_join": lambda *parts: os.path.join(*parts),
        "os.path_basename": lambda path: os.path.basename(path),
        "os.path_dirname": lambda path: os.path.dirname(path),
        "os.path_abspath": lambda path: str(read_path(path)),
        "read_yaml": lambda path, default=None: _plain(yaml.safe_load(read_path(path).read_text())),
        "read_json": lambda path, default=None: json.loads(read_path(path).read_text()),
        "read_file": lambda path, default=None: read_path(path).read_text(),
        "local": lambda *args, **kwargs: "",
    }

    module = sl.Module()
    for name in BUILTINS + ("read_yaml", "read_json", "read_file"):
        module.add_callable(name, record(name, answers.get(name)))
    for namespace, functions in DOTTED.items():
        for function in functions:
            dotted = f"{namespace}.{function}"
            module.add_callable(f"_{namespace}_{function}", record(dotted, answers.get(dotted)))
    module.add_callable("print", lambda *args, **kwargs: result.printed.append(" ".join(map(str, args))))
    for constant, value in TRIGGER_MODES.items():
        module[constant] = value
    # The prelude: config.*, os.* and os.path.* as structs of the recording callables.
    prelude = []
    for namespace, functions in DOTTED.items():
        plain = [f for f in functions if not f.startswith("path_")]
        paths = [f for f in functions if f.startswith("path_")]
        fields = [f"{f}=_{namespace}_{f}" for f in plain]
        if paths:
            fields.append("path=struct(" + ", ".join(f"{f[5:]}=_{namespace}_{f}" for f in paths) + ")")
            fields.append("environ=struct(get=_os_environ_get)")
        prelude.append(f"{namespace} = struct({', '.join(fields)})")

    dialect = sl.Dialect.extended()
    dialect.enable_load = True
    dialect.enable_f_strings = True
    dialect.enable_top_level_stmt = True
    globals_ = sl.Globals.extended_by([sl.LibraryExtension.StructType, sl.LibraryExtension.Json,
                                       sl.LibraryExtension.Print])

    def load(name: str):
        result.loads.append(name)
        if not name.startswith("ext://"):
            raise TiltfileError(f"load({name!r}): only ext:// extensions are stubbed")
        stub = sl.Module()
        for function in _requested_symbols(tiltfile.read_text(), name):
            stub.add_callable(function, record(f"{name}:{function}"))
        return stub.freeze()

    try:
        sl.eval(module, sl.parse("prelude.star", "\n".join(prelude) + "\n", dialect), globals_)
        ast = sl.parse(tiltfile.name, tiltfile.read_text(), dialect)
        sl.eval(module, ast, globals_, sl.FileLoader(load))
    except sl.StarlarkError as error:
        raise TiltfileError(f"{tiltfile}: {error}") from None
    return result


def _requested_symbols(source: str, extension: str) -> list[str]:
    """The names a `load('ext://...', 'a', 'b')` statement asks for."""
    import re

    names = []
    for match in re.finditer(r"load\(\s*['\"]" + re.escape(extension) + r"['\"]\s*,([^)]*)\)", source):
        for item in match.group(1).split(","):
            item = item.strip()
            if not item:
                continue
            alias, _, original = item.partition("=")  # load(..., local_name="exported_name")
            names.append((original if original else alias).strip().strip("'\""))
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.tools.tilt_eval", description="evaluate the Tiltfile")
    parser.add_argument("--mode", default=None, help="the Tiltfile's mode setting (local or k8s)")
    args = parser.parse_args(argv)
    try:
        evaluation = evaluate({"mode": args.mode} if args.mode else {})
    except TiltfileError as error:
        print(error, file=sys.stderr)
        return 1
    for line in evaluation.printed:
        print(f"print: {line}")
    for call in evaluation.calls:
        if call.name.startswith(("config.", "os.", "read_")):
            continue
        arguments = [json.dumps(a) for a in call.args] + [f"{k}={json.dumps(v)}" for k, v in call.kwargs.items()]
        print(f"{call.name}({', '.join(arguments)[:300]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
