"""Jaeger v2 (all-in-one, in-memory), built once from the Go module proxy into a cache outside the repo.

    python -m devstack.tools.jaeger --install     # builds it if missing (devstack/install.sh test runs this)
    python -m devstack.tools.jaeger               # builds it if missing, prints its path
    python -m devstack.tools.jaeger ARGS...       # runs it

Like devstack/tools/helm.py: a scratch Go module in ~/.cache/marketing-platform/jaeger-VERSION/ (or
$MKT_JAEGER_HOME) takes `github.com/jaegertracing/jaeger/cmd/jaeger@VERSION` as a Go tool (`go get -tool`),
then `go build` writes <digest of the build flags>/jaeger. The first build fetches Jaeger's modules (the
OpenTelemetry Collector) and took about 4.5 minutes on two cores; it runs under a lock, so two checkouts
never build it at once. Found with one stat afterwards: no Go needed then.

devstack/servers/jaeger.py runs it (`make run`, the trace tests, bench/instrumentation.py).
In code: `ensure_installed()` returns the binary's path or raises JaegerUnavailable saying why;
`installed()` returns it only when it is already built."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from devstack.processes import cache_home, file_lock, go_binary

VERSION = "v1.75.0"  # the Go module version of Jaeger v2.x (cmd/jaeger is the v2 collector-based binary)
MODULE = "github.com/jaegertracing/jaeger"
PACKAGE = f"{MODULE}/cmd/jaeger"
HOME_VARIABLE = "MKT_JAEGER_HOME"
MIN_GO = (1, 21)  # from 1.21 on, `go` fetches the toolchain Jaeger's go.mod asks for by itself
LDFLAGS = "-s -w"


class JaegerUnavailable(RuntimeError):
    """Jaeger cannot be had here; the message says why and what to do."""


def jaeger_home() -> Path:
    return cache_home(HOME_VARIABLE, f"jaeger-{VERSION}")


def jaeger_binary() -> Path:
    """One folder per set of build flags, so a change of flags builds anew instead of reusing."""
    digest = hashlib.sha256(LDFLAGS.encode()).hexdigest()[:12]
    return jaeger_home() / digest / "jaeger"


def installed() -> Path | None:
    binary = jaeger_binary()
    return binary if os.access(binary, os.X_OK) else None


def _run(go: str, args: list[str], cwd: Path, env: dict[str, str]) -> None:
    result = subprocess.run([go, *args], cwd=cwd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        output = "\n".join((result.stdout + result.stderr).strip().splitlines()[-20:])
        raise JaegerUnavailable(f"`go {' '.join(args)}` failed (exit {result.returncode}):\n{output}")


def ensure_installed(quiet: bool = False) -> Path:
    """The jaeger binary, built with Go the first time; instant afterwards."""
    binary = jaeger_binary()
    if os.access(binary, os.X_OK):
        return binary
    go = go_binary(f"Jaeger {VERSION}", MIN_GO, JaegerUnavailable)
    home = binary.parent
    home.mkdir(parents=True, exist_ok=True)
    with file_lock(home / ".lock"):
        if os.access(binary, os.X_OK):  # another process built it while this one waited
            return binary
        if not quiet:
            print(f"==> building Jaeger {VERSION} with Go into {home} (first time only: about 5 minutes)",
                  file=sys.stderr, flush=True)
        scratch = home / f"module.partial-{os.getpid()}"
        scratch.mkdir()
        env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false", "GOWORK": "off"}
        try:
            _run(go, ["mod", "init", "mkt.local/jaeger-build"], scratch, env)
            _run(go, ["get", "-tool", f"{PACKAGE}@{VERSION}"], scratch, env)
            built = scratch / "jaeger"
            _run(go, ["build", "-trimpath", f"-ldflags={LDFLAGS}", "-o", str(built), PACKAGE], scratch, env)
            built.rename(binary)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return binary


def main(argv: list[str]) -> int:
    try:
        binary = ensure_installed()
    except JaegerUnavailable as error:
        print(f"jaeger: {error}", file=sys.stderr)
        return 1
    if argv == ["--install"]:
        return 0
    if not argv:
        print(binary)
        return 0
    os.execv(binary, [str(binary), *argv])
    return 1  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
