"""Sending one signed delivery over the network guard (Standard Webhooks headers).

The URL is checked again at send time and every connection is pinned to checked addresses
(``core.netguard.pinned_session``), so a hook whose host later resolves inward is refused.
Redirects are not followed: a 3xx is an answer, and a failed one.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import requests
from standardwebhooks.webhooks import Webhook

from core.errors import UnsafeAddress
from core.netguard import check_url, pinned_session

TIMEOUT = (5, 15)  # connect, read
USER_AGENT = "Coregit-Sync-Webhooks/1"


@dataclass(frozen=True)
class SendResult:
    ok: bool
    response_code: int | None
    duration_ms: int
    error: str


def signed_headers(secret: str, message_id: str, body: str, now: datetime) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, now, body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


def send(*, url: str, secret: str, message_id: str, payload: dict) -> SendResult:
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    headers = signed_headers(secret, message_id, body, datetime.now(UTC))
    started = time.monotonic()
    try:
        target = check_url(url)
        with pinned_session(target) as session:
            response = session.post(url, data=body.encode(), headers=headers, timeout=TIMEOUT,
                                    allow_redirects=False)
            response.close()
    except UnsafeAddress as exc:
        return SendResult(False, None, _ms(started), exc.message[:500])
    except requests.RequestException as exc:
        # The exception class only: its text can carry the URL's query string.
        return SendResult(False, None, _ms(started), f"Request failed: {type(exc).__name__}")
    ok = 200 <= response.status_code < 300
    error = "" if ok else f"The endpoint answered HTTP {response.status_code}"
    return SendResult(ok, response.status_code, _ms(started), error)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
