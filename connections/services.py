"""Connections: validated against the provider before anything is stored."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from django.db import transaction

from accounts.models import Organization
from connections.clients import PROVIDER_NAMES, Credentials, app_auth, build_client
from connections.clients import stored_credentials as _stored
from connections.crypto import credentials_hash
from connections.models import Connection
from core.errors import BadRequest, ProviderError, ProviderRateLimited, ProviderUnavailable
from core.netguard import check_url

logger = logging.getLogger(__name__)


def _hash(creds: Credentials) -> str:
    return credentials_hash(creds.provider, creds.method, creds.host, creds.access_token,
                            creds.app_id, creds.installation_id, creds.private_key)


def _validation_error(creds: Credentials, exc: ProviderError) -> Exception:
    """Rejected credentials are the user's input problem (400); an unreachable provider is 502."""
    if isinstance(exc, ProviderUnavailable | ProviderRateLimited):
        return exc
    name = PROVIDER_NAMES[creds.provider]
    message = exc.message
    if "validation failed" not in message:
        message = f"{name} token validation failed: {message}"
    return BadRequest(message)


def credentials_validate(creds: Credentials) -> str:
    """Ask the provider who these credentials are; return the external username or raise."""
    try:
        if creds.method == Connection.Method.GITHUB_APP:
            auth = app_auth(creds)
            account = auth.get_installation().username
            auth.installation_token()  # proves the key can mint tokens for this installation
            return account
        return build_client(creds).get_user().username
    except ProviderError as exc:
        raise _validation_error(creds, exc) from None


def normalize_host(host: str) -> str:
    """``https://github.example.com`` (scheme and authority only), checked by the URL guard."""
    if not host:
        return ""
    parts = urlsplit(host.strip())
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise BadRequest("host must be a base URL such as https://github.example.com (no path)")
    check_url(host.strip())
    return f"{parts.scheme}://{parts.netloc}".lower()


def connection_create(*, org: Organization, creds: Credentials, label: str) -> Connection:
    creds = Credentials(**{**creds.__dict__, "host": normalize_host(creds.host)})
    username = credentials_validate(creds)
    conn = Connection(
        org=org, provider=creds.provider, method=creds.method, label=label, host=creds.host,
        external_username=username, app_id=creds.app_id, installation_id=creds.installation_id,
        credentials_hash=_hash(creds),
    )
    secret = creds.private_key if creds.method == Connection.Method.GITHUB_APP else creds.access_token
    conn.set_secret("secret_ciphertext", secret)
    conn.save(force_insert=True)
    return conn


def connection_update(
    *, connection: Connection, label: str | None = None, access_token: str | None = None,
    private_key: str | None = None,
) -> Connection:
    """Apply a PATCH. New credentials are validated first: if that fails nothing changes."""
    fields = ["updated_at"]
    is_app = connection.method == Connection.Method.GITHUB_APP
    if (access_token is not None and is_app) or (private_key is not None and not is_app):
        wrong = "access_token" if is_app else "private_key"
        raise BadRequest(f"{wrong} does not apply to a '{connection.method}' connection")
    if access_token is not None or private_key is not None:
        old = _stored(connection)
        creds = Credentials(**{
            **old.__dict__,
            "access_token": access_token if access_token is not None else old.access_token,
            "private_key": private_key if private_key is not None else old.private_key,
        })
        connection.external_username = credentials_validate(creds)
        secret = creds.private_key if creds.method == "github_app" else creds.access_token
        connection.set_secret("secret_ciphertext", secret)
        connection.set_secret("cached_token_ciphertext", "")
        connection.cached_token_expires_at = None
        connection.credentials_hash = _hash(creds)
        connection.version += 1
        fields += ["external_username", "secret_ciphertext", "cached_token_ciphertext",
                   "cached_token_expires_at", "credentials_hash", "version"]
    if label is not None:
        connection.label = label
        fields.append("label")
    connection.save(update_fields=fields)
    return connection


def connection_test(*, connection: Connection) -> dict:
    """Validate the stored credentials without changing anything."""
    try:
        return {"valid": True, "username": credentials_validate(_stored(connection))}
    except (BadRequest, ProviderError) as exc:
        return {"valid": False, "error": exc.message}


def connection_delete(*, connection: Connection) -> list[str]:
    """Delete the connection; its sync configs go with it. Their webhooks are removed after the
    commit, best effort: returns the warnings of those the provider would not remove."""
    from connections.signals import connection_deleting

    with transaction.atomic():
        replies = connection_deleting.send(sender=Connection, connection=connection)
        connection.delete()
    # The receivers' lists were filled by their on-commit removals as the block above committed.
    return [w for _, reply in replies if isinstance(reply, list) for w in reply]
