"""HTTP edge of webhook intake: size cap and header extraction.

Unauthenticated: every check here answers a JSON 4xx for hostile input, never a 500.
"""

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from observability import series
from sync import generic_host_signatures
from sync.webhook_intake import Delivery, webhook_receive

EVENT_HEADERS = {"github": "X-GitHub-Event", "gitlab": "X-Gitlab-Event"}


def _event(provider: str, headers) -> str:
    if provider == "git":
        return generic_host_signatures.event_of(headers)
    return headers.get(EVENT_HEADERS[provider], "")


def _delivery_id(provider: str, headers) -> str:
    if provider == "git":  # the scheme's own id, so Gitea and Bitbucket ids never meet
        scheme = generic_host_signatures.scheme_of(headers)
        given = generic_host_signatures.delivery_id_of(headers)
        return f"{scheme}:{given}" if given else ""
    if provider == "github":
        return headers.get("X-GitHub-Delivery", "")
    # GitLab: Idempotency-Key survives retries; X-Gitlab-Event-UUID is shared by every hook of
    # one event, so it must never be used here.
    return headers.get("Idempotency-Key") or headers.get("X-Gitlab-Webhook-UUID", "")


@csrf_exempt
def receive(request, provider: str, config_id: str | None = None):
    if request.method != "POST":
        response = JsonResponse({"error": f"Method {request.method} not allowed",
                                 "code": "request.method_not_allowed"}, status=405)
        response["Allow"] = "POST"
        return response
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
    delivery = Delivery(provider=provider, event=_event(provider, request.headers),
                        delivery_id=_delivery_id(provider, request.headers), body=body,
                        headers=request.headers)
    outcome = webhook_receive(delivery=delivery, config_id=config_id)
    series.webhook_delivery(provider=provider, status=outcome.status, body=outcome.body)
    return JsonResponse(outcome.body, status=outcome.status)
