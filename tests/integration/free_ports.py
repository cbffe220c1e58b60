"""Ports for the servers the tests start: free now, and below the kernel's ephemeral range, so that no outgoing
connection can take one while its server restarts (a private RabbitMQ restarted on an ephemeral port once found it
taken: eaddrinuse)."""

from __future__ import annotations

import random
import socket
from pathlib import Path

SERVICE_PORTS = frozenset({4369, 5432, 5672, 6379, 15672, 25672, 26379})  # the shared services and their helpers
LOWEST = 10000


def ephemeral_start() -> int:
    """The first port the kernel hands out to outgoing connections (32768 when it cannot be read)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def server_port(*, bus_offset: int = 0) -> int:
    """A free port below the ephemeral range; with ``bus_offset``, the port that far above it is free and below the
    range too (a Redis Cluster node's bus port is 10000 above its port)."""
    highest = ephemeral_start() - 1 - bus_offset
    for _ in range(500):
        port = random.randint(LOWEST, highest)
        candidates = (port, port + bus_offset) if bus_offset else (port,)
        if not SERVICE_PORTS.intersection(candidates) and all(bindable(p) for p in candidates):
            return port
    raise RuntimeError(f"found no free port from {LOWEST} to {highest}")


def bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
