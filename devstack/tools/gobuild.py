"""Tools built once from the Go module proxy into a cache outside the repo (Helm, Jaeger, VictoriaLogs).

Each lands in ~/.cache/marketing-platform/<folder>-VERSION/<digest of the build flags>/<binary> (or
$<HOME_VARIABLE>/<digest>/<binary>): one folder per set of build flags, so a change of flags builds anew
instead of reusing. A built tool is found with one stat, no Go needed then. Builds run under a lock, so
two checkouts never build one tool at once, and in a staging folder, so a failed build leaves nothing.

Three ways to build: `go install PACKAGE@VERSION` (the module builds on its own); for a module whose
go.mod has `replace` directives that `go install` refuses, a scratch module that takes the package as a
Go tool (`go get -tool`) and `go build`s it; or a wrapper module of the project's own (WrapperGoTool:
go.mod and main packages written into the staging folder, `go mod tidy`, `go build`), whose files'
hash joins the build flags in the digest.

`separate_cache=True` builds with GOCACHE in the tool's folder (<home>/go-build) instead of the user's
build cache: several gigabytes for large tools, which `prune_build_cache()` removes once built."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from devstack.processes import cache_home, file_lock, go_binary

MIN_GO = (1, 21)  # from 1.21 on, `go` fetches the toolchain a module's go.mod asks for by itself


@dataclass(frozen=True)
class GoTool:
    title: str  # "Helm v4.3.2" as messages say it
    package: str  # the main package
    version: str
    folder: str  # the cache folder's name before -VERSION
    binary_name: str
    home_variable: str
    unavailable: type[Exception]  # the tool's own "cannot be had" error
    ldflags: str = "-s -w"
    as_go_tool: bool = False  # build through a scratch module (`go get -tool`) instead of `go install`
    first_build: str = "first time only"  # how long the first build takes, for the message
    separate_cache: bool = False  # GOCACHE in <home>/go-build (pruned by prune_build_cache) instead of the user's

    def home(self) -> Path:
        return cache_home(self.home_variable, f"{self.folder}-{self.version}")

    def digest(self) -> str:
        """Names the build's folder: what, besides the version, makes the binary (the build flags)."""
        return hashlib.sha256(self.ldflags.encode()).hexdigest()[:12]

    def binary(self) -> Path:
        return self.home() / self.digest() / self.binary_name

    def build_cache(self) -> Path:
        return self.home() / "go-build"

    def prune_build_cache(self) -> None:
        """Removes the tool's own Go build cache (separate_cache): the binary is all that is kept."""
        if self.separate_cache:
            shutil.rmtree(self.build_cache(), ignore_errors=True)

    def installed(self) -> Path | None:
        """The binary when it is built, else None (nothing is built)."""
        binary = self.binary()
        return binary if os.access(binary, os.X_OK) else None

    def ensure_installed(self, quiet: bool = False) -> Path:
        """The binary, built with Go the first time; instant afterwards."""
        binary = self.binary()
        if os.access(binary, os.X_OK):
            return binary
        go = go_binary(self.title, MIN_GO, self.unavailable)
        folder = binary.parent
        folder.mkdir(parents=True, exist_ok=True)
        with file_lock(folder / ".lock"):
            if os.access(binary, os.X_OK):  # another process built it while this one waited
                return binary
            if not quiet:
                print(f"==> building {self.title} with Go into {folder} ({self.first_build})",
                      file=sys.stderr, flush=True)
            staging = folder / f"build.partial-{os.getpid()}"
            staging.mkdir()
            env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false", "GOWORK": "off"}
            if self.separate_cache:
                env["GOCACHE"] = str(self.build_cache())
            try:
                built = staging / self.binary_name
                self._build(go, staging, built, env)
                if not built.exists():
                    raise self.unavailable(f"building {self.package}@{self.version} left no {self.binary_name}")
                built.rename(binary)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        return binary

    def _build(self, go: str, staging: Path, built: Path, env: dict[str, str]) -> None:
        """Builds the binary into `built` (inside the empty folder `staging`); raises `unavailable`."""
        if self.as_go_tool:
            self._go(go, ["mod", "init", f"mkt.local/{self.folder}-build"], staging, env)
            self._go(go, ["get", "-tool", f"{self.package}@{self.version}"], staging, env)
            self._go(go, ["build", "-trimpath", f"-ldflags={self.ldflags}", "-o", str(built), self.package],
                     staging, env)
        else:
            self._go(go, ["install", "-trimpath", f"-ldflags={self.ldflags}", f"{self.package}@{self.version}"],
                     staging.parent, {**env, "GOBIN": str(staging)})

    def _go(self, go: str, args: list[str], cwd: Path, env: dict[str, str]) -> None:
        result = subprocess.run([go, *args], cwd=cwd, env=env, capture_output=True, text=True,
                                stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            output = "\n".join((result.stdout + result.stderr).strip().splitlines()[-20:])
            raise self.unavailable(f"`go {' '.join(args)}` failed (exit {result.returncode}):\n{output}")

    def main(self, argv: list[str]) -> int:
        """`python -m <module> [--install | ARGS...]`: build if missing; then nothing, print the path, or run it."""
        try:
            binary = self.ensure_installed()
        except self.unavailable as error:
            print(f"{self.binary_name}: {error}", file=sys.stderr)
            return 1
        if argv == ["--install"]:
            return 0
        if not argv:
            print(binary)
            return 0
        os.execv(binary, [str(binary), *argv])
        return 1  # not reached


@dataclass(frozen=True)
class WrapperGoTool(GoTool):
    """A tool built from a wrapper module of the project's own: `files` (path -> text: go.mod and one or
    more main packages) are written into the staging folder, `go mod tidy` completes go.mod, and
    `go build` builds `package` (a path inside the wrapper, "./cmd/kube-apiserver"). The digest covers
    the files as well as the build flags, so an edit of the wrapper builds anew. `before_build(go,
    staging, env)`, when given, runs after tidy (a check of what was downloaded, say)."""

    files: tuple[tuple[str, str], ...] = ()
    before_build: Callable[[str, Path, dict[str, str]], None] | None = field(default=None, compare=False)

    def digest(self) -> str:
        hasher = hashlib.sha256(self.ldflags.encode())
        for path, text in sorted(self.files):
            hasher.update(f"\0{path}\0{text}".encode())
        return hasher.hexdigest()[:12]

    def _build(self, go: str, staging: Path, built: Path, env: dict[str, str]) -> None:
        module = staging / "module"
        for path, text in self.files:
            target = module / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        self._go(go, ["mod", "tidy"], module, env)
        if self.before_build is not None:
            self.before_build(go, module, env)
        self._go(go, ["build", "-trimpath", f"-ldflags={self.ldflags}", "-o", str(built), self.package], module, env)
