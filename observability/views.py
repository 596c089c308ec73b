"""``GET /metrics``: a bearer token when COREGIT_METRICS_TOKEN is set, else loopback clients only."""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from observability.exposition import metrics_render


def _denied(request: HttpRequest) -> JsonResponse | None:
    token = settings.COREGIT_METRICS_TOKEN
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), token.encode()):
            response = JsonResponse({"error": "A valid metrics bearer token is required",
                                     "code": "metrics.unauthorized"}, status=401)
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        return None
    # The socket's peer, never X-Forwarded-For: a header any remote client can write.
    try:
        loopback = ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        return JsonResponse({"error": "Metrics are served to loopback clients only unless "
                             "COREGIT_METRICS_TOKEN is set", "code": "metrics.forbidden"},
                            status=403)
    return None


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    denied = _denied(request)
    if denied is not None:
        return denied
    body, content_type = metrics_render(accept=request.headers.get("Accept", ""))
    return HttpResponse(body, content_type=content_type)
