"""Guard for user-supplied hosts and URLs (SPEC §4 "Security").

``check_url``/``check_host`` refuse anything but a public ``https://`` address: other schemes,
scp-like and local paths, git remote helpers, embedded credentials, odd characters, and any host
whose resolved addresses (every one of them, not the name) are private, loopback, link-local,
metadata, shared, multicast, reserved or otherwise non-global. ``COREGIT_ALLOW_PRIVATE_HOSTS``
lifts the address rules and admits ``http://`` (local fakes), never the form rules.

Checking a URL once is not enough: DNS can answer differently when we connect (rebinding) and a
redirect can point anywhere. ``pinned_session`` therefore checks again inside urllib3 at connect
time, for every connection it opens (every redirect hop included), and connects to the very
address it checked while TLS SNI, certificate verification and the Host header keep the name.
"""

from __future__ import annotations

import re
import socket
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from urllib.parse import SplitResult, urlsplit

import requests

from core.errors import UnsafeAddress
from core.netguard_pool import GuardedAdapter

DEFAULT_PORTS = {"https": 443, "http": 80}
_PUBLIC_ONLY = "only public https hosts are allowed"
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
_REMOTE_HELPER = re.compile(r"[A-Za-z0-9+.-]+::")  # git's "transport::address" (ext::, fd::)
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_HOSTNAME = re.compile(rf"(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*\.?")
_METADATA = {ip_address("169.254.169.254"), ip_address("fd00:ec2::254")}
_SHARED = ip_network("100.64.0.0/10")  # carrier-grade NAT; not "private" to Python's ipaddress
_NAT64 = ip_network("64:ff9b::/96")
_IPV4_COMPAT = ip_network("::/96")

_Info = tuple[int, int, int, tuple]  # (family, type, proto, sockaddr), as getaddrinfo gives them


@dataclass(frozen=True)
class SafeTarget:
    url: str
    scheme: str
    host: str  # lower-case, IDNA-encoded, IPv6 without brackets
    port: int
    ips: tuple[str, ...]  # the addresses checked; empty when private hosts are allowed
    allow_private: bool = False


# --- addresses ----------------------------------------------------------------------------------
def address_refusal(ip: str) -> str | None:
    """Why we must not connect to ``ip`` ("a private address", ...), or None if it is public."""
    addr = ip_address(ip.split("%", 1)[0])
    for candidate in _views(addr):
        reason = _classify(candidate)
        if reason:
            return reason
    return None


def _views(addr: IPv4Address | IPv6Address) -> list[IPv4Address | IPv6Address]:
    """What to judge: a translated IPv6 form (mapped, compatible, NAT64) by the IPv4 address it
    carries, so "::ffff:127.0.0.1" is loopback; tunnels (6to4, Teredo) by both ends."""
    if addr.version == 4:
        return [addr]
    if addr.ipv4_mapped:
        return [addr.ipv4_mapped]
    if addr in _NAT64 or (addr in _IPV4_COMPAT and int(addr) > 1):  # not "::" nor "::1"
        return [IPv4Address(int(addr) & 0xFFFFFFFF)]
    return [addr, *(a for a in (addr.sixtofour, *(addr.teredo or ())) if a is not None)]


def _classify(addr: IPv4Address | IPv6Address) -> str | None:
    checks = (
        (addr in _METADATA, "a cloud metadata address"),
        (addr.is_unspecified, "an unspecified address"),
        (addr.is_loopback, "a loopback address"),
        (addr.is_link_local, "a link-local address"),
        (addr.version == 4 and addr in _SHARED, "a shared (carrier-grade NAT) address"),
        (addr.is_multicast, "a multicast address"),
        (addr.is_reserved, "a reserved address"),
        (addr.is_private, "a private address"),
        (not addr.is_global, "a non-public address"),
    )
    return next((reason for hit, reason in checks if hit), None)


def _legacy_ipv4(host: str) -> str | None:
    """The address inet_aton would read from ``host`` ("2130706433", "0177.0.0.1", "0x7f.1",
    "127.1"), so odd spellings are checked as what they are whatever the platform's resolver."""
    parts = host.split(".")
    values = [_legacy_int(p) for p in parts]
    if not 1 <= len(parts) <= 4 or None in values:
        return None
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (4 - len(head)):
        return None
    number = 0
    for v in head:
        number = number * 256 + v
    return str(IPv4Address(number * 256 ** (4 - len(head)) + last))


def _legacy_int(part: str) -> int | None:
    if re.fullmatch(r"0[xX][0-9a-fA-F]*", part):
        return int(part[2:] or "0", 16)
    if re.fullmatch(r"0[0-7]*", part):
        return int(part, 8)
    return int(part) if re.fullmatch(r"[1-9][0-9]*", part) else None


def _literal_info(ip: str, port: int) -> _Info:
    if ":" in ip:
        return (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, (ip, port, 0, 0))
    return (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, (ip, port))


def _resolve(host: str, port: int) -> list[_Info]:
    """Addresses to connect to; raises socket.gaierror when the name does not resolve."""
    literal = _legacy_ipv4(host) or (str(IPv6Address(host)) if ":" in host else None)
    if literal:
        return [_literal_info(literal, port)]
    infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    seen, out = set(), []
    for family, socktype, proto, _, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6) and sockaddr not in seen:
            seen.add(sockaddr)
            out.append((family, socktype, proto, sockaddr))
    return out


def _refuse_unsafe(origin: str, infos: list[_Info]) -> None:
    for *_, sockaddr in infos:
        reason = address_refusal(sockaddr[0])
        if reason:
            # The reason, not the address: naming it would let API users map internal DNS.
            raise UnsafeAddress(f"{origin} resolves to {reason}; {_PUBLIC_ONLY}")


# --- URLs and hosts -----------------------------------------------------------------------------
def _allow_private(value: bool | None) -> bool:
    if value is not None:
        return bool(value)
    try:
        from django.conf import settings

        return bool(getattr(settings, "COREGIT_ALLOW_PRIVATE_HOSTS", False))
    except Exception:  # settings not configured: fail closed
        return False


def _require_scheme(scheme: str, allow_private: bool) -> None:
    if scheme == "https" or (scheme == "http" and allow_private):
        return
    if scheme == "http":
        raise UnsafeAddress(
            "Plain http:// is not allowed; use https:// "
            "(http is only accepted when COREGIT_ALLOW_PRIVATE_HOSTS is enabled)"
        )
    raise UnsafeAddress(f"{scheme}:// addresses are not allowed; use an https:// URL")


def _refuse_form(url: str) -> None:
    """Everything that is not ``scheme://...`` gets a sentence saying what it looks like."""
    if _REMOTE_HELPER.match(url):
        raise UnsafeAddress("git remote-helper addresses (transport::address) are not allowed")
    if any(ch.isspace() or ch == "\\" or unicodedata.category(ch)[0] in "CZ" for ch in url):
        raise UnsafeAddress("The address contains whitespace, control or backslash characters")
    if _SCHEME.match(url):
        return
    if url.startswith(("/", ".", "~")) or re.match(r"[A-Za-z]:[\\/]", url):
        raise UnsafeAddress("Local paths are not allowed; use an https:// URL")
    if ":" in url.split("/", 1)[0]:
        raise UnsafeAddress("scp-like addresses (user@host:path) are not allowed; use https://")
    raise UnsafeAddress("The address is not a URL; expected https://host/path")


def _split(url: str) -> tuple[str, SplitResult, str, int]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeAddress("The address is not a valid URL (bad host or port)") from None
    if "@" in parts.netloc:
        raise UnsafeAddress(
            "URLs must not contain credentials (user@host); store them as the secret instead"
        )
    scheme = parts.scheme.lower()
    host = _normalize_host(parts)
    if port == 0:
        raise UnsafeAddress(f"{scheme}://{parts.netloc} has an invalid port")
    return scheme, parts, host, port or DEFAULT_PORTS[scheme]


def _normalize_host(parts: SplitResult) -> str:
    raw = parts.hostname or ""
    if parts.netloc.startswith("["):
        if "%" in raw:
            raise UnsafeAddress("IPv6 zone identifiers are not allowed in URLs")
        try:
            return str(IPv6Address(raw))  # IPvFuture and other non-IPv6 forms fail here
        except ValueError:
            raise UnsafeAddress("The URL has an invalid IPv6 host") from None
    try:
        host = raw.encode("idna").decode("ascii")
    except UnicodeError:
        raise UnsafeAddress("The URL has an invalid host name") from None
    if not host or not _HOSTNAME.fullmatch(host):
        raise UnsafeAddress("The URL has no valid host name")
    return host


def check_url(url: str, *, allow_private: bool | None = None) -> SafeTarget:
    """A user-supplied URL as a SafeTarget, or UnsafeAddress saying why it is refused."""
    if not isinstance(url, str) or not url or len(url) > 2048:
        raise UnsafeAddress("The address must be a non-empty URL of at most 2048 characters")
    allow = _allow_private(allow_private)
    _refuse_form(url)
    _require_scheme(_SCHEME.match(url).group(1).lower(), allow)
    scheme, parts, host, port = _split(url)
    ips: tuple[str, ...] = ()
    if not allow:  # with private hosts allowed any address is fine: no lookup needed
        origin = f"{scheme}://{parts.netloc}"
        try:
            infos = _resolve(host, port)
        except (OSError, UnicodeError, ValueError):
            infos = []
        if not infos:
            raise UnsafeAddress(f"{origin}: the host name could not be resolved")
        _refuse_unsafe(origin, infos)
        ips = tuple(dict.fromkeys(info[3][0] for info in infos))
    return SafeTarget(url=url, scheme=scheme, host=host, port=port, ips=ips, allow_private=allow)


def check_host(host: str, *, allow_private: bool | None = None) -> SafeTarget:
    """A bare host (``git.example.com``, ``host:8443``, ``[2001:db8::1]``), checked as https."""
    if not isinstance(host, str) or not host or any(c in host for c in "/@?#\\"):
        raise UnsafeAddress(
            "A host must be a bare name such as git.example.com (no scheme, path or credentials)"
        )
    return check_url(f"https://{host}", allow_private=allow_private)


# --- pinned session -----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Guard:
    allow_private: bool
    pins: Mapping[tuple[str, int], tuple[str, ...]] = field(default_factory=dict)

    def addresses(self, host: str, port: int) -> list[_Info]:
        host = host.lower().rstrip(".")
        pinned = self.pins.get((host, port))
        infos = [_literal_info(ip, port) for ip in pinned] if pinned else _resolve(host, port)
        if not self.allow_private:
            _refuse_unsafe(f"{host}:{port}", infos)
        return infos

    def check_scheme(self, scheme: str) -> None:
        _require_scheme(scheme, self.allow_private)


def pinned_session(
    target: SafeTarget | None = None, *, allow_private: bool | None = None
) -> requests.Session:
    """A requests session that only connects to addresses passing the guard at connect time.

    With ``target``, connections to its host and port go to ``target.ips`` (no second lookup);
    other hosts (redirects) are resolved and checked. The policy is ``allow_private`` if given,
    else the target's, else the setting. Environment proxies are ignored (``trust_env=False``).
    """
    if allow_private is None and target is not None:
        allow_private = target.allow_private
    pins = {(target.host, target.port): target.ips} if target and target.ips else {}
    adapter = GuardedAdapter(_Guard(allow_private=_allow_private(allow_private), pins=pins))
    session = requests.Session()
    session.trust_env = False
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
