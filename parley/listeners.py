"""The listening sockets of `manage.py serve`'s web processes: one per process where the kernel
can balance them (Linux's SO_REUSEPORT), one shared socket elsewhere.

On one shared socket every process races to accept, and the one that wakes first takes a
burst of new connections alone (uvicorn's known multi-process behaviour, encode/uvicorn#2472):
in the webhook benchmark one of two processes often got all 32 kept-alive connections and
stored 19,800 of 20,000 deliveries while the other idled. With a socket of its own per
process, bound to the same address with SO_REUSEPORT, the kernel hands each new connection to
one of the listening processes by the hash of its addresses.

uvicorn's supervisor passes the same list of sockets to every process it spawns (and to each
one it starts in place of a dead one), pickled. So the supervisor's list holds one
`_PortHeldForProcesses`: a socket that binds the address in the supervisor (a port already
taken fails there, at start-up) but never listens, so the kernel gives it no connection; each
spawned process unpickles it as a fresh SO_REUSEPORT socket bound to the same address, which
uvicorn then listens on. This module imports nothing of Django: the spawned process unpickles
its socket before it loads the application, and listens only once the application is loaded,
so no connection waits on a process still starting.

The price: connections the kernel has queued on a process's own socket and the process has
not yet accepted are reset if it dies (on a shared socket another process would take them).
uvicorn accepts as soon as a connection arrives, so that queue is nearly always empty, and a
platform sends a reset delivery again.
"""

from __future__ import annotations

import logging
import socket
import sys

import uvicorn
from uvicorn.config import STARTUP_FAILURE

logger = logging.getLogger("uvicorn.error")


def balanced_listening() -> bool:
    """Whether each web process can listen on its own socket and have the kernel balance
    connections among them: SO_REUSEPORT as Linux implements it (BSD and macOS accept the
    option without spreading connections)."""
    return sys.platform == "linux" and hasattr(socket, "SO_REUSEPORT")


def listening_sockets(config: uvicorn.Config) -> list[socket.socket]:
    """The sockets list for uvicorn's `Multiprocess` serving `config`'s host and port: a socket
    per process where `balanced_listening()`, else uvicorn's one shared socket. Exits with
    uvicorn's start-up failure status when the address is taken, as uvicorn does. The caller
    closes them once the processes have ended."""
    if not balanced_listening():
        return [config.bind_socket()]
    family = socket.AF_INET6 if config.host and ":" in config.host else socket.AF_INET
    held = _PortHeldForProcesses(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        # First as uvicorn binds (no SO_REUSEPORT): that fails on any listener of the
        # address, also another `serve`'s sockets, which SO_REUSEPORT alone would join.
        with socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((config.host, config.port))
            address = probe.getsockname()  # the port chosen, when asked for port 0
        _bind_sharing_port(held, address)
    except OSError as error:
        held.close()
        logger.error(error)
        sys.exit(STARTUP_FAILURE)
    host, port = held.getsockname()[:2]
    logger.info(
        "Uvicorn running on %s://%s:%d (Press CTRL+C to quit), a listening socket per process",
        "https" if config.is_ssl else "http",
        f"[{host}]" if family == socket.AF_INET6 else host,
        port,
    )
    return [held]


class _PortHeldForProcesses(socket.socket):
    """In the supervisor: the address, bound and never listened on. Pickled into a spawned web
    process: a socket of that process's own, bound to the same address (see the module)."""

    def __reduce__(self):
        return (_socket_of_this_process, (self.family, self.getsockname()))


def _socket_of_this_process(family: int, address: tuple) -> socket.socket:
    """Run in a spawned web process while it unpickles its arguments, before it loads the
    application; uvicorn listens on the socket once the application is loaded."""
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        _bind_sharing_port(sock, address)
    except OSError as error:
        sock.close()
        # The supervisor stops on this status rather than starting the process again.
        logger.error("A web process could not bind %s: %s", address, error)
        sys.exit(STARTUP_FAILURE)
    return sock


def _bind_sharing_port(sock: socket.socket, address: tuple) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
