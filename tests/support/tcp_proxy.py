"""A TCP proxy on 127.0.0.1 that can drop its connections: a server restart, seen from a client.

``restart()`` drops every open connection (as a restarting PostgreSQL does) and accepts new ones;
``down()`` also drops each new connection at once until ``up()``: clients see their connections
closed by the server, as while a database is restarting. ``hold()`` parks new connections without
an answer until ``release()``: a client mid-request, for as long as a test needs it there.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress


class TcpProxy:
    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.is_down = False
        self.held: list[socket.socket] | None = None
        self.refused = 0  # connections dropped while down
        self.lock = threading.Lock()
        self.open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            with self.lock:
                if self.is_down:
                    self.refused += 1
                    client.close()
                    continue
                if self.held is not None:
                    self.held.append(client)
                    continue
            self._forward(client)

    def _forward(self, client: socket.socket) -> None:
        try:
            server = socket.create_connection(self.target)
        except OSError:
            client.close()
            return
        with self.lock:
            self.open += [client, server]
        for src, dst in ((client, server), (server, client)):
            threading.Thread(target=self._pipe, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def restart(self) -> None:
        with self.lock:
            for sock in self.open:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self.open.clear()

    def down(self) -> None:
        with self.lock:
            self.is_down = True
        self.restart()

    def hold(self) -> None:
        with self.lock:
            self.held = []

    def holding(self) -> int:
        with self.lock:
            return len(self.held or [])

    def release(self) -> None:
        with self.lock:
            parked, self.held = self.held or [], None
        for client in parked:
            self._forward(client)

    def up(self) -> None:
        with self.lock:
            self.is_down = False
        self.held: list[socket.socket] | None = None

    def close(self) -> None:
        with suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self.listener.close()
        self.restart()


@contextmanager
def tcp_proxy(host: str, port: int) -> Iterator[TcpProxy]:
    proxy = TcpProxy(host, port)
    try:
        yield proxy
    finally:
        proxy.close()
