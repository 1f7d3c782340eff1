"""Helm, built once from the Go module proxy into a cache outside the repo.

    python -m devstack.tools.helm --install     # builds it if missing (devstack/install.sh test runs this)
    python -m devstack.tools.helm               # builds it if missing, prints its path
    python -m devstack.tools.helm ARGS...       # runs it (`python -m devstack.tools.helm template helm/marketing-platform`)

`go install helm.sh/helm/v4/cmd/helm@VERSION` (an approved Helm release; its go.mod may ask for a
newer Go, which a Go 1.21+ toolchain fetches by itself) into ~/.cache/marketing-platform/helm-VERSION/<digest of the build
flags>/helm, or $MKT_HELM_HOME/<digest>/helm. A build that is there is found with one stat: no Go
needed then. The first build fetches Helm's modules (Kubernetes client libraries) and took about
6 minutes on two cores; it runs under a lock, so two checkouts never build it at once.

In code: `ensure_installed()` returns the binary's path or raises HelmUnavailable saying why."""

from __future__ import annotations

import sys
from pathlib import Path

from devstack.tools.gobuild import GoTool

VERSION = "v4.3.2"
MODULE = "helm.sh/helm/v4"
PACKAGE = f"{MODULE}/cmd/helm"
HOME_VARIABLE = "MKT_HELM_HOME"
# Kubernetes version Helm assumes without a cluster (`helm template`, `helm lint`): that of the
# client-go Helm VERSION is built with (v0.37 -> 1.37), as Helm's own Makefile stamps it. Without
# these flags `go install` leaves 1.20, and a chart needing a newer Kubernetes does not render.
K8S_MAJOR, K8S_MINOR = "1", "37"
LDFLAGS = " ".join([
    "-s", "-w",
    f"-X {MODULE}/internal/version.version={VERSION}",
    *(f"-X {MODULE}/{package}.k8sVersion{part}={value}"
      for package in ("pkg/chart/common/util", "pkg/chart/v2/lint/rules", "internal/chart/v3/lint/rules")
      for part, value in (("Major", K8S_MAJOR), ("Minor", K8S_MINOR))),
])


class HelmUnavailable(RuntimeError):
    """Helm cannot be had here; the message says why and what to do."""


TOOL = GoTool(f"Helm {VERSION}", PACKAGE, VERSION, "helm", "helm", HOME_VARIABLE, HelmUnavailable, LDFLAGS,
              first_build="first time only: a few minutes")


def ensure_installed(quiet: bool = False) -> Path:
    """The helm binary, built with `go install` the first time; instant afterwards."""
    return TOOL.ensure_installed(quiet)


if __name__ == "__main__":
    sys.exit(TOOL.main(sys.argv[1:]))
