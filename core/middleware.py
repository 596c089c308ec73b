"""The HTTP edge of the JSON API (``/v1/``, ``/api/v1/``).

Refuses what must never reach a view (NUL bytes, which PostgreSQL cannot store; bodies over the
API's limit), and turns every non-JSON error answer on an API path into the JSON error body, so
Django's HTML pages (including the DEBUG page that lists every URL pattern) never reach clients.
"""

from __future__ import annotations

from http import HTTPStatus
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

API_PREFIXES = ("/v1/", "/api/v1/")
# Receivers enforce their own (larger) limit: providers send big push payloads.
OWN_LIMIT_PREFIXES = ("/v1/sync-webhooks/",)
CODES = {
    400: "request.malformed", 404: "resource.not_found", 405: "request.method_not_allowed",
    413: "request.too_large", 414: "request.too_large", 500: "coregit.error",
}
KEPT_HEADERS = ("Allow", "WWW-Authenticate", "Retry-After")


def json_error(status: int, message: str, code: str | None = None) -> JsonResponse:
    return JsonResponse({"error": message, "code": code or CODES.get(status, f"http.{status}")},
                        status=status)


def _has_nul(request: HttpRequest) -> bool:
    query = request.META.get("QUERY_STRING", "")
    return "\x00" in request.path or b"\x00" in unquote_to_bytes(query)


def _refusal(request: HttpRequest) -> HttpResponse | None:
    if _has_nul(request):
        return json_error(400, "The URL must not contain NUL bytes", "request.nul")
    if request.path.startswith(OWN_LIMIT_PREFIXES):
        return None
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return json_error(400, "Invalid Content-Length")
    limit = settings.COREGIT_MAX_API_BODY_BYTES
    if declared > limit:
        return json_error(413, f"The request body is larger than {limit} bytes")
    return None


def _jsonified(response: HttpResponse) -> HttpResponse:
    if response.status_code < 400 or getattr(response, "streaming", False):
        return response
    if response.get("Content-Type", "").startswith("application/json"):
        return response
    try:
        message = HTTPStatus(response.status_code).phrase
    except ValueError:
        message = "Error"
    replacement = json_error(response.status_code, message)
    for header in KEPT_HEADERS:
        if header in response:
            replacement[header] = response[header]
    return replacement


class ApiEdgeMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIXES) and request.path not in ("/v1", "/api/v1"):
            response = self.get_response(request)
            # Under DEBUG, Django's 404 page lists every URL pattern: never show it.
            if settings.DEBUG and response.status_code == 404:
                return _jsonified(response)
            return response
        response = _refusal(request) or self.get_response(request)
        return _jsonified(response)
