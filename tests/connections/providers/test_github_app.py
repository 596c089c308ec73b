"""GitHub App auth: the RS256 JWT and the installation-token cache."""

from datetime import UTC, datetime

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from connections.providers.github import GitHubClient
from connections.providers.github_app import GitHubAppAuth, MemoryTokenCache, app_jwt
from core.errors import ProviderAuthError, ProviderError
from tests.connections.providers.conftest import NOW
from tests.support.openapi import github_example

API = "https://api.github.com"
INSTALLATION = f"{API}/app/installations/42"
EXPIRES = NOW + 3600  # one hour, as GitHub issues them


@pytest.fixture(scope="module")
def rsa_key():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return pem, key.public_key()


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _token_body(token: str, expires: float) -> dict:
    body = github_example("installation-token")
    body["token"] = token
    body["expires_at"] = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return body


def test_app_jwt_claims_verify_with_public_key(rsa_key):
    pem, public = rsa_key
    token = app_jwt(123456, pem, now=NOW)
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    claims = jwt.decode(token, public, algorithms=["RS256"], options={"verify_exp": False})
    assert claims == {"iat": int(NOW) - 60, "exp": int(NOW) + 540, "iss": "123456"}


def test_app_jwt_bad_key_does_not_echo_it():
    with pytest.raises(ProviderAuthError) as info:
        app_jwt(1, "-----BEGIN RSA PRIVATE KEY-----\nnot-a-key\n-----END RSA PRIVATE KEY-----")
    assert "not-a-key" not in str(info.value)


def test_get_installation_authenticates_with_app_jwt(mock_api, rsa_key):
    pem, public = rsa_key
    mock_api.get(INSTALLATION, json=github_example("base-installation"))
    auth = GitHubAppAuth(123, 42, pem, clock=Clock(NOW))
    assert auth.get_installation().username == "octocat"
    sent = mock_api.calls[0].request.headers
    scheme, token = sent["Authorization"].split(" ")
    assert scheme == "Bearer"
    claims = jwt.decode(token, public, algorithms=["RS256"], options={"verify_exp": False})
    assert claims["iss"] == "123"
    assert sent["X-GitHub-Api-Version"] == "2022-11-28"


def test_installation_token_is_cached(mock_api, rsa_key):
    mock_api.post(f"{INSTALLATION}/access_tokens", status=201, json=_token_body("ghs_one", EXPIRES))
    auth = GitHubAppAuth(123, 42, rsa_key[0], clock=Clock(NOW))
    assert auth.installation_token() == "ghs_one"
    assert auth.installation_token() == "ghs_one"
    assert len(mock_api.calls) == 1


def test_installation_token_refreshed_within_five_minutes_of_expiry(mock_api, rsa_key):
    url = f"{INSTALLATION}/access_tokens"
    mock_api.post(url, status=201, json=_token_body("ghs_one", EXPIRES))
    clock = Clock(NOW)
    auth = GitHubAppAuth(123, 42, rsa_key[0], clock=clock)
    auth.installation_token()
    clock.now = EXPIRES - 301  # still more than 5 minutes left
    assert auth.installation_token() == "ghs_one"
    assert len(mock_api.calls) == 1
    mock_api.replace("POST", url, status=201, json=_token_body("ghs_two", EXPIRES + 3600))
    clock.now = EXPIRES - 299
    assert auth.installation_token() == "ghs_two"
    assert len(mock_api.calls) == 2


def test_cache_protocol_receives_aware_expiry(mock_api, rsa_key):
    class Recorder(MemoryTokenCache):
        stored = None

        def set(self, token, expires_at):
            Recorder.stored = (token, expires_at)
            super().set(token, expires_at)

    mock_api.post(f"{INSTALLATION}/access_tokens", status=201, json=_token_body("ghs_one", EXPIRES))
    cache = Recorder()
    GitHubAppAuth(123, 42, rsa_key[0], cache=cache, clock=Clock(NOW)).installation_token()
    assert Recorder.stored == ("ghs_one", datetime.fromtimestamp(EXPIRES, UTC))
    # a second auth object sharing the cache (another worker) mints nothing
    assert (
        GitHubAppAuth(123, 42, rsa_key[0], cache=cache, clock=Clock(NOW)).installation_token()
        == "ghs_one"
    )
    assert len(mock_api.calls) == 1


def test_client_uses_installation_token(mock_api, rsa_key):
    mock_api.post(f"{INSTALLATION}/access_tokens", status=201, json=_token_body("ghs_one", EXPIRES))
    mock_api.get(f"{API}/user", json={"login": "my-app[bot]"})
    auth = GitHubAppAuth(123, 42, rsa_key[0], clock=Clock(NOW))
    GitHubClient(auth.installation_token).get_user()
    assert mock_api.calls[1].request.headers["Authorization"] == "Bearer ghs_one"


def test_enterprise_server_app(mock_api, rsa_key):
    url = "https://github.example.com/api/v3/app/installations/42/access_tokens"
    mock_api.post(url, status=201, json=_token_body("ghs_ghes", EXPIRES))
    auth = GitHubAppAuth(123, 42, rsa_key[0], host="https://github.example.com", clock=Clock(NOW))
    assert auth.installation_token() == "ghs_ghes"


def test_rejected_app_credentials_do_not_leak(mock_api, rsa_key):
    mock_api.post(
        f"{INSTALLATION}/access_tokens",
        status=401,
        json={"message": "A JSON web token could not be decoded"},
    )
    auth = GitHubAppAuth(123, 42, rsa_key[0], clock=Clock(NOW))
    with pytest.raises(ProviderAuthError) as info:
        auth.installation_token()
    assert (
        str(info.value)
        == "GitHub token validation failed: 401 A JSON web token could not be decoded"
    )
    assert "BEGIN" not in repr(auth) and "ghs_" not in repr(auth.cache)


def test_installation_not_found(mock_api, rsa_key):
    mock_api.get(INSTALLATION, status=404, json={"message": "Not Found"})
    with pytest.raises(ProviderError):
        GitHubAppAuth(123, 42, rsa_key[0], clock=Clock(NOW)).get_installation()
