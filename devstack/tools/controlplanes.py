"""The Kubernetes and Istio control planes of the cluster tests, built once from the Go module proxy into a
cache outside the repo (like Helm: devstack/tools/gobuild.py).

    python -m devstack.tools.controlplanes --install   # builds what is missing (devstack/install.sh test runs this)
    python -m devstack.tools.controlplanes             # prints each tool's path (or "not built")

- etcd, from go.etcd.io/etcd/server/v3 v3.7.3: a wrapper module whose main calls `etcdmain.Main(os.Args)`;
- kube-apiserver and kube-controller-manager, from k8s.io/kubernetes v1.37.2: one wrapper module requiring it
  and replacing each `k8s.io/*` staging module its go.mod replaces with the published v0.37.2; the mains are
  those of its `cmd/kube-apiserver` and `cmd/kube-controller-manager`, version stamped by ldflags;
- pilot-discovery (istiod) and istioctl, from istio.io/istio at the pseudo-version the proxy serves:
  `go install` (the module has no replace directives).

Each lands in ~/.cache/marketing-platform/<folder>-VERSION/<digest>/<binary> ($MKT_KUBE_HOME, $MKT_ETCD_HOME,
$MKT_ISTIO_HOME instead when set), the digest covering the wrapper module's files and the build flags.
Builds use a Go build cache of their own in <home>/go-build, removed once every binary of that home is
built, so what stays is the binaries (~0.5 GB) and the user's module cache (~1.7 GB). The first build
of all of them takes about 13 minutes of compiling on two cores and ~8 GB of disk while it runs; found
with one stat each afterwards (no Go needed then).

In code: `TOOLS` (name -> GoTool), `installed(name)` (path or None), `ensure_installed(*names)`."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

from devstack.tools.gobuild import GoTool, WrapperGoTool


class ControlPlaneUnavailable(RuntimeError):
    """A control-plane binary cannot be built here; the message says why and what to do."""


# -- etcd ------------------------------------------------------------------------------------------------

ETCD_VERSION = "v3.7.3"
ETCD_FILES = (
    ("go.mod", f"""module mkt.local/etcd-build

go 1.26.0

require go.etcd.io/etcd/server/v3 {ETCD_VERSION}
"""),
    ("main.go", """// etcd built from go.etcd.io/etcd/server/v3 (the marketing platform's cluster tests).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
"""),
)

# -- Kubernetes ------------------------------------------------------------------------------------------

KUBE_VERSION = "v1.37.2"
KUBE_STAGING_VERSION = "v0.37.2"  # the staging modules' tag that goes with KUBE_VERSION
KUBE_MAJOR, KUBE_MINOR = "1", "37"
# Every `k8s.io/X => ./staging/src/k8s.io/X` replace of k8s.io/kubernetes' go.mod at KUBE_VERSION; the build
# checks the downloaded go.mod names exactly these (a new version may add one).
KUBE_STAGING = (
    "api", "apiextensions-apiserver", "apimachinery", "apiserver", "cli-runtime", "client-go", "cloud-provider",
    "cluster-bootstrap", "code-generator", "component-base", "component-helpers", "controller-manager", "cri-api",
    "cri-client", "cri-streaming", "csi-translation-lib", "dynamic-resource-allocation", "endpointslice",
    "externaljwt", "kms", "kube-aggregator", "kube-controller-manager", "kube-proxy", "kube-scheduler", "kubectl",
    "kubelet", "metrics", "mount-utils", "pod-security-admission", "sample-apiserver", "sample-cli-plugin",
    "sample-controller", "streaming",
)
_KUBE_MAIN = """// {name} {version}, as k8s.io/kubernetes' cmd/{name}/ builds it (the marketing platform's cluster tests).
package main

import (
	"os"
	_ "time/tzdata" // time zones (CronJob)

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // the JSON log format
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go's metrics
	_ "k8s.io/component-base/metrics/prometheus/version"  // the version metric

	"k8s.io/kubernetes/cmd/{name}/app"
)

func main() {{
	os.Exit(cli.Run(app.{constructor}()))
}}
"""
KUBE_FILES = (
    ("go.mod", f"""module mkt.local/kubernetes-build

go 1.26.0

require k8s.io/kubernetes {KUBE_VERSION}

replace (
""" + "".join(f"\tk8s.io/{name} => k8s.io/{name} {KUBE_STAGING_VERSION}\n" for name in KUBE_STAGING) + ")\n"),
    ("cmd/kube-apiserver/main.go",
     _KUBE_MAIN.format(name="kube-apiserver", version=KUBE_VERSION, constructor="NewAPIServerCommand")),
    ("cmd/kube-controller-manager/main.go",
     _KUBE_MAIN.format(name="kube-controller-manager", version=KUBE_VERSION,
                       constructor="NewControllerManagerCommand")),
)
_VERSION_PACKAGE = "k8s.io/component-base/version"
KUBE_LDFLAGS = " ".join([
    "-s", "-w",
    # without these the binaries report v0.0.0-master (and clients warn of a version skew)
    f"-X {_VERSION_PACKAGE}.gitVersion={KUBE_VERSION}",
    f"-X {_VERSION_PACKAGE}.gitMajor={KUBE_MAJOR}",
    f"-X {_VERSION_PACKAGE}.gitMinor={KUBE_MINOR}",
    f"-X {_VERSION_PACKAGE}.gitTreeState=clean",
])


def _check_kube_staging(go: str, module: Path, env: dict[str, str]) -> None:
    """The wrapper replaces exactly the staging modules k8s.io/kubernetes' own go.mod replaces."""
    result = subprocess.run([go, "list", "-m", "-f", "{{.GoMod}}", "k8s.io/kubernetes"], cwd=module, env=env,
                            capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise ControlPlaneUnavailable(f"`go list -m k8s.io/kubernetes` failed: {result.stderr.strip()}")
    text = Path(result.stdout.strip()).read_text()
    listed = set(re.findall(r"^\s*k8s\.io/([\w.-]+)\s*=>\s*\./staging/", text, re.MULTILINE))
    if listed != set(KUBE_STAGING):
        raise ControlPlaneUnavailable(
            f"k8s.io/kubernetes {KUBE_VERSION}'s go.mod replaces other staging modules than KUBE_STAGING in "
            f"{__file__}: missing {sorted(listed - set(KUBE_STAGING))}, extra {sorted(set(KUBE_STAGING) - listed)}")


# -- Istio -----------------------------------------------------------------------------------------------

ISTIO_MODULE = "istio.io/istio"
# The pseudo-version the Go module proxy serves for istio.io/istio (its release tags are not Go-module semver);
# its CRDs are those of Istio 1.30 (../shared/schemas/istio/crd-all-1.30.3.yaml).
ISTIO_VERSION = "v0.0.0-20260827124520-eed52ebb66ad"
ISTIO_LDFLAGS = f"-s -w -X {ISTIO_MODULE}/pkg/version.buildVersion={ISTIO_VERSION}"

# -- the tools -------------------------------------------------------------------------------------------

TOOLS: dict[str, GoTool] = {
    "etcd": WrapperGoTool(f"etcd {ETCD_VERSION}", ".", ETCD_VERSION, "etcd", "etcd", "MKT_ETCD_HOME",
                          ControlPlaneUnavailable, "-s -w", first_build="first time only: about 1.5 minutes",
                          separate_cache=True, files=ETCD_FILES),
    "kube-apiserver": WrapperGoTool(
        f"kube-apiserver {KUBE_VERSION}", "./cmd/kube-apiserver", KUBE_VERSION, "kubernetes", "kube-apiserver",
        "MKT_KUBE_HOME", ControlPlaneUnavailable, KUBE_LDFLAGS, first_build="first time only: about 6 minutes",
        separate_cache=True, files=KUBE_FILES, before_build=_check_kube_staging),
    "kube-controller-manager": WrapperGoTool(
        f"kube-controller-manager {KUBE_VERSION}", "./cmd/kube-controller-manager", KUBE_VERSION, "kubernetes",
        "kube-controller-manager", "MKT_KUBE_HOME", ControlPlaneUnavailable, KUBE_LDFLAGS,
        first_build="first time only: about 2 minutes after kube-apiserver", separate_cache=True, files=KUBE_FILES,
        before_build=_check_kube_staging),
    "pilot-discovery": GoTool(f"pilot-discovery (istiod) {ISTIO_VERSION}", f"{ISTIO_MODULE}/pilot/cmd/pilot-discovery",
                              ISTIO_VERSION, "istio", "pilot-discovery", "MKT_ISTIO_HOME", ControlPlaneUnavailable,
                              ISTIO_LDFLAGS, first_build="first time only: about 4 minutes", separate_cache=True),
    "istioctl": GoTool(f"istioctl {ISTIO_VERSION}", f"{ISTIO_MODULE}/istioctl/cmd/istioctl", ISTIO_VERSION, "istio",
                       "istioctl", "MKT_ISTIO_HOME", ControlPlaneUnavailable, ISTIO_LDFLAGS,
                       first_build="first time only: about 2 minutes after pilot-discovery", separate_cache=True),
}


def installed(name: str) -> Path | None:
    """The tool's binary when it is built, else None."""
    return TOOLS[name].installed()


def _prune() -> None:
    """Removes each home's own build cache once every tool built in that home is there."""
    homes: dict[Path, list[GoTool]] = {}
    for tool in TOOLS.values():
        homes.setdefault(tool.home(), []).append(tool)
    for tools in homes.values():
        if all(tool.installed() for tool in tools):
            tools[0].prune_build_cache()


def ensure_installed(*names: str, quiet: bool = False, report=None) -> dict[str, Path]:
    """The binaries of `names` (all when none), each built the first time; `report(name, seconds, path)`
    is called after each build. Raises ControlPlaneUnavailable saying why a build failed."""
    paths: dict[str, Path] = {}
    try:
        for name in names or tuple(TOOLS):
            tool = TOOLS[name]
            path = tool.installed()
            if path is None:
                began = time.monotonic()
                path = tool.ensure_installed(quiet)
                if report is not None:
                    report(name, time.monotonic() - began, path)
                _prune()
            paths[name] = path
    finally:
        _prune()
    return paths


def main(argv: list[str]) -> int:
    if argv == ["--install"]:
        def report(name: str, seconds: float, path: Path) -> None:
            size = path.stat().st_size / 1e6
            print(f"==> built {name} in {seconds / 60:.0f} min {seconds % 60:02.0f} s ({size:.0f} MB): {path}",
                  file=sys.stderr, flush=True)

        try:
            ensure_installed(report=report)
        except ControlPlaneUnavailable as error:
            print(f"controlplanes: {error}", file=sys.stderr)
            return 1
        return 0
    if argv:
        print("usage: python -m devstack.tools.controlplanes [--install]", file=sys.stderr)
        return 2
    missing = False
    for name, tool in TOOLS.items():
        path = tool.installed()
        missing |= path is None
        print(f"{name}\t{path or 'not built (python -m devstack.tools.controlplanes --install)'}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
