"""The single place where exceptions become HTTP responses: ``{"error", "code", "details"?}``."""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response

from core.errors import CoregitError

logger = logging.getLogger(__name__)
FORBIDDEN = "This API key does not have permission for this action"


def _flatten(detail):
    if isinstance(detail, dict):
        return {k: _flatten(v) for k, v in detail.items()}
    if isinstance(detail, list):
        return [_flatten(x) if isinstance(x, dict | list) else str(x) for x in detail]
    return str(detail)


def _response(status: int, message: str, code: str, details=None, headers=None) -> Response:
    body = {"error": message, "code": code}
    if details:
        body["details"] = details
    return Response(body, status=status, headers=headers)


def _unauthenticated(exc, context) -> Response:
    view, request = context.get("view"), context.get("request")
    header = view.get_authenticate_header(request) if view and request else None
    if isinstance(exc, drf.AuthenticationFailed):
        message = str(exc.detail)
    else:
        message = "Missing API key: send x-api-key or Authorization: Bearer"
    headers = {"WWW-Authenticate": header} if header else None
    return _response(401, message, "auth.unauthenticated", headers=headers)


def _invalid(exc: drf.ValidationError) -> Response:
    details = _flatten(exc.detail)
    message = "Invalid request"
    if isinstance(details, dict) and details:
        field, errors = next(iter(details.items()))
        first = errors[0] if isinstance(errors, list) and errors else errors
        message = f"Invalid request: {field}: {first}"
        if field == "non_field_errors":
            message = str(first)
    elif isinstance(details, list) and details:
        message = str(details[0])
    fields = details if isinstance(details, dict) else None
    return _response(400, message, "request.invalid", fields)


def handle_exception(exc, context):
    if isinstance(exc, CoregitError):
        return _response(exc.http_status, exc.message, exc.code, exc.details)
    if isinstance(exc, Http404 | drf.NotFound):
        return _response(404, "Not found", "resource.not_found")
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
        return _unauthenticated(exc, context)
    if isinstance(exc, drf.PermissionDenied | DjangoPermissionDenied):
        return _response(403, FORBIDDEN, "auth.forbidden")
    if isinstance(exc, drf.ValidationError):
        return _invalid(exc)
    if isinstance(exc, drf.ParseError):
        return _response(400, f"Invalid request: {exc.detail}", "request.malformed")
    if isinstance(exc, drf.APIException):
        return _response(exc.status_code, str(exc.detail), f"request.{exc.default_code}")
    logger.exception("unhandled error in %s", type(context.get("view")).__name__)
    return _response(500, "Internal error", "coregit.error")


def handler404(request, exception=None):
    """Django's 404 (no route matched), JSON like every other error."""
    return JsonResponse({"error": "Not found", "code": "resource.not_found"}, status=404)


def handler500(request):
    return JsonResponse({"error": "Internal error", "code": "coregit.error"}, status=500)
