"""Unit tests for connections.crypto (no database)."""

import base64

import pytest
from django.test import override_settings

from connections import crypto
from connections.crypto import (
    Aad,
    DecryptionError,
    Keyring,
    credentials_hash,
    decrypt,
    encrypt,
    generate_key_string,
    get_keyring,
    needs_rotation,
    reencrypt,
    reset_keyring_cache,
)
from core.errors import CoregitError

SECRET = "ghp_SuperSecretToken1234567890"
AAD = Aad(table="connections_connection", row_id="conn_1", org_id="org_1")


def _key(byte: int) -> str:
    return base64.b64encode(bytes([byte]) * 32).decode()


OLD = Keyring.from_string(f"k0:{_key(0)}")
NEW_ONLY = Keyring.from_string(f"k1:{_key(1)}")
ROTATED = Keyring.from_string(f"k1:{_key(1)},k0:{_key(0)}")


def _payload(token: str) -> tuple[str, bytes]:
    head, _, body = token.rpartition(".")
    return head, base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))


def _with_payload(head: str, raw: bytes) -> str:
    return f"{head}.{base64.urlsafe_b64encode(raw).decode().rstrip('=')}"


def test_round_trip_and_format():
    token = encrypt(SECRET, aad=AAD, keyring=OLD)
    assert token.startswith("v1.k0.")
    assert SECRET not in token
    assert decrypt(token, aad=AAD, keyring=OLD) == SECRET


def test_round_trip_unicode_and_empty():
    for text in ("", "pässwörd ✓", "x" * 10_000):
        assert decrypt(encrypt(text, aad=AAD, keyring=OLD), aad=AAD, keyring=OLD) == text


def test_fresh_nonce_every_encryption():
    a, b = (encrypt(SECRET, aad=AAD, keyring=OLD) for _ in range(2))
    assert a != b
    assert _payload(a)[1][:12] != _payload(b)[1][:12]


def test_flipped_byte_anywhere_fails():
    token = encrypt(SECRET, aad=AAD, keyring=OLD)
    head, raw = _payload(token)
    for i in range(len(raw)):
        tampered = bytearray(raw)
        tampered[i] ^= 0x01
        with pytest.raises(DecryptionError):
            decrypt(_with_payload(head, bytes(tampered)), aad=AAD, keyring=OLD)


def test_changed_character_in_token_text_fails():
    token = encrypt(SECRET, aad=AAD, keyring=OLD)
    for i in range(len(token)):
        replacement = "A" if token[i] != "A" else "B"
        tampered = token[:i] + replacement + token[i + 1 :]
        with pytest.raises(DecryptionError):
            decrypt(tampered, aad=AAD, keyring=OLD)


@pytest.mark.parametrize(
    "other",
    [
        Aad(table="connections_connection", row_id="conn_2", org_id="org_1"),
        Aad(table="repos_gitcredential", row_id="conn_1", org_id="org_1"),
        Aad(table="connections_connection", row_id="conn_1", org_id="org_2"),
    ],
    ids=["row", "table", "org"],
)
def test_ciphertext_bound_to_its_row(other):
    token = encrypt(SECRET, aad=AAD, keyring=OLD)
    with pytest.raises(DecryptionError):
        decrypt(token, aad=other, keyring=OLD)


def test_aad_encoding_is_unambiguous():
    a = Aad(table="ab", row_id="c", org_id="d")
    b = Aad(table="a", row_id="bc", org_id="d")
    assert a.encode("v1.k") != b.encode("v1.k")
    token = encrypt(SECRET, aad=a, keyring=OLD)
    with pytest.raises(DecryptionError):
        decrypt(token, aad=b, keyring=OLD)


def test_aad_requires_values():
    with pytest.raises(ValueError):
        Aad(table="t", row_id="", org_id="o")


def test_rotation_old_tokens_still_decrypt_and_need_rotation():
    old_token = encrypt(SECRET, aad=AAD, keyring=OLD)
    assert decrypt(old_token, aad=AAD, keyring=ROTATED) == SECRET
    assert needs_rotation(old_token, ROTATED) is True
    assert needs_rotation(old_token, OLD) is False
    assert encrypt(SECRET, aad=AAD, keyring=ROTATED).startswith("v1.k1.")


def test_reencrypt_then_only_new_key_needed():
    old_token = encrypt(SECRET, aad=AAD, keyring=OLD)
    new_token = reencrypt(old_token, aad=AAD, keyring=ROTATED)
    assert new_token.startswith("v1.k1.")
    assert needs_rotation(new_token, ROTATED) is False
    assert decrypt(new_token, aad=AAD, keyring=NEW_ONLY) == SECRET
    with pytest.raises(DecryptionError):
        decrypt(old_token, aad=AAD, keyring=NEW_ONLY)


def test_unknown_kid_fails_with_clear_error():
    token = encrypt(SECRET, aad=AAD, keyring=OLD)
    with pytest.raises(DecryptionError, match="key id 'k0'"):
        decrypt(token, aad=AAD, keyring=NEW_ONLY)


def test_same_kid_but_different_key_fails():
    token = encrypt(SECRET, aad=AAD, keyring=OLD)
    impostor = Keyring.from_string(f"k0:{_key(9)}")
    with pytest.raises(DecryptionError):
        decrypt(token, aad=AAD, keyring=impostor)


@pytest.mark.parametrize(
    "token",
    ["", "garbage", "v1.k0", "v2.k0.AAAA", "v1.bad kid.AAAA", "v1.k0.!!!!", "v1.k0.AAAA", None],
)
def test_malformed_tokens(token):
    with pytest.raises(DecryptionError):
        decrypt(token, aad=AAD, keyring=OLD)


def test_decryption_error_reveals_nothing():
    token = encrypt(SECRET, aad=AAD, keyring=OLD)
    with pytest.raises(DecryptionError) as info:
        decrypt(token, aad=Aad(table="t", row_id="r", org_id="o"), keyring=OLD)
    err = info.value
    assert isinstance(err, CoregitError)
    assert err.code == "crypto.decrypt_failed"
    for text in (str(err), repr(err), err.message):
        assert SECRET not in text and token not in text and _key(0) not in text
    assert err.__cause__ is None and err.__suppress_context__  # no chained details


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", "is empty"),
        ("  ,  ", "is empty"),
        (_key(1), "entry 1 is not 'kid:base64key'"),
        ("k1:", "entry 1 is not 'kid:base64key'"),
        (f"bad kid:{_key(1)}", "invalid key id"),
        ("k1:not base64!!", "key 'k1' is not valid base64"),
        (f"k1:{base64.b64encode(b'x' * 16).decode()}", "16 bytes"),
        (f"k1:{_key(1)},k1:{_key(2)}", "appears twice"),
    ],
)
def test_bad_keyring_strings(value, problem):
    with pytest.raises(ValueError, match=problem) as info:
        Keyring.from_string(value)
    assert _key(1) not in str(info.value)


def test_keyring_accepts_urlsafe_and_whitespace():
    raw = bytes(range(250, 256)) * 5 + b"\xfb\xff"
    assert len(raw) == 32
    urlsafe = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    ring = Keyring.from_string(f" k2:{urlsafe} , k1:{_key(1)} ,")
    assert ring.kids == ("k2", "k1") and ring.primary == "k2"
    assert ring.key("k2") == raw


def test_keyring_repr_hides_keys():
    assert _key(1) not in repr(ROTATED)
    assert "\\x01" not in repr(ROTATED)


def test_generate_key_string_round_trips():
    value = generate_key_string("k7")
    ring = Keyring.from_string(value)
    assert ring.primary == "k7" and len(ring.key("k7")) == 32
    assert generate_key_string("k7") != value
    with pytest.raises(ValueError):
        generate_key_string("no good")


def test_get_keyring_reads_settings_and_follows_overrides():
    reset_keyring_cache()
    with override_settings(COREGIT_ENCRYPTION_KEYS=f"k5:{_key(5)},k4:{_key(4)}"):
        assert get_keyring().kids == ("k5", "k4")
        assert get_keyring() is get_keyring()  # cached
        token = encrypt(SECRET, aad=AAD)
        assert token.startswith("v1.k5.") and decrypt(token, aad=AAD) == SECRET
    with override_settings(COREGIT_ENCRYPTION_KEYS=f"k6:{_key(6)}"):
        assert get_keyring().kids == ("k6",)
    reset_keyring_cache()
    assert crypto._cache is None


def test_get_keyring_bad_setting_raises():
    reset_keyring_cache()
    with override_settings(COREGIT_ENCRYPTION_KEYS="nope"):
        with pytest.raises(ValueError, match="COREGIT_ENCRYPTION_KEYS"):
            get_keyring()
    reset_keyring_cache()


def test_credentials_hash_properties():
    h = credentials_hash("token", SECRET, key=b"k")
    assert h.startswith("v1:") and len(h) == 3 + 64
    assert SECRET not in h
    assert h == credentials_hash("token", SECRET, key=b"k")
    assert h != credentials_hash("token", SECRET + "x", key=b"k")
    assert h != credentials_hash("token", SECRET, key=b"other")
    # Part boundaries matter.
    assert credentials_hash("ab", "c", key="k") != credentials_hash("a", "bc", key="k")


def test_credentials_hash_defaults_to_secret_key():
    with override_settings(SECRET_KEY="one"):
        one = credentials_hash("x")
        assert one == credentials_hash("x", key="one")
    with override_settings(SECRET_KEY="two"):
        assert credentials_hash("x") != one


def test_credentials_hash_rejects_non_str():
    with pytest.raises(TypeError):
        credentials_hash("a", None, key="k")
