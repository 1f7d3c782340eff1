"""The `make run` supervisor starts everything or nothing: a port already taken or a
program that cannot run ends it with one clear error, nothing left running and no
traceback from stopping children that never started."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys

import pytest

from devstack.servers.platform import Child, Platform, PlatformError


@pytest.fixture
def taken_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.mark.parametrize("mesh", ["on", "off"])
def test_make_run_with_a_port_taken_prints_the_error_only(tmp_path, taken_port, mesh):
    env = {**os.environ, "MKT_STATE_DIR": str(tmp_path), "MKT_CAMPAIGN_GRPC_PORT": str(taken_port),
           "MKT_MESH": mesh}
    result = subprocess.run([sys.executable, "-m", "devstack.servers.run"], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ports in use: campaign") and f"port {taken_port}" in line
    assert "stopped" not in result.stdout


def test_a_child_that_cannot_start_stops_those_started_before_it(tmp_path):
    platform = Platform(tmp_path, {**os.environ, "MKT_STATE_DIR": str(tmp_path)}, out=io.StringIO())
    sleeper = Child("sleeper", ["sleep", "60"], tmp_path / "logs" / "sleeper.log", {})
    missing = Child("missing", [str(tmp_path / "no-such-program")], tmp_path / "logs" / "missing.log", {})
    never = Child("never", ["sleep", "60"], tmp_path / "logs" / "never.log", {})
    platform.children = [sleeper, missing, never]
    with pytest.raises(PlatformError, match=r"cannot start missing \(.*no-such-program\): No such file"):
        platform.start()
    assert sleeper.process is not None and sleeper.process.poll() is not None  # stopped, not left behind
    assert never.process is None
    platform.stop()  # stopping again, with children that never started, is harmless


def test_with_victorialogs_the_platform_ships_every_childs_lines_until_the_last(tmp_path):
    """`make run` with VictoriaLogs built: it is a child of the platform, the others' lines reach it,
    and the lines children write while stopping are shipped before it stops (it stops last)."""
    import time

    from devstack.processes import free_port
    from devstack.servers import victorialogs
    from devstack.servers.platform import LOG_STORE
    from tests.conftest import _unavailable

    try:
        binary = victorialogs.ensure_installed()
    except victorialogs.VictoriaLogsUnavailable as error:
        _unavailable("VictoriaLogs", str(error))
    port = free_port()
    env = {**os.environ, "MKT_STATE_DIR": str(tmp_path), "MKT_VICTORIALOGS_PORT": str(port)}
    platform = Platform(tmp_path, env, out=io.StringIO(), victorialogs_binary=binary)
    assert platform.logs_url == f"http://127.0.0.1:{port}"
    say = ("import json, signal, sys, time\n"
           "def say(message): print(json.dumps({'service': 'talker', 'message': message, 'trace_id': 'ab' * 16}),"
           " flush=True)\n"
           "signal.signal(signal.SIGTERM, lambda *_: (say('bye'), sys.exit(0)))\n"
           "say('hello')\n"
           "time.sleep(60)\n")
    talker = Child("talker", [sys.executable, "-c", say], tmp_path / "logs" / "talker.log", {})
    platform.children = [c for c in platform.children if c.name == LOG_STORE] + [talker]
    platform.start()
    try:
        deadline = time.monotonic() + 30
        while True:
            if victorialogs.healthy(platform.logs_url):
                found = victorialogs.query(platform.logs_url, f"trace_id:{'ab' * 16}")
                if found:
                    break
            assert time.monotonic() < deadline, platform.shipper.__dict__
            time.sleep(0.2)
        assert [(f["service"], f["_msg"]) for f in found] == [("talker", "hello")]
        assert "every log line is shipped to" in platform.endpoints()
    finally:
        platform.stop()
    # "bye", written while the talker stopped, went before VictoriaLogs stopped: its data says so.
    again = subprocess.Popen(victorialogs.command(binary, tmp_path / "victorialogs", port), stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not victorialogs.healthy(platform.logs_url):
            assert again.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        found = victorialogs.query(platform.logs_url, f"trace_id:{'ab' * 16} | sort by (_time)")
        assert [f["_msg"] for f in found] == ["hello", "bye"]
    finally:
        again.terminate()
        again.wait(10)
