"""HTTP edge of the webhook receivers: size cap, header extraction, candidate lookup."""

import json

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from sync.models import SyncConfig
from sync.webhooks import Delivery, webhook_receive

EVENT_HEADERS = {"github": "X-GitHub-Event", "gitlab": "X-Gitlab-Event"}


def _delivery_id(provider: str, headers) -> str:
    if provider == "github":
        return headers.get("X-GitHub-Delivery", "")
    # GitLab: Idempotency-Key survives retries; X-Gitlab-Event-UUID is shared by every hook of
    # one event, so it must never be used here.
    return headers.get("Idempotency-Key") or headers.get("X-Gitlab-Webhook-UUID", "")


def _candidates(provider: str, config_id: str | None, body: bytes) -> list[SyncConfig]:
    qs = SyncConfig.objects.select_related("connection").filter(provider=provider)
    if config_id:
        return list(qs.filter(id=config_id))
    # The shared URL: match configs following the repository the payload names. The body is not
    # authenticated yet, so every shape of JSON (or none) must simply find nothing.
    try:
        payload = json.loads(body)
    except ValueError:
        return []
    key, field = ("repository", "full_name") if provider == "github" else (
        "project", "path_with_namespace")
    holder = payload.get(key) if isinstance(payload, dict) else None
    name = holder.get(field) if isinstance(holder, dict) else None
    return list(qs.filter(remote__iexact=name)) if isinstance(name, str) and name else []


@csrf_exempt
@require_POST
def receive(request, provider: str, config_id: str | None = None):
    limit = settings.COREGIT_MAX_WEBHOOK_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return JsonResponse({"error": "Invalid Content-Length", "code": "webhook.bad_length"},
                            status=400)
    body = request.read(limit + 1) if declared <= limit else b""
    if declared > limit or len(body) > limit:
        return JsonResponse({"error": "Payload too large", "code": "webhook.too_large"},
                            status=413)
    delivery = Delivery(provider=provider, event=request.headers.get(EVENT_HEADERS[provider], ""),
                        delivery_id=_delivery_id(provider, request.headers), body=body,
                        headers=request.headers)
    outcome = webhook_receive(delivery=delivery,
                              candidates=_candidates(provider, config_id, body))
    return JsonResponse(outcome.body, status=outcome.status)
