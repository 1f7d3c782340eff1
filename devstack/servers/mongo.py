"""Throwaway MongoDB-wire-protocol servers for tests and local development (there is no mongod here).

    python -m devstack.servers.mongo [nx|ferretdb]   # runs one in the foreground (default: nx), prints its URL
    python -m devstack.servers.mongo --install       # only builds the FerretDB binary (if needed), then exits

In code:

    with ThrowawayMongo("ferretdb") as server:                 # or "nx"
        client = pymongo.MongoClient(server.url)               # mongodb://127.0.0.1:PORT/

Two kinds, both keeping their data in SQLite files in a temporary folder that is deleted when they
stop, both on a free port of 127.0.0.1, both stopping by themselves when the process that started
them dies (their standard input is a pipe from it; they stop when it closes):

* "nx": NX-27017 0.8.1 (PyPI `nx-27017`, over `neosqlite`), a Python server from this project's
  environment. It runs the `nx-27017` console script's entry point (nx_27017.nx_27017:main) with the
  same interpreter, because nx-27017 has no quieter setting than its default INFO, at which it logs
  every generic command with all its arguments (-v only adds DEBUG): its loggers are set to WARNING
  (MKT_NX_LOG_LEVEL=INFO or DEBUG brings the chatter back), its own log file is /dev/null, its pid
  file is in the temporary folder (the default, /tmp/nx_27017.pid, would clash between servers) and
  its stderr goes to `log_path`.
* "ferretdb": FerretDB v1.24.2 (pure Go, SQLite backend) through the small wrapper module in
  devstack/servers/ferretdb/ (main.go calls the embeddable package github.com/FerretDB/FerretDB/ferretdb;
  `go install .../cmd/ferretdb@v1.24.2` builds a binary that panics at start on a missing version
  file). SQLite runs without fsync. It is built once with `go build` (Go 1.24 or newer; Debian
  bookworm's golang is 1.19, too old) into ~/.cache/marketing-platform/ferretdb-v1.24.2/<digest>/,
  or $MKT_FERRETDB_HOME/<digest>/, where <digest> is that of go.mod, go.sum, main.go and the build
  flags: a current build is found with one stat (no Go needed then), and checkouts with different
  sources never rebuild in turn. MKT_FERRETDB_LOG_LEVEL (debug, info, warn, error; default error:
  at warn it dumps every error reply, duplicate keys included) sets its log level.

Ready means: the process runs, the port accepts, `ping` answers and a trivial insert/find round trip
(in database mkt_probe, dropped afterwards) works. A server that does not get there raises
MongoUnavailable with the last lines of its log (the whole log is kept in
$TMPDIR/mkt-mongo-KIND-failed-start.log).

Measured on this workplace (2 vCPUs, Python 3.11, pymongo 4.20, neosqlite 1.17.2, Go 1.26):

                                        nx (nx-27017 0.8.1)      ferretdb (FerretDB v1.24.2)
    first build, cold Go caches         -                        84 s (fetches 628 MB of modules,
                                                                 fills 285 MB of build cache)
    rebuild after editing main.go       -                        ~3 s
    binary                              -                        21.4 MB (-trimpath -s -w, no PostgreSQL
                                                                 backend), reproducible
    start() until ready                 0.52-0.58 s              0.03 s
    RSS after start                     33 MB                    20 MB
    insert_many of 100,000 small docs   15.3 s (6,500/s)         3.2 s (31,600/s)
    RSS after that                      162 MB                   151 MB
    10,000 upserts in one bulk_write    2.1 s keyed by _id,      ~230 s keyed by _id (1,000: 1.8 s):
                                        77 s keyed by fields     every query scans the collection
    streaming 50,000 docs (projection)  2.4 s                    3.5 s

What each server gets wrong or does not do is written down in tests/contract/test_mongo_servers.py;
the worst: FerretDB never answers an update command with 100 or more UpdateOne/ReplaceOne statements
that match documents (bulk_write sends them all in one), and nx ignores $setOnInsert in
find_one_and_update and does not implement $not.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from devstack.processes import cache_home, file_lock, go_binary, tail
from devstack.servers.lifecycle import LaunchedServer, ServerUnavailable, run_in_foreground

KINDS = ("nx", "ferretdb")
SOURCE_DIR = Path(__file__).resolve().parent / "ferretdb"
GO_SOURCES = ("go.mod", "go.sum", "main.go")
HOME_VARIABLE = "MKT_FERRETDB_HOME"
FERRETDB_LOG_LEVEL_VARIABLE = "MKT_FERRETDB_LOG_LEVEL"
NX_LOG_LEVEL_VARIABLE = "MKT_NX_LOG_LEVEL"
BINARY = "ferretdb"
BUILD_RETENTION_DAYS = 30
# No PostgreSQL backend (only SQLite is used): a smaller binary and a shorter build.
BUILD_FLAGS = ["-mod=readonly", "-trimpath", "-buildvcs=false", "-tags=ferretdb_no_postgresql", "-ldflags=-s -w"]
MIN_GO = (1, 21)  # from 1.21 on, `go` fetches the toolchain go.mod asks for (1.24) by itself
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
PROBE_DATABASE = "mkt_probe"

# nx-27017 started with its logging turned down; the level is the first argument.
# It also stops when its standard input closes: the process that started it is gone, even if killed.
_NX_LAUNCHER = """\
import logging, os, signal, sys, threading
logging.basicConfig(level=sys.argv.pop(1).upper(), stream=sys.stderr,
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
def _stop_at_stdin_eof():
    sys.stdin.buffer.read()
    os.kill(os.getpid(), signal.SIGTERM)
threading.Thread(target=_stop_at_stdin_eof, daemon=True).start()
from nx_27017.nx_27017 import main
sys.argv[0] = "nx-27017"
sys.exit(main())
"""


class MongoUnavailable(ServerUnavailable):
    """The throwaway server cannot be built or started here; the message says why and what to do."""


# -- building FerretDB --------------------------------------------------------------------------------


def ferretdb_version() -> str:
    try:
        go_mod = (SOURCE_DIR / "go.mod").read_text()
    except OSError as error:
        raise MongoUnavailable(f"the FerretDB wrapper's sources are missing: {error}") from None
    match = re.search(r"^\s*(?:require\s+)?github\.com/FerretDB/FerretDB\s+(v\S+)", go_mod, re.M)
    if not match:
        raise MongoUnavailable(f"no github.com/FerretDB/FerretDB requirement in {SOURCE_DIR / 'go.mod'}")
    return match.group(1)


def ferretdb_home() -> Path:
    """The cache of FerretDB builds: one subfolder per digest of the wrapper's sources and build flags."""
    return cache_home(HOME_VARIABLE, f"ferretdb-{ferretdb_version()}")


def _source_digest() -> str:
    digest = hashlib.sha256(" ".join(BUILD_FLAGS).encode())
    for name in GO_SOURCES:
        digest.update(b"\0" + name.encode() + b"\0" + (SOURCE_DIR / name).read_bytes())
    return digest.hexdigest()


def ferretdb_binary() -> Path:
    """Where the build of the current sources is (or will be)."""
    return ferretdb_home() / _source_digest()[:16] / BINARY


def ensure_installed(quiet: bool = False) -> Path:
    """The FerretDB wrapper binary, built with Go the first time (about 1.5 minutes); instant afterwards.

    Builds of other sources (another checkout, an older commit) stay beside it, so two checkouts never
    rebuild in turn nor swap the binary under each other; those unused for BUILD_RETENTION_DAYS go.
    """
    binary = ferretdb_binary()
    if os.access(binary, os.X_OK):
        _mark_used(binary.parent)
        return binary
    go = go_binary("the FerretDB server", MIN_GO, MongoUnavailable)
    binary.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(binary.parent / ".lock"):
        if os.access(binary, os.X_OK):  # another process built it while this one waited
            return binary
        if not quiet:
            print(f"==> building FerretDB {ferretdb_version()} (devstack/servers/ferretdb) with Go into {binary.parent} "
                  f"(first time only: about 1.5 minutes)", file=sys.stderr, flush=True)
        staging = binary.with_name(f"{BINARY}.partial-{os.getpid()}")
        env = {**os.environ, "CGO_ENABLED": "0"}
        try:
            result = subprocess.run([go, "build", *BUILD_FLAGS, "-o", str(staging), "."], cwd=SOURCE_DIR, env=env,
                                    capture_output=True, text=True, stdin=subprocess.DEVNULL)
            if result.returncode != 0 or not staging.exists():
                output = "\n".join((result.stdout + result.stderr).strip().splitlines()[-20:])
                raise MongoUnavailable(f"`go build` of the FerretDB wrapper in {SOURCE_DIR} failed "
                                       f"(exit {result.returncode}):\n{output}")
            staging.rename(binary)
        finally:
            staging.unlink(missing_ok=True)
    _mark_used(binary.parent)
    _prune_old_builds(binary.parent)
    return binary


def _mark_used(build: Path) -> None:
    stamp = build / ".used"
    with contextlib.suppress(OSError):
        if time.time() - stamp.stat().st_mtime < 86400:
            return
    with contextlib.suppress(OSError):
        stamp.touch()


def _prune_old_builds(keep: Path) -> None:
    for build in keep.parent.iterdir():
        if build == keep or not build.is_dir():
            continue
        try:
            unused_for = time.time() - (build / ".used").stat().st_mtime
        except OSError:
            continue  # not a build folder, or one being made
        if unused_for > BUILD_RETENTION_DAYS * 86400:
            shutil.rmtree(build, ignore_errors=True)






# -- the server ---------------------------------------------------------------------------------------


def server_url(port: int, host: str = "127.0.0.1") -> str:
    return f"mongodb://{host}:{port}/"


class ThrowawayMongo(LaunchedServer):
    """A MongoDB-wire-protocol server ("nx" or "ferretdb") in a temporary folder, on a free port of 127.0.0.1."""

    log_name = "server.log"
    stop_timeout = STOP_TIMEOUT

    def __init__(self, kind: str = "nx", ready_timeout: float = READY_TIMEOUT):
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        super().__init__()
        self.kind = kind
        self.folder_prefix = f"mkt-mongo-{kind}-"
        self.ready_timeout = ready_timeout
        self.port: int | None = None

    # -- public ---------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the server is not running; call start() or use it as a context manager")
        return server_url(self.port)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None and self.port is not None

    @property
    def failed_start_log(self) -> Path:
        return Path(tempfile.gettempdir()) / f"mkt-mongo-{self.kind}-failed-start.log"

    # -- internals ------------------------------------------------------------------------------------

    def _prepare(self) -> list[str]:
        return self._command_prefix()  # builds FerretDB if needed; checks nx-27017 is installed

    def _set_ports(self, ports: tuple[int, ...] | None) -> None:
        self.port = ports[0] if ports else None

    def _command_prefix(self) -> list[str]:
        if self.kind == "ferretdb":
            level = os.environ.get(FERRETDB_LOG_LEVEL_VARIABLE, "error")
            return [str(ensure_installed()), "-log-level", level]
        if importlib.util.find_spec("nx_27017") is None:
            raise MongoUnavailable(f"nx-27017 is not installed in this Python environment ({sys.executable}): "
                                   f"run `uv sync` (it is a dependency in pyproject.toml)")
        level = os.environ.get(NX_LOG_LEVEL_VARIABLE, "WARNING")
        return [sys.executable, "-c", _NX_LAUNCHER, level]

    def _launch(self, command: list[str], port: int) -> None:
        assert self.folder is not None
        data = self.folder / "data"
        data.mkdir(exist_ok=True)
        if self.kind == "ferretdb":
            arguments = ["-listen", f"127.0.0.1:{port}", "-data-dir", str(data), "-stdin-eof-stops"]
        else:
            arguments = ["--data-dir", str(data), "--host", "127.0.0.1", "-p", str(port),
                         "--log-file", os.devnull, "--pid-file", str(self.folder / "nx.pid")]
        with open(self.log_path, "ab") as log:
            # Its own session: a Ctrl-C in the terminal reaches Python, which then stops the server.
            # Its standard input is a pipe nobody writes to: the server stops when that closes, so it
            # does not outlive this process even when this one is killed.
            self.process = subprocess.Popen([*command, *arguments], cwd=self.folder, stdin=subprocess.PIPE,
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def _wait_until_ready(self, port: int) -> None:
        import pymongo
        from pymongo.errors import PyMongoError

        deadline = time.monotonic() + self.ready_timeout
        last = "no answer yet"
        client = None
        try:
            while time.monotonic() < deadline:
                assert self.process is not None
                code = self.process.poll()
                if code is not None:
                    raise MongoUnavailable(f"the {self.kind} server exited with code {code} while starting; "
                                           f"the last lines of its log:\n{tail(self.log_path)}")
                if client is None:
                    # A plain connect first: a client made before the server listens retries only every 0.5 s.
                    try:
                        socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    except OSError as error:
                        last = f"connect: {error}"
                        time.sleep(0.02)
                        continue
                    client = pymongo.MongoClient(server_url(port), serverSelectionTimeoutMS=1000,
                                                 connectTimeoutMS=1000, socketTimeoutMS=10000)
                try:
                    client.admin.command("ping")
                    probe = client[PROBE_DATABASE]["probe"]
                    probe.insert_one({"_id": "probe", "n": 1})
                    found = probe.find_one({"_id": "probe"})
                    if found != {"_id": "probe", "n": 1}:
                        raise MongoUnavailable(f"the {self.kind} server answered the probe's find with {found!r}")
                    client.drop_database(PROBE_DATABASE)
                    return
                except PyMongoError as error:  # not finished starting
                    last = f"{type(error).__name__}: {str(error)[:300]}"
                time.sleep(0.05)
        finally:
            if client is not None:
                client.close()
        raise MongoUnavailable(f"the {self.kind} server was not ready after {self.ready_timeout:.0f} s ({last}); "
                               f"the last lines of its log:\n{tail(self.log_path)}")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args not in ([], ["--install"], *[[kind] for kind in KINDS]):
        print(f"usage: python -m devstack.servers.mongo [{'|'.join(KINDS)}] | --install", file=sys.stderr)
        return 2
    if args == ["--install"]:
        try:
            print(ensure_installed())
        except MongoUnavailable as error:
            print(f"cannot install FerretDB: {error}", file=sys.stderr)
            return 1
        return 0
    kind = args[0] if args else KINDS[0]

    def announce(server: ThrowawayMongo) -> None:
        print(server.url, flush=True)
        print(f"{kind} server ready in {server.startup_seconds:.2f} s; log in {server.log_path}; "
              f"Ctrl-C stops it and deletes its data", file=sys.stderr, flush=True)

    return run_in_foreground(ThrowawayMongo(kind).start, f"the {kind} server", announce)


if __name__ == "__main__":
    sys.exit(main())
