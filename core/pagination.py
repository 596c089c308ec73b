"""Opaque, stable keyset cursors over (created_at, id), newest first.

Keyset pagination (not offsets) keeps pages free of duplicates and gaps while rows are inserted.
"""

import base64
import json
from datetime import datetime

from django.db.models import Q, QuerySet

from core.errors import BadRequest


def encode_cursor(created_at: datetime, pk: str) -> str:
    raw = json.dumps([created_at.isoformat(), pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return datetime.fromisoformat(created), str(pk)
    except (ValueError, TypeError) as exc:
        raise BadRequest("Invalid cursor") from exc


def parse_limit(raw: str | None, *, default: int = 20, maximum: int = 100) -> int:
    if raw in (None, ""):
        return default
    try:
        limit = int(raw)
    except ValueError as exc:
        raise BadRequest(f"limit must be an integer from 1 to {maximum}") from exc
    if not 1 <= limit <= maximum:
        raise BadRequest(f"limit must be an integer from 1 to {maximum}")
    return limit


def paginate(qs: QuerySet, *, limit: int, cursor: str | None) -> tuple[list, str | None]:
    """Return one page (newest first) and the cursor for the next one, or None at the end."""
    qs = qs.order_by("-created_at", "-id")
    if cursor:
        created, pk = decode_cursor(cursor)
        # The redundant ``created_at <= created`` is what an index on (…, created_at, id) can
        # start from: with the OR alone, PostgreSQL walks (and filters out) every newer row, so
        # page N cost O(N × limit) instead of O(limit).
        qs = qs.filter(Q(created_at__lt=created) | Q(created_at=created, id__lt=pk),
                       created_at__lte=created)
    rows = list(qs[: limit + 1])
    if len(rows) > limit:
        last = rows[limit - 1]
        return rows[:limit], encode_cursor(last.created_at, last.pk)
    return rows, None
