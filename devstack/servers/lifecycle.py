"""The lifecycle every throwaway server shares, written once: start until ready or
fail leaving nothing behind, stop at any time (and at exit), use as a context
manager, and run in the foreground until Ctrl-C.

* ThrowawayServer: start()/stop()/with, stopped at interpreter exit.
* LaunchedServer: a child process in a temporary folder on free ports, retried on
  other ports when one was taken meanwhile, its log kept when it fails to start
  (the MongoDB-wire servers and Pulsar).
* SinkProcess, sink_main and serve_until_signalled: the local SMTP and provider sinks
  as child processes, their shared `python -m` entry point and serving loop.
* run_in_foreground: the `python -m devstack.servers.<server>` loop.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from devstack.processes import free_port, interrupt, stop_process, tail, wait_for_port

START_ATTEMPTS = 3


class ServerUnavailable(RuntimeError):
    """A throwaway server cannot be installed or started here; the message says why and what to do."""


class ThrowawayServer:
    """Subclasses implement `running`, `_start()` (ready when it returns; on failure it raises
    ServerUnavailable having cleaned up) and `_stop()` (idempotent)."""

    @property
    def running(self) -> bool:
        raise NotImplementedError

    def _start(self) -> None:
        raise NotImplementedError

    def _stop(self) -> None:
        raise NotImplementedError

    def start(self):
        if self.running:
            return self
        self._start()
        atexit.register(self.stop)
        return self

    def stop(self) -> None:
        self._stop()
        atexit.unregister(self.stop)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class LaunchedServer(ThrowawayServer):
    """A server process in a temporary folder. Subclasses set `folder_prefix`, `log_name` and
    implement `_prepare()` (install or build; returns the command prefix), `_pick_ports()`,
    `_launch(command, *ports)` (sets `self.process`), `_wait_until_ready(*ports)` (raises
    ServerUnavailable), `_set_ports(ports)` (None: stopped) and `failed_start_log`."""

    folder_prefix = "mkt-server-"
    log_name = "server.log"
    stop_timeout = 10.0

    def __init__(self) -> None:
        self.folder: Path | None = None
        self.process: subprocess.Popen | None = None
        self.startup_seconds: float | None = None  # from launch to ready (an install or build not included)
        self.exit_code: int | None = None  # the process's, once stopped

    # -- what subclasses provide ------------------------------------------------------------------------

    @property
    def failed_start_log(self) -> Path:
        raise NotImplementedError

    def _prepare(self) -> list[str]:
        raise NotImplementedError

    def _pick_ports(self) -> tuple[int, ...]:
        return (free_port(),)

    def _launch(self, command: list[str], *ports: int) -> None:
        raise NotImplementedError

    def _wait_until_ready(self, *ports: int) -> None:
        raise NotImplementedError

    def _set_ports(self, ports: tuple[int, ...] | None) -> None:
        raise NotImplementedError

    # -- the lifecycle ----------------------------------------------------------------------------------

    @property
    def log_path(self) -> Path:
        if self.folder is None:
            raise RuntimeError("the server is not running; call start() or use it as a context manager")
        return self.folder / self.log_name

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def _start(self) -> None:
        command = self._prepare()
        began = time.monotonic()
        self.folder = Path(tempfile.mkdtemp(prefix=self.folder_prefix))
        try:
            for attempt in range(START_ATTEMPTS):
                ports = self._pick_ports()
                self._launch(command, *ports)
                try:
                    self._wait_until_ready(*ports)
                except ServerUnavailable:
                    log = tail(self.log_path, 200).lower()
                    self._kill()
                    # Another process may have taken a port between the probe and the bind: try others.
                    if "address already in use" in log and attempt < START_ATTEMPTS - 1:
                        continue
                    raise
                self._set_ports(ports)
                break
        except BaseException as error:
            self._kill()
            if isinstance(error, ServerUnavailable) and self.log_path.exists():
                # The temporary folder goes, the log of the failed start stays.
                with contextlib.suppress(OSError):
                    self.failed_start_log.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(self.log_path, self.failed_start_log)
                    error.args = (f"{error.args[0]}\n(the whole log is kept in {self.failed_start_log})",)
            self._remove_folder()
            raise
        self.startup_seconds = time.monotonic() - began

    def _stop(self) -> None:
        """SIGTERM, SIGKILL if it takes longer than `_stop_timeout()`; then the data is deleted."""
        self._kill(graceful=True)
        self._set_ports(None)
        self._remove_folder()

    def _stop_timeout(self) -> float:
        return self.stop_timeout

    def _kill(self, graceful: bool = False) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if graceful:
            stop_process(process, self._stop_timeout())
        elif process.poll() is None:
            process.kill()
        self.exit_code = process.wait()
        if process.stdin is not None:
            process.stdin.close()

    def _remove_folder(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


def run_in_foreground(start: Callable[[], Any], what: str, announce: Callable[[Any], None]) -> int:
    """`python -m devstack.servers.<server>`: starts it, `announce`s it, runs until Ctrl-C or
    SIGTERM (0) or until it stops by itself (1, with the end of its log), and stops it."""
    try:
        server = start()
    except ServerUnavailable as error:
        print(f"cannot start {what}: {error}", file=sys.stderr)
        return 1
    # Ctrl-C, and SIGTERM alike, stop it cleanly (also when started in the background, where
    # a shell may have ignored SIGINT).
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, interrupt)
    try:
        announce(server)
        while server.running:
            time.sleep(1)
        print(f"{what} stopped by itself; last lines of its log:\n{tail(server.log_path)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        server.stop()


class SinkProcess:
    """A sink (`module`, run with `python -m`) as a child process of tests and benchmarks,
    keeping what it receives in `store`; its output goes to `log_name` beside the store."""

    module = ""
    log_name = "sink.log"

    def __init__(self, store: Path, port: int = 0, host: str = "127.0.0.1"):
        self.store = store
        self.host = host
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 15.0):
        self.store.parent.mkdir(parents=True, exist_ok=True)
        with open(self.store.parent / self.log_name, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", self.module, "--host", self.host, "--port", str(self.port),
                 "--store", str(self.store)], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            wait_for_port(self.host, self.port, timeout, self.process)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def sink_main(argv: list[str] | None, name: str, description: str, port_variable: str, default_port: int,
              default_store: Callable[[], Path], serve: Callable[[str, int, Path], Coroutine]) -> int:
    """`python -m devstack.servers.<sink> [--host H] [--port P] [--store FILE]`: the port from
    --port, else `port_variable`, else `default_port`; exit 2 on a bad setting, 1 when the port is taken."""
    parser = argparse.ArgumentParser(prog=f"python -m devstack.servers.{name}", description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default=os.environ.get("MKT_BIND_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--store", type=Path)
    args = parser.parse_args(argv)
    port = args.port
    if not port:
        from svc_kit.config import ConfigError, EnvReader

        try:
            port = EnvReader(os.environ).port(port_variable, default_port)
        except ConfigError as error:
            print(f"{name}: configuration error: {error}", file=sys.stderr)
            return 2
    try:
        asyncio.run(serve(args.host, port, args.store or default_store()))
    except OSError as error:
        print(f"{name}: cannot listen on {args.host}:{port}: {error.strerror}", file=sys.stderr)
        return 1
    return 0


async def serve_until_signalled(name: str, server: asyncio.AbstractServer, address: str, store: Path,
                                close: Callable[[], int], ready: Callable[[], None] | None = None) -> None:
    """Runs a sink's listening `server` until SIGTERM or SIGINT, with a JSON line when it listens
    and one when it stops; `close()` releases the store and says how many items it received."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print(json.dumps({"message": f"{name} listening", "address": address, "store": str(store)}), flush=True)
    if ready is not None:
        ready()
    try:
        await stop.wait()
    finally:
        server.close()
        await server.wait_closed()
        received = close()
        print(json.dumps({"message": f"{name} stopped", "received": received}), flush=True)
