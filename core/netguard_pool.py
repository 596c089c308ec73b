"""urllib3/requests plumbing for ``core.netguard.pinned_session``.

Kept apart so the guard policy (core/netguard.py) stays readable. The connection classes resolve
and check the host themselves, then connect to the checked address: the check and the connect see
the same IP, so DNS rebinding between them cannot reach a refused address. ``self.host`` stays
the name, which keeps TLS SNI, certificate verification and the Host header on it. Every
connection the adapter opens goes through here, so redirect hops are checked too.
"""

from __future__ import annotations

import socket
from typing import Protocol
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from core.errors import UnsafeAddress


class Guard(Protocol):
    allow_private: bool

    def addresses(self, host: str, port: int) -> list[tuple]:
        """getaddrinfo-style (family, type, proto, sockaddr) tuples, all checked; raises
        UnsafeAddress for a refused address and socket.gaierror for an unknown name."""

    def check_scheme(self, scheme: str) -> None:
        """Raise UnsafeAddress unless requests with this scheme may be sent."""


def _open_socket(infos: list[tuple], conn: HTTPConnection) -> socket.socket:
    error: OSError = OSError("the host has no address")
    for family, socktype, proto, sockaddr in infos:
        sock = socket.socket(family, socktype, proto)
        try:
            for option in conn.socket_options or ():
                sock.setsockopt(*option)
            if conn.timeout is None or isinstance(conn.timeout, int | float):
                sock.settimeout(conn.timeout)  # else urllib3's "default" sentinel: leave it
            if conn.source_address:
                sock.bind(conn.source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            error = exc
            sock.close()
    raise error


class _GuardedConnection:
    """Mixin over urllib3's connections: resolve, check, connect to the checked address.
    ``self.host`` stays the name, so SNI, certificate checks and Host use it."""

    guard: Guard

    def _new_conn(self) -> socket.socket:
        try:
            infos = self.guard.addresses(self._dns_host, self.port)
        except (socket.gaierror, UnicodeError, ValueError) as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        try:
            return _open_socket(infos, self)
        except TimeoutError as exc:
            msg = f"Connection to {self.host} timed out. (connect timeout={self.timeout})"
            raise ConnectTimeoutError(self, msg) from exc
        except OSError as exc:
            raise NewConnectionError(self, f"Failed to establish a new connection: {exc}") from exc


def _pool_classes(guard: Guard) -> dict[str, type]:
    attrs = {"guard": guard}
    http = type("GuardedHTTPConnection", (_GuardedConnection, HTTPConnection), attrs)
    https = type("GuardedHTTPSConnection", (_GuardedConnection, HTTPSConnection), attrs)
    return {
        "http": type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
        "https": type("GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https}),
    }


class GuardedAdapter(HTTPAdapter):
    """Every connection this adapter opens (redirect hops included) passes the guard."""

    __attrs__ = [*HTTPAdapter.__attrs__, "_guard"]

    def __init__(self, guard: Guard, **kwargs) -> None:
        self._guard = guard  # before super().__init__, which builds the pool manager
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _pool_classes(self._guard)

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        # Through a proxy we would only check the proxy's address, not the target's.
        raise UnsafeAddress("Proxies are not supported for connections to user-supplied hosts")

    def send(self, request: requests.PreparedRequest, **kwargs) -> requests.Response:
        self._guard.check_scheme(urlsplit(request.url).scheme.lower())
        return super().send(request, **kwargs)
