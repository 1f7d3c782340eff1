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
