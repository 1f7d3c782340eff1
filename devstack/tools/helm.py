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

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from devstack.processes import cache_home, file_lock, go_binary

VERSION = "v4.3.2"
MODULE = "helm.sh/helm/v4"
PACKAGE = f"{MODULE}/cmd/helm"
HOME_VARIABLE = "MKT_HELM_HOME"
MIN_GO = (1, 21)  # from 1.21 on, `go` fetches the toolchain Helm's go.mod asks for by itself
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


def helm_home() -> Path:
    return cache_home(HOME_VARIABLE, f"helm-{VERSION}")


def helm_binary() -> Path:
    """One folder per set of build flags, so a change of flags builds anew instead of reusing."""
    digest = hashlib.sha256(LDFLAGS.encode()).hexdigest()[:12]
    return helm_home() / digest / "helm"


def ensure_installed(quiet: bool = False) -> Path:
    """The helm binary, built with `go install` the first time; instant afterwards."""
    binary = helm_binary()
    if os.access(binary, os.X_OK):
        return binary
    go = go_binary(f"Helm {VERSION}", MIN_GO, HelmUnavailable)
    home = binary.parent
    home.mkdir(parents=True, exist_ok=True)
    with file_lock(home / ".lock"):
        if os.access(binary, os.X_OK):  # another process built it while this one waited
            return binary
        if not quiet:
            print(f"==> building Helm {VERSION} with Go into {home} (first time only: a few minutes)",
                  file=sys.stderr, flush=True)
        staging = home / f"gobin.partial-{os.getpid()}"
        staging.mkdir()
        env = {**os.environ, "CGO_ENABLED": "0", "GOBIN": str(staging), "GOFLAGS": "-buildvcs=false"}
        try:
            result = subprocess.run([go, "install", "-trimpath", f"-ldflags={LDFLAGS}", f"{PACKAGE}@{VERSION}"],
                                    cwd=home, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
            built = staging / "helm"
            if result.returncode != 0 or not built.exists():
                output = "\n".join((result.stdout + result.stderr).strip().splitlines()[-20:])
                raise HelmUnavailable(f"`go install {PACKAGE}@{VERSION}` failed (exit {result.returncode}):\n{output}")
            built.rename(binary)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return binary






def main(argv: list[str]) -> int:
    try:
        binary = ensure_installed()
    except HelmUnavailable as error:
        print(f"helm: {error}", file=sys.stderr)
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
