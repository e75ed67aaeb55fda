"""Reading a request strictly: the query string, the copied headers and the parameters'
rules. Anything wrong is a BadRequest that names the field, never a silent replacement."""
from __future__ import annotations

import uuid
from urllib.parse import unquote_to_bytes

from flask import request

from game_events import catalogue

MAX_QUERY_BYTES = 2048
MAX_BODY_BYTES = 16 * 1024
# The reply to a single event names its id, a 503's too: the id to send again on a retry.
EVENT_ID_HEADER = "Event-Id"


class BadRequest(Exception):
    def __init__(self, field: str, message: str, status: int = 400):
        super().__init__(message)
        self.field, self.message, self.status = field, message, status


def text(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(name, f"{name} is not valid UTF-8")


def query_values() -> dict[str, str]:
    """The query string, decoded strictly: invalid UTF-8 or a repeated name is an error,
    not a silent replacement character or a dropped value."""
    raw = request.environ.get("QUERY_STRING", "").encode("latin-1")
    if len(raw) > MAX_QUERY_BYTES:
        raise BadRequest("query", f"query string over {MAX_QUERY_BYTES} bytes", 414)
    values: dict[str, str] = {}
    for pair in filter(None, raw.split(b"&")):
        k, _, v = pair.partition(b"=")
        name = text(unquote_to_bytes(k.replace(b"+", b" ")), "query")
        if not name:
            raise BadRequest("query", "a query parameter has no name")
        v = unquote_to_bytes(v.replace(b"+", b" "))
        if name in values:
            raise BadRequest(name, f"{name} given more than once")
        values[name] = text(v, name)
    return values


def header_values() -> dict[str, str | None]:
    """The headers an event carries (catalogue.HEADERS), None where absent."""
    out: dict[str, str | None] = {}
    for header, _ in catalogue.HEADERS:
        value = request.headers.get(header)
        if value is not None:
            value = text(value.encode("latin-1"), header)
            if len(value) > catalogue.MAX_HEADER:
                raise BadRequest(header, f"{header} header over {catalogue.MAX_HEADER} characters")
        out[header] = value
    return out


def validate(event: catalogue.Event, values: dict[str, str]) -> dict[str, str]:
    """values, once every parameter of the event is present and follows its rule."""
    for p in event.params:
        v = values.get(p.name)
        if v is None or v == "":
            raise BadRequest(p.name, f"{p.name} is required")
        if not p.kind.regex.fullmatch(v):
            raise BadRequest(p.name, p.kind.message(p.name))
    return values


def event_id(value: str | None) -> str:
    """The client's own id for the event, once it is a canonical UUID, or a new random one
    (uuid4) when the client sent none."""
    if value is None:
        return str(uuid.uuid4())
    if not catalogue.EVENT_ID.kind.regex.fullmatch(value):
        raise BadRequest(catalogue.EVENT_ID.name, catalogue.EVENT_ID.kind.message(catalogue.EVENT_ID.name))
    return value
