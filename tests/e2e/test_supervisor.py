"""The local supervisor reports a service that dies and brings it back."""

from __future__ import annotations

import signal
import time

import pytest

pytestmark = pytest.mark.e2e


def test_a_dead_service_is_reported_and_restarted(running):
    platform = running.platform
    child = next(c for c in platform.children if c.name == "notify")
    old_pid = child.process.pid
    child.process.send_signal(signal.SIGKILL)
    child.process.wait(timeout=10)
    platform.watch_once()
    report = platform.out.getvalue()
    assert "!! notify was killed by signal 9" in report
    assert "-> restarting notify (attempt 1 of 3)" in report
    assert child.process.pid != old_pid
    deadline = time.monotonic() + 30
    while platform.service_status("notify") != "SERVING":
        assert child.exited() is None, child.tail()
        assert time.monotonic() < deadline, "notify did not come back"
        time.sleep(0.1)
