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

import sys
from pathlib import Path

from devstack.tools.gobuild import GoTool

VERSION = "v1.75.0"  # the Go module version of Jaeger v2.x (cmd/jaeger is the v2 collector-based binary)
MODULE = "github.com/jaegertracing/jaeger"
PACKAGE = f"{MODULE}/cmd/jaeger"
HOME_VARIABLE = "MKT_JAEGER_HOME"
LDFLAGS = "-s -w"


class JaegerUnavailable(RuntimeError):
    """Jaeger cannot be had here; the message says why and what to do."""


TOOL = GoTool(f"Jaeger {VERSION}", PACKAGE, VERSION, "jaeger", "jaeger", HOME_VARIABLE, JaegerUnavailable, LDFLAGS,
              as_go_tool=True, first_build="first time only: about 5 minutes")


def installed() -> Path | None:
    return TOOL.installed()


def ensure_installed(quiet: bool = False) -> Path:
    """The jaeger binary, built with Go the first time; instant afterwards."""
    return TOOL.ensure_installed(quiet)


if __name__ == "__main__":
    sys.exit(TOOL.main(sys.argv[1:]))
