"""AES-256-GCM encryption of stored secrets (SPEC §3 "Encryption of secrets").

Token text: ``v1.<kid>.<urlsafe-b64(nonce || ciphertext+tag)>``. The key id travels with the
ciphertext so old rows keep decrypting after a rotation; the associated data binds a token to its
(table, row, org) so a ciphertext copied to another row fails to decrypt. Django is only touched
lazily (``get_keyring`` and ``credentials_hash`` read settings) so the core is plain Python.

Nothing here ever puts a key, a plaintext or a token into an exception message or a repr.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.errors import CoregitError

VERSION = "v1"
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # 96-bit GCM nonce, random per encryption
TAG_BYTES = 16
SETTING = "COREGIT_ENCRYPTION_KEYS"
_KID = re.compile(r"[A-Za-z0-9_-]{1,32}")
_FORMAT_HINT = "expected 'kid:base64key[,kid:base64key...]'"
_HASH_INFO = b"coregit-sync credentials_hash v1"


class DecryptionError(CoregitError):
    code = "crypto.decrypt_failed"
    http_status = 500
    default_message = "A stored secret could not be decrypted"


@dataclass(frozen=True)
class Aad:
    """The row a ciphertext belongs to; part of the GCM associated data."""

    table: str
    row_id: str
    org_id: str

    def __post_init__(self) -> None:
        for name in ("table", "row_id", "org_id"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"Aad.{name} must be a non-empty string")

    def encode(self, header: str) -> bytes:
        # Length-prefixed fields: ("a", "bc") and ("ab", "c") must never encode the same way.
        out = bytearray()
        for part in (header, self.table, self.row_id, self.org_id):
            raw = part.encode("utf-8")
            out += len(raw).to_bytes(4, "big") + raw
        return bytes(out)


@dataclass(frozen=True, eq=False)
class Keyring:
    """Ordered keys: the first encrypts, every one decrypts."""

    kids: tuple[str, ...]
    _keys: dict[str, bytes] = field(repr=False)

    @property
    def primary(self) -> str:
        return self.kids[0]

    def key(self, kid: str) -> bytes | None:
        return self._keys.get(kid)

    @classmethod
    def from_string(cls, value: str) -> Keyring:
        entries = [e.strip() for e in (value or "").split(",") if e.strip()]
        if not entries:
            raise ValueError(f"{SETTING} is empty; {_FORMAT_HINT}")
        keys: dict[str, bytes] = {}
        for position, entry in enumerate(entries, start=1):
            kid, key = _parse_entry(position, entry)
            if kid in keys:
                raise ValueError(f"{SETTING}: key id '{kid}' appears twice")
            keys[kid] = key
        return cls(kids=tuple(keys), _keys=keys)


def _parse_entry(position: int, entry: str) -> tuple[str, bytes]:
    kid, sep, encoded = entry.partition(":")
    kid, encoded = kid.strip(), encoded.strip()
    if not sep or not encoded:
        # Never echo the entry: it may be a bare key.
        raise ValueError(f"{SETTING}: entry {position} is not 'kid:base64key'; {_FORMAT_HINT}")
    if not _KID.fullmatch(kid):
        raise ValueError(
            f"{SETTING}: entry {position} has an invalid key id "
            "(use 1-32 letters, digits, '_' or '-')"
        )
    key = _b64decode(encoded)
    if key is None:
        raise ValueError(f"{SETTING}: key '{kid}' is not valid base64")
    if len(key) != KEY_BYTES:
        raise ValueError(
            f"{SETTING}: key '{kid}' is {len(key)} bytes after base64 decoding; "
            f"AES-256 needs exactly {KEY_BYTES}"
        )
    return kid, key


def _b64decode(text: str) -> bytes | None:
    """Standard or URL-safe base64, padding optional."""
    normalized = text.replace("-", "+").replace("_", "/")
    normalized += "=" * (-len(normalized) % 4)
    try:
        return base64.b64decode(normalized, validate=True)
    except (binascii.Error, ValueError):
        return None


def generate_key_string(kid: str = "k1") -> str:
    """A fresh ``kid:base64key`` entry for COREGIT_ENCRYPTION_KEYS."""
    if not _KID.fullmatch(kid):
        raise ValueError("key id must be 1-32 letters, digits, '_' or '-'")
    return f"{kid}:{base64.b64encode(os.urandom(KEY_BYTES)).decode('ascii')}"


# --- keyring from settings ----------------------------------------------------------------------
_cache: tuple[str, Keyring] | None = None


def get_keyring() -> Keyring:
    """The keyring from ``settings.COREGIT_ENCRYPTION_KEYS``, parsed once per distinct value
    (so ``override_settings`` in tests takes effect without a manual reset)."""
    global _cache
    from django.conf import settings

    value = getattr(settings, SETTING, "")
    cached = _cache
    if cached is not None and cached[0] == value:
        return cached[1]
    keyring = Keyring.from_string(value)
    _cache = (value, keyring)
    return keyring


def reset_keyring_cache() -> None:
    global _cache
    _cache = None


# --- encrypt / decrypt --------------------------------------------------------------------------
def encrypt(plaintext: str, *, aad: Aad, keyring: Keyring | None = None) -> str:
    if not isinstance(plaintext, str):
        raise TypeError("plaintext must be a str")
    ring = keyring or get_keyring()
    kid = ring.primary
    header = f"{VERSION}.{kid}"
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(ring.key(kid)).encrypt(nonce, plaintext.encode("utf-8"), aad.encode(header))
    return f"{header}.{_b64encode(nonce + sealed)}"


def decrypt(token: str, *, aad: Aad, keyring: Keyring | None = None) -> str:
    ring = keyring or get_keyring()
    kid, payload = _split(token)
    key = ring.key(kid)
    if key is None:
        raise DecryptionError(
            f"The secret was encrypted with key id '{kid}', which is not in {SETTING}"
        )
    nonce, sealed = payload[:NONCE_BYTES], payload[NONCE_BYTES:]
    try:
        data = AESGCM(key).decrypt(nonce, sealed, aad.encode(f"{VERSION}.{kid}"))
        return data.decode("utf-8")
    except (InvalidTag, UnicodeDecodeError):
        # Tampered bytes, another row's ciphertext or a wrong key all look the same to GCM.
        raise DecryptionError(
            "The secret failed authentication (tampered, wrong key, or copied from another row)"
        ) from None


def needs_rotation(token: str, keyring: Keyring | None = None) -> bool:
    """True when the token is not encrypted with the first (current) key."""
    ring = keyring or get_keyring()
    kid, _ = _split(token)
    return kid != ring.primary


def reencrypt(token: str, *, aad: Aad, keyring: Keyring | None = None) -> str:
    """Decrypt with whichever key the token names, encrypt again with the first key."""
    ring = keyring or get_keyring()
    return encrypt(decrypt(token, aad=aad, keyring=ring), aad=aad, keyring=ring)


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _split(token: str) -> tuple[str, bytes]:
    malformed = DecryptionError("The stored secret is not a valid encrypted token")
    if not isinstance(token, str):
        raise malformed
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != VERSION or not _KID.fullmatch(parts[1]):
        raise malformed
    text = parts[2]
    try:
        payload = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise malformed from None
    # Canonical form only, so a changed character can never decode to the same bytes.
    if _b64encode(payload) != text or len(payload) < NONCE_BYTES + TAG_BYTES:
        raise malformed
    return parts[1], payload


# --- credentials hash ---------------------------------------------------------------------------
def credentials_hash(*parts: str, key: bytes | str | None = None) -> str:
    """``v1:<hex HMAC-SHA256>`` over the parts: equal iff the credentials are equal, not
    reversible, and useless without the server key (derived from SECRET_KEY by default)."""
    mac = hmac.new(_hash_key(key), digestmod=hashlib.sha256)
    for part in parts:
        if not isinstance(part, str):
            raise TypeError("credentials_hash parts must be str")
        raw = part.encode("utf-8")
        mac.update(len(raw).to_bytes(4, "big") + raw)
    return f"v1:{mac.hexdigest()}"


def _hash_key(key: bytes | str | None) -> bytes:
    if key is None:
        from django.conf import settings

        key = settings.SECRET_KEY
    material = key.encode("utf-8") if isinstance(key, str) else key
    if not material:
        raise ValueError("credentials_hash needs a non-empty key")
    # A derived sub-key: the hash never reuses SECRET_KEY directly (domain separation).
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HASH_INFO).derive(material)
