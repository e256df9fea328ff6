"""`manage.py serve`'s web processes over real sockets: the connections opened at once are
shared among the processes (a listening socket per process on Linux), a process that dies is
replaced and its successor serves, and a port already taken stops the server at start-up."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from uvicorn.config import STARTUP_FAILURE

from parley import listeners
from parley.management.commands import serve

REPO_ROOT = Path(__file__).resolve().parents[2]
CONNECTIONS = 32
# `serve`'s multi-process code with an app that answers its process id.
SERVER = (
    "import sys\n"
    "from parley.management.commands.serve import run_web_processes, uvicorn_config\n"
    "run_web_processes(uvicorn_config(host='127.0.0.1', port=int(sys.argv[1]),"
    " app='tests.parley.pid_app:app', workers=2))\n"
)

needs_reuse_port = pytest.mark.skipif(
    not listeners.balanced_listening(), reason="a socket per process needs Linux's SO_REUSEPORT"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listeners_on(port: int) -> int:
    """How many sockets listen on 127.0.0.1:`port` (state 0A in /proc/net/tcp)."""
    wanted = f"0100007F:{port:04X}"
    lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(1 for line in lines if line.split()[1] == wanted and line.split()[3] == "0A")


def wait_until(condition, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)


@contextmanager
def two_web_processes(port: int) -> Iterator[subprocess.Popen]:
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port)],
        cwd=REPO_ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "parley.settings"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield server
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def serving_pids(port: int) -> list[int]:
    """Open CONNECTIONS connections at once, as the webhook benchmark does, then ask each which
    process serves it."""
    connections = [
        socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(CONNECTIONS)
    ]
    pids = []
    try:
        for connection in connections:
            connection.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            pids.append(int(read_answer(connection)))
    finally:
        for connection in connections:
            connection.close()
    return pids


def read_answer(connection: socket.socket) -> bytes:
    """The body of one HTTP answer (the pid app's: a Content-Length, no chunks)."""
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += receive(connection)
    head, _, body = answer.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    while len(body) < length:
        body += receive(connection)
    return body


def receive(connection: socket.socket) -> bytes:
    chunk = connection.recv(4096)
    if not chunk:
        raise ConnectionResetError("the server closed the connection")
    return chunk


def pids_answering(port: int) -> set[int]:
    try:
        return set(serving_pids(port))
    except OSError:
        # Reset: the connection was queued on the killed process's socket as it closed.
        return set()


@needs_reuse_port
def test_connections_opened_at_once_reach_both_web_processes():
    port = free_port()
    with two_web_processes(port):
        wait_until(lambda: listeners_on(port) == 2)

        pids = serving_pids(port)

    assert len(set(pids)) == 2
    # The kernel hashes each connection's addresses: neither process takes nearly all.
    assert min(pids.count(pid) for pid in set(pids)) >= 4


@needs_reuse_port
def test_a_killed_web_process_is_replaced_and_its_successor_serves():
    port = free_port()
    with two_web_processes(port):
        wait_until(lambda: listeners_on(port) == 2)
        first = set(serving_pids(port))
        killed = min(first)

        os.kill(killed, signal.SIGKILL)
        wait_until(lambda: listeners_on(port) == 2 and len(pids_answering(port) - first) == 1)
        now = set(serving_pids(port))

    assert killed not in now
    assert len(now) == 2


@pytest.mark.parametrize("reuse_port", [False, True], ids=["plain", "another serve's socket"])
def test_a_port_already_listened_on_stops_the_server_at_start_up(reuse_port):
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port and hasattr(socket, "SO_REUSEPORT"):
            taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        config = serve.uvicorn_config(
            host="127.0.0.1", port=taken.getsockname()[1], app=serve.SERVED_APP, workers=2
        )

        with pytest.raises(SystemExit) as stopped:
            listeners.listening_sockets(config)

    assert stopped.value.code == STARTUP_FAILURE


def test_without_so_reuseport_the_processes_share_one_socket(monkeypatch):
    monkeypatch.setattr(listeners, "balanced_listening", lambda: False)
    config = serve.uvicorn_config(host="127.0.0.1", port=0, app=serve.SERVED_APP, workers=2)

    sockets = listeners.listening_sockets(config)
    try:
        assert [type(sock) for sock in sockets] == [socket.socket]
        assert not sockets[0].getsockopt(socket.SOL_SOCKET, getattr(socket, "SO_REUSEPORT", 15))
    finally:
        for sock in sockets:
            sock.close()
