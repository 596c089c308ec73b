"""core.netguard: which user-supplied URLs and hosts are refused, and why (no network)."""

import socket

import pytest
from django.test import override_settings

from core.errors import BadRequest, UnsafeAddress
from core.netguard import SafeTarget, address_refusal, check_host, check_url

PUBLIC_V4 = "140.82.112.3"
PUBLIC_V6 = "2606:4700:4700::1111"


@pytest.fixture
def dns(monkeypatch):
    """Fake resolver: name -> list of IPs; unknown names do not resolve."""
    answers: dict[str, list[str]] = {}

    def fake_getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        out = []
        for ip in answers[host]:
            if ":" in ip:
                out.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (ip, port, 0, 0)))
            else:
                out.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)))
        return out

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    return answers


def refused(url: str, **kw) -> str:
    with pytest.raises(UnsafeAddress) as info:
        check_url(url, **kw)
    assert isinstance(info.value, BadRequest) and info.value.http_status == 400
    return info.value.message


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "file:/etc/passwd",
        "ssh://git@github.com/x/y.git",
        "git://github.com/x/y.git",
        "git+ssh://github.com/x/y.git",
        "ftp://example.com/x",
        "http://example.com/x.git",  # plain http only with private hosts allowed
        "git@github.com:x/y.git",
        "github.com:x/y.git",
        "/srv/git/x.git",
        "./x.git",
        "../x.git",
        "~/x.git",
        "C:/repos/x.git",
        "C:\\repos\\x.git",
        "ext::sh -c touch% /tmp/pwned",
        "fd::17",
        "",
        "https://",
        "https:///x/y.git",
        "https://:443/x",
        "https://user:pw@github.com/x/y.git",
        "https://ghp_token@github.com/x/y.git",
        "https://github.com\n/x",
        "https://github.com/x\r\nHost: evil",
        "https://git hub.com/x",
        " https://github.com/x",
        "https://github.com/x\t",
        "https://github.com\x00.evil/x",
        "https://gith\u200bub.com/x",
        "https://github.com\\@evil.com/x",
        "https://github.com:0/x",
        "https://github.com:99999/x",
        "https://github.com:abc/x",
        "https://[::1%25lo]/x",
        "https://[v1.fe]/x",
        "https://exa_mple..com/x",
        "https://" + "a" * 2100 + ".com",
    ],
)
def test_refused_forms(url, dns):
    dns["github.com"] = [PUBLIC_V4]
    refused(url, allow_private=False)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://10.0.0.5/x", "a private address"),
        ("https://192.168.1.10", "a private address"),
        ("https://172.16.3.4", "a private address"),
        ("https://127.0.0.1", "a loopback address"),
        ("https://0.0.0.0", "an unspecified address"),
        ("https://169.254.169.254/latest/meta-data/", "a cloud metadata address"),
        ("https://169.254.1.1", "a link-local address"),
        ("https://100.64.0.1", "a shared (carrier-grade NAT) address"),
        ("https://224.0.0.1", "a multicast address"),
        ("https://240.0.0.1", "a reserved address"),
        ("https://[fd00:ec2::254]", "a cloud metadata address"),
        ("https://[::1]/x", "a loopback address"),
        ("https://[::]/x", "an unspecified address"),
        ("https://[fe80::1]", "a link-local address"),
        ("https://[fc00::1]", "a private address"),
        ("https://[ff02::1]", "a multicast address"),
        ("https://[::ffff:127.0.0.1]/x", "a loopback address"),
        ("https://[::ffff:169.254.169.254]/x", "a cloud metadata address"),
        ("https://[::ffff:10.0.0.1]", "a private address"),
        ("https://[::127.0.0.1]", "a loopback address"),  # IPv4-compatible
        ("https://[64:ff9b::10.0.0.1]", "a private address"),  # NAT64
        ("https://[2002:7f00:1::]", "a loopback address"),  # 6to4
        # Odd spellings of 127.0.0.1 that resolvers accept:
        ("https://2130706433/", "a loopback address"),
        ("https://0177.0.0.1/", "a loopback address"),
        ("https://0x7f.1/", "a loopback address"),
        ("https://0x7f000001/", "a loopback address"),
        ("https://017700000001/", "a loopback address"),
        ("https://127.1/", "a loopback address"),
        ("https://0/", "an unspecified address"),
        ("https://0xa9.0376.43518/", "a cloud metadata address"),  # 169.254.169.254
    ],
)
def test_refused_addresses(url, reason, dns):
    message = refused(url, allow_private=False)
    assert reason in message
    assert "only public https hosts are allowed" in message


def test_message_names_the_problem():
    assert refused("https://10.0.0.5", allow_private=False) == (
        "https://10.0.0.5 resolves to a private address; only public https hosts are allowed"
    )


def test_message_does_not_reveal_what_a_name_resolves_to(monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.20.30.40", 443))])
    message = refused("https://internal.example.com", allow_private=False)
    assert "private address" in message and "10.20.30.40" not in message


@pytest.mark.parametrize(
    ("answers", "reason"),
    [
        (["10.0.0.1"], "a private address"),
        (["::ffff:169.254.169.254"], "a cloud metadata address"),
        (["fd12:3456::1"], "a private address"),
        (["127.0.0.1"], "a loopback address"),
        ([PUBLIC_V4, "10.0.0.1"], "a private address"),  # every answer counts
        ([PUBLIC_V6, "::1"], "a loopback address"),
    ],
)
def test_names_are_judged_by_every_resolved_address(dns, answers, reason):
    dns["git.example.com"] = answers
    message = refused("https://git.example.com/x/y.git", allow_private=False)
    assert message.startswith("https://git.example.com resolves to ")
    assert reason in message


def test_unresolvable_name_refused(dns):
    assert "could not be resolved" in refused("https://nope.example.com/x", allow_private=False)


def test_localhost_refused_with_real_resolver():
    assert "loopback" in refused("https://localhost/x", allow_private=False)


def test_messages_never_echo_credentials(dns):
    for url in ("https://bob:s3cr3t@github.com/x", "bob:s3cr3t@github.com:x/y", "ext::s3cr3t"):
        assert "s3cr3t" not in refused(url, allow_private=False)


def test_public_https_accepted(dns):
    dns["github.example.com"] = [PUBLIC_V4, PUBLIC_V6]
    target = check_url("https://GitHub.Example.com/x/y.git", allow_private=False)
    assert target == SafeTarget(
        url="https://GitHub.Example.com/x/y.git", scheme="https", host="github.example.com",
        port=443, ips=(PUBLIC_V4, PUBLIC_V6), allow_private=False,
    )


def test_public_literals_and_ports_accepted(dns):
    dns["git.example.com"] = [PUBLIC_V4]
    assert check_url("https://git.example.com:8443/x", allow_private=False).port == 8443
    assert check_url("https://1.1.1.1/x", allow_private=False).ips == ("1.1.1.1",)
    v6 = check_url(f"https://[{PUBLIC_V6}]:444/x", allow_private=False)
    assert (v6.host, v6.port, v6.ips) == (PUBLIC_V6, 444, (PUBLIC_V6,))


def test_allow_private_lifts_address_rules(dns):
    target = check_url("http://127.0.0.1:8080/x.git", allow_private=True)
    assert (target.scheme, target.host, target.port, target.ips) == ("http", "127.0.0.1", 8080, ())
    assert target.allow_private is True
    for url in ("https://localhost/x", "http://10.0.0.5/x", "http://[::1]:3000/", "http://fake-gh"):
        check_url(url, allow_private=True)


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ssh://git@localhost/x.git",
        "git://127.0.0.1/x.git",
        "git@localhost:x/y.git",
        "/srv/git/x.git",
        "ext::sh -c id",
        "http://user:pw@127.0.0.1/x",
        "http://127.0.0.1 /x",
    ],
)
def test_allow_private_keeps_form_rules(url):
    refused(url, allow_private=True)


def test_allow_private_defaults_to_setting():
    with override_settings(COREGIT_ALLOW_PRIVATE_HOSTS=False):
        refused("http://127.0.0.1:8080/")
        refused("https://127.0.0.1/")
    with override_settings(COREGIT_ALLOW_PRIVATE_HOSTS=True):
        assert check_url("http://127.0.0.1:8080/").allow_private is True


def test_check_host(dns):
    dns["github.example.com"] = [PUBLIC_V4]
    target = check_host("github.example.com:8443", allow_private=False)
    assert (target.scheme, target.host, target.port) == ("https", "github.example.com", 8443)
    for bad in ("10.0.0.1", "[::1]", "localhost", "https://github.example.com",
                "github.example.com/x", "u@github.example.com", "", "a b"):
        with pytest.raises(UnsafeAddress):
            check_host(bad, allow_private=False)
    assert check_host("localhost", allow_private=True).host == "localhost"


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        ("8.8.8.8", None),
        (PUBLIC_V6, None),
        ("::ffff:8.8.8.8", None),  # judged by the IPv4 address it carries
        ("64:ff9b::808:808", None),  # NAT64 to a public address
        ("10.1.2.3", "a private address"),
        ("fe80::1%eth0", "a link-local address"),
        ("2001:db8::1", "a private address"),  # documentation range
        ("192.0.2.1", "a private address"),  # TEST-NET-1
    ],
)
def test_address_refusal(ip, expected):
    assert address_refusal(ip) == expected
