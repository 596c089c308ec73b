import json

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from connections.clients import connection_client
from connections.models import Connection


@pytest.fixture(scope="module")
def rsa_key():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return key, pem


def test_github_app_connection_mints_and_caches_installation_tokens(api, rsps, rsa_key):
    key, pem = rsa_key
    minted = []

    def installation(request):
        claims = jwt.decode(request.headers["Authorization"].removeprefix("Bearer "),
                            key.public_key(), algorithms=["RS256"])
        assert claims["iss"] == "123"
        return 200, {}, json.dumps({"id": 42, "account": {"login": "acme-org"}})

    def access_token(request):
        minted.append(1)
        return 201, {}, json.dumps({"token": f"ghs_tok{len(minted)}",
                                    "expires_at": "2099-01-01T00:00:00Z"})

    rsps.add_callback("GET", "https://api.github.com/app/installations/42", callback=installation)
    rsps.add_callback("POST", "https://api.github.com/app/installations/42/access_tokens",
                      callback=access_token)
    resp = api.post("/v1/connections", {
        "provider": "github", "label": "App", "method": "github_app", "app_id": "123",
        "installation_id": "42", "private_key": pem}, format="json")
    assert resp.status_code == 201, resp.json()
    assert resp.json()["external_username"] == "acme-org"
    assert resp.json()["method"] == "github_app"
    conn = Connection.objects.get(id=resp.json()["id"])
    assert "PRIVATE KEY" not in conn.secret_ciphertext
    assert pem not in resp.content.decode()

    rsps.add("GET", "https://api.github.com/user", json={"login": "acme-org[bot]"})
    client = connection_client(conn)
    client.get_user()
    client.get_user()
    conn.refresh_from_db()
    assert conn.cached_token_ciphertext and "ghs_tok" not in conn.cached_token_ciphertext
    # One token for validation, one minted for use and then served from the encrypted cache.
    assert len(minted) == 2
    again = connection_client(Connection.objects.get(id=conn.id))
    again.get_user()
    assert len(minted) == 2
    used = [c.request.headers["Authorization"] for c in rsps.calls
            if c.request.url.endswith("/user")]
    assert used == ["Bearer ghs_tok2"] * 3
