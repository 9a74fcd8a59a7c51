"""Generic health probe shared by the services and by `up`: does a TCP port accept connections."""

from __future__ import annotations

import socket


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    """Whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host or "localhost", port), timeout=timeout):
            return True
    except OSError:
        return False
