from django.utils import timezone
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed

from accounts.principal import Principal
from accounts.selectors import api_key_by_raw


def raw_key_from_headers(headers) -> str | None:
    """The key from ``x-api-key`` or ``Authorization: Bearer``; None when neither is sent."""
    raw = headers.get("x-api-key")
    if raw:
        return raw.strip()
    auth = headers.get("Authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def principal_for_raw(raw: str) -> Principal | None:
    key = api_key_by_raw(raw=raw)
    if key is None:
        return None
    # Touch at most once a minute so reads do not turn into a write per request.
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        type(key).objects.filter(pk=key.pk).update(last_used_at=now)
    return Principal(key=key)


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        raw = raw_key_from_headers(request.headers)
        if raw is None:
            return None
        principal = principal_for_raw(raw)
        if principal is None:
            raise AuthenticationFailed("Invalid API key")
        return principal, principal.key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="coregit"'
