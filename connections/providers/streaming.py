"""JSON request bodies written piece by piece, so file content is never held twice in memory.

A body is an iterator of byte chunks (sent with chunked transfer encoding). File content given as
a :class:`LazyBlob` is read only when the writer reaches it and is encoded in slices: the peak is
one file's bytes plus one slice, whatever the size of the request.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from connections.providers.base import LazyBlob

SLICE = 3 * 256 * 1024  # raw bytes per encoded piece (a multiple of 3: base64 joins cleanly)


class Body:
    """A request body that can be produced again (each iteration writes it anew): requests sends
    it chunked, and whoever inspects a sent request (a test double) can still read it."""

    def __init__(self, pieces: Callable[[], Iterable[bytes]]) -> None:
        self._pieces = pieces

    def __iter__(self) -> Iterator[bytes]:
        # No ``read()`` on purpose: urllib3 would take it for a file and read it block by block.
        return iter(self._pieces())


def is_text(data: bytes) -> bool:
    """Sendable as a JSON string without changing a byte: UTF-8 and no NUL."""
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def base64_pieces(data: bytes) -> Iterator[bytes]:
    view = memoryview(data)
    for i in range(0, len(view), SLICE):
        yield base64.b64encode(view[i:i + SLICE])


def text_pieces(data: bytes) -> Iterator[bytes]:
    """The JSON string escape of ``data`` (UTF-8), without the quotes, slice by slice."""
    text = data.decode("utf-8")
    for i in range(0, len(text), SLICE):
        yield json.dumps(text[i:i + SLICE])[1:-1].encode()


def content_member(content: bytes | LazyBlob, *, text_encoding: str | None) -> Iterator[bytes]:
    """``"content": "…"`` plus, for binary, ``"encoding": "base64"``; text is sent as is when
    ``text_encoding`` names its encoding value (None: always base64)."""
    data = content.read() if isinstance(content, LazyBlob) else content
    if text_encoding is not None and is_text(data):
        yield b'"content": "'
        yield from text_pieces(data)
        yield b'", "encoding": "' + text_encoding.encode() + b'"'
    else:
        yield b'"content": "'
        yield from base64_pieces(data)
        yield b'", "encoding": "base64"'


def json_object(fields: dict[str, Any], tail: Iterable[bytes] = ()) -> Iterator[bytes]:
    """``{fields…, <tail>}``: plain members first, then the streamed members of ``tail``."""
    head = json.dumps(fields)[:-1].encode()
    yield head
    first = True
    for piece in tail:
        if first:
            yield b", " if fields else b""
            first = False
        yield piece
    yield b"}"


def json_array(items: Iterable[Iterable[bytes]]) -> Iterator[bytes]:
    yield b"["
    for n, item in enumerate(items):
        if n:
            yield b", "
        yield from item
    yield b"]"
