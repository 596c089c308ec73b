"""Encrypted columns on models: each row's ciphertext is bound to (table, row id, org).

A model lists its encrypted columns in ``ENCRYPTED_FIELDS``; ``rotate_encryption_key`` finds every
such model, so a new secret column is rotated without touching the command.
"""

from __future__ import annotations

from connections.crypto import Aad, decrypt, encrypt


class EncryptedFieldsMixin:
    ENCRYPTED_FIELDS: tuple[str, ...] = ()

    def secret_aad(self) -> Aad:
        return Aad(table=self._meta.db_table, row_id=str(self.pk), org_id=str(self.org_id))

    def set_secret(self, field: str, plaintext: str | None) -> None:
        assert field in self.ENCRYPTED_FIELDS, field
        setattr(self, field, encrypt(plaintext, aad=self.secret_aad()) if plaintext else "")

    def get_secret(self, field: str) -> str:
        assert field in self.ENCRYPTED_FIELDS, field
        token = getattr(self, field)
        return decrypt(token, aad=self.secret_aad()) if token else ""
