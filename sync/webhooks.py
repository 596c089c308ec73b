"""Provider webhook receivers: verify, record the delivery, enqueue. Never call a provider.

Each provider has a verifier (constant-time) and a dispatch table from event to handler; unknown
events are acknowledged and ignored. Deliveries are de-duplicated by the provider's delivery id.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from sync.engine.refspecs import RefFilter
from sync.models import SyncConfig, SyncRun, WebhookDelivery
from sync.run_services import sync_run_request

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


VERIFIERS: dict[str, Callable[[SyncConfig, Delivery], bool]] = {
    "github": _github_valid, "gitlab": _gitlab_valid,
}


# --- push handling ------------------------------------------------------------------------------
def _push(config: SyncConfig, payload: dict) -> tuple[str, SyncRun | None]:
    ref = payload.get("ref") or ""
    if config.mode == SyncConfig.Mode.MIRROR:
        return _mirror_push(config, ref)
    after = payload.get("after") or payload.get("checkout_sha") or ""
    if not ref.startswith("refs/heads/"):
        return "ignored:not_a_branch", None
    if ref != f"refs/heads/{config.branch}":
        return "ignored:other_branch", None
    if payload.get("deleted") or not after or after == ZERO:
        return "ignored:branch_deleted", None
    if not (config.auto_sync and config.direction == "import"):
        return "ignored:auto_sync_off", None
    if config.auto_sync_paused:
        return "ignored:auto_sync_paused", None
    run = sync_run_request(config=config, trigger=SyncRun.Trigger.WEBHOOK)
    return "queued", run


def _mirror_push(config: SyncConfig, ref: str) -> tuple[str, SyncRun | None]:
    """Any matching branch or tag, created, moved or deleted: one coalesced mirror import."""
    if not RefFilter(config.branch_patterns, config.tags)(ref.encode()):
        return "ignored:other_ref", None
    if not (config.auto_sync and config.direction == "import"):
        return "ignored:auto_sync_off", None
    if config.auto_sync_paused:
        return "ignored:auto_sync_paused", None
    return "queued", sync_run_request(config=config, trigger=SyncRun.Trigger.WEBHOOK)


def _tag_push(config: SyncConfig, payload: dict) -> tuple[str, SyncRun | None]:
    """GitLab's separate tag event: only mirror configs follow tags."""
    ref = payload.get("ref") or ""
    if config.mode != SyncConfig.Mode.MIRROR or not ref.startswith("refs/tags/"):
        return "ignored:event", None
    return _mirror_push(config, ref)


def _ping(config: SyncConfig, payload: dict) -> tuple[str, SyncRun | None]:
    return "pong", None


HANDLERS: dict[str, dict[str, Callable[[SyncConfig, dict], tuple[str, SyncRun | None]]]] = {
    "github": {"push": _push, "ping": _ping},
    "gitlab": {"Push Hook": _push, "Tag Push Hook": _tag_push},
}


def _record(delivery: Delivery, config: SyncConfig, outcome: str, run: SyncRun | None) -> None:
    WebhookDelivery.objects.create(
        provider=delivery.provider, delivery_id=delivery.delivery_id, event=delivery.event,
        config=config, outcome=outcome, run=run,
    )


def webhook_receive(*, delivery: Delivery, candidates: list[SyncConfig]) -> Outcome:
    """Authenticate against the candidate configs, then record and dispatch the delivery."""
    verify = VERIFIERS[delivery.provider]
    config = next((c for c in candidates if verify(c, delivery)), None)
    if config is None:
        return Outcome(401, {"error": "Invalid or missing webhook signature",
                             "code": "webhook.bad_signature"})
    if not delivery.delivery_id or len(delivery.delivery_id) > MAX_DELIVERY_ID:
        return Outcome(400, {"error": "Missing or oversized delivery id header",
                             "code": "webhook.bad_id"})
    handler = HANDLERS[delivery.provider].get(delivery.event)
    try:
        payload = json.loads(delivery.body) if handler else {}
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        return Outcome(400, {"error": "Body is not a JSON object", "code": "webhook.bad_body"})
    try:
        with transaction.atomic():
            if WebhookDelivery.objects.filter(provider=delivery.provider, config=config,
                                              delivery_id=delivery.delivery_id).exists():
                return Outcome(200, {"status": "duplicate"})
            outcome, run = handler(config, payload) if handler else ("ignored:event", None)
            _record(delivery, config, outcome, run)
    except IntegrityError:  # a concurrent redelivery won the race
        return Outcome(200, {"status": "duplicate"})
    body = {"status": outcome}
    if run is not None:
        body["run_id"] = run.id
    return Outcome(202 if run else 200, body)
