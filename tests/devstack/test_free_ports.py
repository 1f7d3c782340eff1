"""devstack.processes.free_ports and free_block: ports below the ephemeral range, never handed out
twice to one process within its recent draws, so servers drawn for in separate calls never collide."""

from __future__ import annotations

import socket

from devstack import processes


def test_separate_draws_never_repeat_a_port_and_blocks_avoid_them():
    low = processes._ephemeral_range()[0]
    drawn = [port for _ in range(300) for port in processes.free_ports(5)]
    assert len(set(drawn)) == len(drawn) == 1500
    assert all(20000 <= port < low for port in drawn)
    blocks = [processes.free_block(70) for _ in range(20)]  # what a session of mesh platforms takes
    assert len(set(blocks)) == 20
    base = processes.free_block(70)
    assert not set(range(base, base + 70)) & set(drawn)
    assert not set(range(base, base + 70)) & set(processes.free_ports(200))


def test_a_port_in_use_is_not_drawn():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        processes._ISSUED_SET.discard(port)
        assert port not in processes.free_ports(2000)
