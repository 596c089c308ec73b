"""Provider webhook intake: verify, record the delivery, enqueue. Never call a provider.

Each provider has a verifier (constant-time) and a dispatch table from event to handler; unknown
events are acknowledged and ignored. Deliveries are de-duplicated by the provider's delivery id,
and pushes by the shas they moved between, so a captured delivery replayed under a new id queues
nothing. Every field of the (signed, but foreign) payload is shape-checked before use.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from sync import generic_host_signatures
from sync.engine.refspecs import RefFilter
from sync.models import SyncConfig, SyncRun, WebhookDelivery
from sync.run_services import run_joinable, sync_run_request
from sync.selectors import webhook_candidates
from sync.webhook_payload import (
    BadPayload,
    clean_header,
    event_header,
    parse_object,
    repository_name,
    sha_field,
    text_field,
)

logger = logging.getLogger(__name__)
ZERO = "0" * 40
MAX_DELIVERY_ID = 128


@dataclass(frozen=True)
class Delivery:
    provider: str
    event: str
    delivery_id: str
    body: bytes
    headers: dict


@dataclass(frozen=True)
class Outcome:
    status: int
    body: dict


# --- verification -------------------------------------------------------------------------------
def _github_valid(config: SyncConfig, delivery: Delivery) -> bool:
    given = delivery.headers.get("X-Hub-Signature-256", "")
    if not given.startswith("sha256=") or not config.webhook_secret_ciphertext:
        return False
    secret = config.get_secret("webhook_secret_ciphertext").encode()
    expected = "sha256=" + hmac.new(secret, delivery.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), given.encode())


def _gitlab_valid(config: SyncConfig, delivery: Delivery) -> bool:
    given = delivery.headers.get("X-Gitlab-Token", "")
    if not given or not config.webhook_secret_ciphertext:
        return False
    secret = config.get_secret("webhook_secret_ciphertext")
    return hmac.compare_digest(secret.encode(), given.encode())


def _generic_valid(config: SyncConfig, delivery: Delivery) -> bool:
    if config.provider != SyncConfig.Provider.GIT or not config.webhook_secret_ciphertext:
        return False
    return generic_host_signatures.signature_valid(
        config.get_secret("webhook_secret_ciphertext"), delivery.body, delivery.headers)


VERIFIERS: dict[str, Callable[[SyncConfig, Delivery], bool]] = {
    "github": _github_valid, "gitlab": _gitlab_valid, "git": _generic_valid,
}


# --- push handling ------------------------------------------------------------------------------
def _push(config: SyncConfig, payload: dict) -> tuple[str, SyncRun | None]:
    ref = text_field(payload, "ref")
    after = sha_field(payload, "after") or sha_field(payload, "checkout_sha")
    sha_field(payload, "before")  # checked up front: a malformed sha is a 4xx, never a 500
    if config.mode == SyncConfig.Mode.MIRROR:
        return _mirror_push(config, payload)
    if not ref.startswith("refs/heads/"):
        return "ignored:not_a_branch", None
    if ref != f"refs/heads/{config.branch}":
        return "ignored:other_branch", None
    if payload.get("deleted") is True or not after or after == ZERO:
        return "ignored:branch_deleted", None
    return _queue_import(config, payload)


def _queue_import(config: SyncConfig, payload: dict) -> tuple[str, SyncRun | None]:
    """A push the config follows: one coalesced import, unless auto-sync is off or paused or the
    push was seen before."""
    if not (config.auto_sync and config.direction == "import"):
        return "ignored:auto_sync_off", None
    if config.auto_sync_paused:
        return "ignored:auto_sync_paused", None
    if _replayed(config, payload):
        return "ignored:duplicate_push", None
    return "queued", sync_run_request(config=config, trigger=SyncRun.Trigger.WEBHOOK)


def push_key(payload: dict) -> str:
    """One push: its ref and the shas it moved between. A later push of the same sha (a revert
    to it, a force-push back) has another ``before`` and so is a new push."""
    after = sha_field(payload, "after") or sha_field(payload, "checkout_sha")
    return f"{text_field(payload, 'ref')} {sha_field(payload, 'before')}..{after}"


def _replayed(config: SyncConfig, payload: dict) -> bool:
    """The same push, delivered again under a new delivery id (a replayed capture)."""
    key = push_key(payload)
    if key == getattr(config, "hinted_push_key", None):
        return config.seen_push  # read with the config (webhook_candidates)
    return WebhookDelivery.objects.filter(config=config, push_key=key).exists()


def hinted_push_key(payload: dict | None) -> str:
    """The push key of an unverified payload, looked up with the candidate configs; "" when the
    payload is no plain push (a handler that reads it otherwise then queries instead)."""
    try:
        return push_key(payload) if payload and sha_field(payload, "after") else ""
    except BadPayload:
        return ""


def _mirror_push(config: SyncConfig, payload: dict) -> tuple[str, SyncRun | None]:
    """Any matching branch or tag, created, moved or deleted: one coalesced mirror import."""
    if not RefFilter(config.branch_patterns, config.tags)(text_field(payload, "ref").encode()):
        return "ignored:other_ref", None
    return _queue_import(config, payload)


def _tag_push(config: SyncConfig, payload: dict) -> tuple[str, SyncRun | None]:
    """GitLab's separate tag event: only mirror configs follow tags."""
    ref = text_field(payload, "ref")
    if config.mode != SyncConfig.Mode.MIRROR or not ref.startswith("refs/tags/"):
        return "ignored:event", None
    return _mirror_push(config, payload)


def _ping(config: SyncConfig, payload: dict) -> tuple[str, SyncRun | None]:
    return "pong", None


HANDLERS: dict[str, dict[str, Callable[[SyncConfig, dict], tuple[str, SyncRun | None]]]] = {
    "github": {"push": _push, "ping": _ping},
    "gitlab": {"Push Hook": _push, "Tag Push Hook": _tag_push},
    # Gitea/Forgejo, GitLab (signing token) and Bitbucket (normalized first, see PAYLOADS).
    "git": {"push": _push, "Push Hook": _push, "repo:push": _push},
}
# Payloads of another shape, turned into the {ref, before, after} the push handler reads.
PAYLOADS: dict[tuple[str, str], Callable[[SyncConfig, dict], dict]] = {
    ("git", "repo:push"): lambda config, p: generic_host_signatures.bitbucket_push_payload(
        config.branch, p),
}


def _named_repository(provider: str, payload: dict | None) -> str:
    """The repository the shared URL's payload names ("" for none): every shape of JSON (or
    none) must simply find nothing, as the body is not authenticated yet."""
    if provider == "git":
        return ""
    key, field = ("repository", "full_name") if provider == "github" else (
        "project", "path_with_namespace")
    return repository_name(payload, key, field) or ""


def _record(delivery: Delivery, config: SyncConfig, outcome: str, run: SyncRun | None,
            payload: dict) -> None:
    key = ""
    if outcome == "queued":
        key = push_key(payload)
    WebhookDelivery.objects.create(
        provider=delivery.provider, delivery_id=delivery.delivery_id, event=delivery.event,
        config=config, outcome=outcome, run=run, push_key=key,
    )


def webhook_receive(*, delivery: Delivery, config_id: str | None) -> Outcome:
    """Authenticate against the candidate configs, then record and dispatch the delivery.

    The unverified body is read once, to find the candidates (the shared URL names no config)
    and to look up, in the same query, what answers most deliveries: seen before, or joining the
    run already queued. Nothing in it is trusted until a candidate's secret verifies it."""
    unverified = parse_object(delivery.body)
    candidates = webhook_candidates(
        provider=delivery.provider, config_id=config_id,
        remote=_named_repository(delivery.provider, unverified),
        delivery_id=clean_header(delivery.delivery_id, MAX_DELIVERY_ID) or "",
        push_key=hinted_push_key(unverified))
    verify = VERIFIERS[delivery.provider]
    config = next((c for c in candidates if verify(c, delivery)), None)
    if config is None:
        return Outcome(401, {"error": "Invalid or missing webhook signature",
                             "code": "webhook.bad_signature"})
    if clean_header(delivery.delivery_id, MAX_DELIVERY_ID) is None:
        return Outcome(400, {"error": "Missing or malformed delivery id header",
                             "code": "webhook.bad_id"})
    if event_header(delivery.event) is None:
        return Outcome(400, {"error": "Malformed event header", "code": "webhook.bad_event"})
    handler = HANDLERS[delivery.provider].get(delivery.event)
    payload = unverified if handler else {}
    if payload is None:
        return Outcome(400, {"error": "Body is not a JSON object", "code": "webhook.bad_body"})
    # Redeliveries are answered from the candidates' read, outside any transaction (SQLite's
    # would take the write lock). One that races its first copy is caught by the unique
    # constraint below, and rolling back discards whatever its handler queued.
    if config.seen_delivery:
        return Outcome(200, {"status": "duplicate"})
    try:
        if normalize := PAYLOADS.get((delivery.provider, delivery.event)):
            payload = normalize(config, payload)
        # A delivery that joins the queued run writes its row alone: no transaction to open.
        with contextlib.nullcontext() if run_joinable(config) else transaction.atomic():
            outcome, run = handler(config, payload) if handler else ("ignored:event", None)
            _record(delivery, config, outcome, run, payload)
    except BadPayload as exc:
        return Outcome(400, {"error": f"Malformed push payload: {exc}",
                             "code": "webhook.bad_body"})
    except IntegrityError:  # a concurrent redelivery (or replay of the same push) won the race
        return Outcome(200, {"status": "duplicate"})
    body = {"status": outcome}
    if run is not None:
        body["run_id"] = run.id
    return Outcome(202 if run else 200, body)
