"""Encryption of stored secrets: row binding and key rotation through the real models."""

import pytest
from django.core.management import call_command

from connections import crypto
from connections.models import Connection, GitCredential

OLD = "k1:MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI="


@pytest.fixture
def keyring(settings):
    def use(value: str) -> None:
        settings.COREGIT_ENCRYPTION_KEYS = value
        crypto.reset_keyring_cache()

    yield use
    crypto.reset_keyring_cache()


def _conn(org, token="ghp_secret"):
    conn = Connection(org=org, provider="github", label="x", credentials_hash="h")
    conn.set_secret("secret_ciphertext", token)
    conn.save()
    return conn


def test_ciphertext_copied_to_another_row_fails(org):
    a, b = _conn(org, "ghp_a"), _conn(org, "ghp_b")
    b.secret_ciphertext = a.secret_ciphertext
    with pytest.raises(crypto.DecryptionError) as err:
        b.get_secret("secret_ciphertext")
    assert "ghp_a" not in str(err.value)


def test_rotation_reencrypts_everything_with_the_new_key(org, api, keyring):
    keyring(OLD)
    conn = _conn(org)
    repo = api.post("/v1/repos", {"slug": "app"}, format="json").json()
    made = api.post("/v1/repos/git-credentials", {"repo_id": repo["id"], "password": "pw1"},
                    format="json")
    assert made.status_code == 201
    new = crypto.generate_key_string("k2")
    keyring(f"{new},{OLD}")
    call_command("rotate_encryption_key", stdout=open("/dev/null", "w"))
    keyring(new)  # the old key is gone
    assert Connection.objects.get(id=conn.id).get_secret("secret_ciphertext") == "ghp_secret"
    cred = GitCredential.objects.get()
    assert cred.get_secret("password_ciphertext") == "pw1"
    assert not crypto.needs_rotation(cred.password_ciphertext)
