"""What a client sent, as JSON, whether the body went whole or streamed in pieces."""

from __future__ import annotations

import json
from typing import Any


def sent_json(request) -> Any:
    body = request.body
    if body is not None and not isinstance(body, bytes | str):
        body = b"".join(body)  # connections.providers.streaming.Body: chunked
    return json.loads(body)
