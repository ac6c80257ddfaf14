"""The free ports the broker tests, the benchmarks and the demo start their processes on (support.ports)."""

from __future__ import annotations

import socket

from support.ports import free_ports


def test_free_ports_are_distinct_and_can_be_bound_on_loopback() -> None:
    ports = free_ports(5)
    assert len(set(ports)) == 5
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", port))  # released again: a child process can take it
