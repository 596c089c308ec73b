"""Signed pushes from generic git hosts (provider ``git``): any host that can send a signed push.

One secret per config (``whsec_<base64>``, shown once) serves every scheme:

- Gitea / Forgejo: ``X-Gitea-Signature`` / ``X-Forgejo-Signature``, hex HMAC-SHA256 of the body
  keyed with the secret's text; delivery id ``X-Gitea-Delivery`` / ``X-Forgejo-Delivery``.
- Bitbucket Cloud: ``X-Hub-Signature: sha256=<hex HMAC>`` keyed the same way; ``X-Request-UUID``.
- GitLab signing tokens: Standard Webhooks ``webhook-id``/``webhook-timestamp``/
  ``webhook-signature`` (the ``standardwebhooks`` package: base64 key, 5-minute tolerance).

Comparisons are constant-time; the scheme is chosen by which signature header is present, and a
request carrying none of them is simply unsigned (401). Bitbucket's ``repo:push`` body is turned
into the ``ref``/``before``/``after`` shape the shared push handler reads.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from standardwebhooks.webhooks import Webhook

from sync.webhook_payload import BadPayload, text_field

ZERO = "0" * 40
MAX_CHANGES = 1000


def new_secret() -> str:
    """Standard Webhooks' form, so GitLab can take it as a signing token as it is."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def scheme_of(headers) -> str | None:
    if headers.get("X-Forgejo-Signature") is not None:
        return "forgejo"
    if headers.get("X-Gitea-Signature") is not None:
        return "gitea"
    if headers.get("webhook-signature") is not None:
        return "standard"
    if headers.get("X-Hub-Signature") is not None:
        return "bitbucket"
    return None


_EVENT = {"forgejo": ("X-Forgejo-Event", "X-Gitea-Event"), "gitea": ("X-Gitea-Event",),
          "standard": ("X-Gitlab-Event",), "bitbucket": ("X-Event-Key",)}
_DELIVERY = {"forgejo": ("X-Forgejo-Delivery", "X-Gitea-Delivery"), "gitea": ("X-Gitea-Delivery",),
             "standard": ("webhook-id",), "bitbucket": ("X-Request-UUID",)}


def _first(headers, names: tuple[str, ...]) -> str:
    return next((headers[n] for n in names if headers.get(n)), "")


def event_of(headers) -> str:
    scheme = scheme_of(headers)
    return _first(headers, _EVENT[scheme]) if scheme else ""


def delivery_id_of(headers) -> str:
    scheme = scheme_of(headers)
    return _first(headers, _DELIVERY[scheme]) if scheme else ""


def _hmac_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_valid(secret: str, body: bytes, headers) -> bool:
    """Whether ``headers`` sign ``body`` with ``secret`` under the scheme they name."""
    scheme = scheme_of(headers)
    if not secret or scheme is None:
        return False
    if scheme in ("gitea", "forgejo"):
        given = headers.get("X-Forgejo-Signature" if scheme == "forgejo" else "X-Gitea-Signature")
        return hmac.compare_digest(_hmac_hex(secret, body).encode(), given.encode())
    if scheme == "bitbucket":
        given = headers.get("X-Hub-Signature")
        return hmac.compare_digest(f"sha256={_hmac_hex(secret, body)}".encode(), given.encode())
    signed = {k: headers.get(k, "") for k in ("webhook-id", "webhook-timestamp",
                                               "webhook-signature")}
    try:
        Webhook(secret).verify(body, signed, json_parse=False)
    except Exception:  # noqa: BLE001 - any malformed header or body is just a bad signature
        return False
    return True


# --- Bitbucket's repo:push ------------------------------------------------------------------------
def _side(change: dict, key: str) -> tuple[str, str, str] | None:
    """(type, name, hash) of a change's ``old`` or ``new`` state, or None when absent."""
    side = change.get(key)
    if side is None:
        return None
    if not isinstance(side, dict) or not isinstance(side.get("target"), dict):
        raise BadPayload(f"push.changes[].{key} must be an object with a target")
    return (text_field(side, "type", required=True), text_field(side, "name", required=True),
            text_field(side["target"], "hash", required=True))


def bitbucket_push_payload(branch: str, payload: dict) -> dict:
    """The change to ``branch`` as ``{ref, before, after, deleted}`` (or another ref, to ignore)."""
    push = payload.get("push")
    changes = push.get("changes") if isinstance(push, dict) else None
    if not isinstance(changes, list) or len(changes) > MAX_CHANGES:
        raise BadPayload("push.changes must be a list")
    others = []
    for change in changes:
        if not isinstance(change, dict):
            raise BadPayload("push.changes[] must be objects")
        old, new = _side(change, "old"), _side(change, "new")
        kind, name, _ = new or old or ("", "", "")
        prefix = "refs/heads/" if kind in ("branch", "named_branch") else "refs/tags/"
        if kind in ("branch", "named_branch") and name == branch:
            return {"ref": prefix + name, "before": old[2] if old else ZERO,
                    "after": new[2] if new else ZERO, "deleted": new is None}
        if name:
            others.append(prefix + name)
    return {"ref": next((r for r in others if r.startswith("refs/heads/")), others[0] if others
                        else "")}
