"""core.netguard.pinned_session against real local servers (plain HTTP and TLS).

Private addresses are refused at connect time, so for the "public host" cases the tests mark
127.0.0.1 alone as public (patching ``address_refusal``) and point fake names at it; every other
loopback address (127.0.0.2 ...) stays refused. TLS runs with a throwaway CA so SNI, certificate
checks and the Host header are exercised for real while the socket goes to the pinned IP.
"""

import datetime
import http.server
import socket
import ssl
import threading

import pytest
import requests
import responses
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from core import netguard
from core.errors import UnsafeAddress
from core.netguard import check_url, pinned_session


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.seen.append((self.path, self.headers.get("Host")))
        location = self.server.redirects.get(self.path)
        self.send_response(302 if location else 200)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Length", "5")
        self.end_headers()
        self.wfile.write(b"hello")

    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    servers = []

    def start(host="127.0.0.1", tls: ssl.SSLContext | None = None):
        server = http.server.ThreadingHTTPServer((host, 0), _Handler)
        server.seen, server.redirects = [], {}
        if tls:
            server.socket = tls.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def dns(monkeypatch):
    """name -> IPs; a list of lists gives successive answers (for rebinding)."""
    answers: dict[str, list] = {}
    real = socket.getaddrinfo

    def fake(host, port, family=0, type=0, proto=0, flags=0):
        if host not in answers:
            return real(host, port, family, type, proto, flags)
        ips = answers[host]
        if ips and isinstance(ips[0], list):
            ips = ips.pop(0) if len(ips) > 1 else ips[0]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip in ips]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return answers


@pytest.fixture
def public_loopback(monkeypatch):
    """Treat 127.0.0.1 (only) as a public address."""
    original = netguard.address_refusal
    monkeypatch.setattr(
        netguard, "address_refusal", lambda ip: None if ip == "127.0.0.1" else original(ip)
    )


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    """A throwaway CA and a server certificate for public.test and private.test."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "netguard test CA")])

    def build(subject, public_key, extensions):
        builder = (
            x509.CertificateBuilder().subject_name(subject).issuer_name(ca_name)
            .public_key(public_key).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
            )
        )
        for ext, critical in extensions:
            builder = builder.add_extension(ext, critical)
        return builder.sign(ca_key, hashes.SHA256())

    ca = build(ca_name, ca_key.public_key(), [
        (x509.BasicConstraints(ca=True, path_length=None), True),
        (x509.KeyUsage(False, False, False, False, False, True, True, False, False), True),
    ])
    leaf = build(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "public.test")]),
                 key.public_key(), [
        (x509.SubjectAlternativeName([x509.DNSName("public.test"),
                                      x509.DNSName("private.test")]), False),
        (x509.BasicConstraints(ca=False, path_length=None), True),
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
    ])
    d = tmp_path_factory.mktemp("tls")
    pem = serialization.Encoding.PEM
    (d / "ca.pem").write_bytes(ca.public_bytes(pem))
    (d / "cert.pem").write_bytes(leaf.public_bytes(pem))
    (d / "key.pem").write_bytes(key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return d


@pytest.fixture
def tls_server(serve, tls_files):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls_files / "cert.pem", tls_files / "key.pem")
    sni: list[str] = []
    context.sni_callback = lambda sslobj, name, ctx: sni.append(name)
    server = serve(tls=context)
    server.sni = sni
    server.ca = str(tls_files / "ca.pem")
    return server


# --- plain HTTP on a real local server ----------------------------------------------------------
def test_refuses_local_server_unless_private_allowed(serve):
    server = serve()
    url = f"http://127.0.0.1:{server.server_port}/x"
    with pytest.raises(UnsafeAddress):
        pinned_session(allow_private=False).get(url, timeout=5)
    assert server.seen == []
    resp = pinned_session(allow_private=True).get(url, timeout=5)
    assert (resp.status_code, resp.text) == (200, "hello")
    assert server.seen == [("/x", f"127.0.0.1:{server.server_port}")]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "2130706433", "0x7f.1"])
def test_https_to_loopback_refused_before_any_connection(host):
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    try:
        port = listener.getsockname()[1]
        with pytest.raises(UnsafeAddress, match="loopback"):
            pinned_session(allow_private=False).get(f"https://{host}:{port}/", timeout=5)
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody ever connected
    finally:
        listener.close()


def test_dns_rebinding_after_check_is_refused_at_connect(dns, serve):
    server = serve()
    url = f"https://rebind.test:{server.server_port}/"
    dns["rebind.test"] = [["93.184.216.34"], ["127.0.0.1"]]  # public when checked, then not
    assert check_url(url, allow_private=False).ips == ("93.184.216.34",)
    with pytest.raises(UnsafeAddress, match=r"rebind\.test.*resolves to a loopback address"):
        pinned_session(allow_private=False).get(url, timeout=5)
    assert server.seen == []


def test_target_pins_the_checked_address(dns, serve):
    server = serve()
    port = server.server_port
    target = netguard.SafeTarget(
        url=f"http://pinned.test:{port}/", scheme="http", host="pinned.test", port=port,
        ips=("127.0.0.1",), allow_private=True,
    )
    dns["pinned.test"] = ["192.0.2.1"]  # a later lookup would go elsewhere
    resp = pinned_session(target).get(f"http://pinned.test:{port}/p", timeout=5)
    assert resp.status_code == 200
    assert server.seen == [("/p", f"pinned.test:{port}")]  # Host keeps the name


# --- TLS: name kept for SNI/verification, every redirect hop checked -----------------------------
def test_tls_keeps_hostname_for_sni_cert_and_host(dns, public_loopback, tls_server):
    port = tls_server.server_port
    dns["public.test"] = ["127.0.0.1"]
    target = check_url(f"https://public.test:{port}/x", allow_private=False)
    assert target.ips == ("127.0.0.1",)
    resp = pinned_session(target).get(target.url, timeout=5, verify=tls_server.ca)
    assert (resp.status_code, resp.text) == (200, "hello")
    assert tls_server.seen == [("/x", f"public.test:{port}")]
    assert tls_server.sni == ["public.test"]


def test_tls_certificate_still_verified_against_the_name(dns, public_loopback, tls_server):
    dns["other.test"] = ["127.0.0.1"]  # not in the certificate
    with pytest.raises(requests.exceptions.SSLError):
        pinned_session(allow_private=False).get(
            f"https://other.test:{tls_server.server_port}/", timeout=5, verify=tls_server.ca
        )


def test_redirect_to_private_address_refused(dns, public_loopback, tls_server):
    port = tls_server.server_port
    dns["public.test"] = ["127.0.0.1"]
    dns["private.test"] = ["127.0.0.2"]
    tls_server.redirects["/go"] = f"https://private.test:{port}/secret"
    with pytest.raises(UnsafeAddress, match=r"private\.test.*resolves to a loopback address"):
        pinned_session(allow_private=False).get(
            f"https://public.test:{port}/go", timeout=5, verify=tls_server.ca
        )
    assert [path for path, _ in tls_server.seen] == ["/go"]


@pytest.mark.parametrize(
    "location", ["http://public.test:{port}/plain", "https://169.254.169.254/latest/meta-data/"]
)
def test_redirect_downgrade_or_metadata_refused(dns, public_loopback, tls_server, location):
    port = tls_server.server_port
    dns["public.test"] = ["127.0.0.1"]
    tls_server.redirects["/go"] = location.format(port=port)
    with pytest.raises(UnsafeAddress):
        pinned_session(allow_private=False).get(
            f"https://public.test:{port}/go", timeout=5, verify=tls_server.ca
        )
    assert [path for path, _ in tls_server.seen] == ["/go"]


def test_allowed_redirect_is_followed(dns, public_loopback, tls_server):
    port = tls_server.server_port
    dns["public.test"] = ["127.0.0.1"]
    tls_server.redirects["/go"] = f"https://public.test:{port}/there"
    resp = pinned_session(allow_private=False).get(
        f"https://public.test:{port}/go", timeout=5, verify=tls_server.ca
    )
    assert resp.status_code == 200 and resp.url.endswith("/there")


# --- plumbing -----------------------------------------------------------------------------------
def test_session_ignores_environment_proxies(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://10.0.0.1:3128")
    session = pinned_session(allow_private=False)
    assert session.trust_env is False
    with pytest.raises(UnsafeAddress):
        session.get("https://public.test/", proxies={"https": "http://10.0.0.1:3128"}, timeout=5)


@responses.activate
def test_responses_mocks_still_work_through_the_session():
    responses.get("https://api.github.com/user", json={"login": "octocat"})
    resp = pinned_session(allow_private=True).get("https://api.github.com/user", timeout=5)
    assert resp.json() == {"login": "octocat"}
