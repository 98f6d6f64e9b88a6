"""What the dashboard refuses before a request reaches it, and how much of the input it echoes.

`RequestGuard` is ASGI middleware, inside the Host check (TrustedHostMiddleware):

- a request that changes something (POST, PUT, PATCH, DELETE) must come from the dashboard's own
  page or from a program, never from another web site: an `Origin` that is not this server's own
  (scheme and Host), or `Sec-Fetch-Site: cross-site` or `same-site`, is refused with 403; and it
  must say `Content-Type: application/json` (415 otherwise), which a plain HTML form or a
  `no-cors` fetch of another page cannot send;
- a body longer than `max_body` bytes is refused with 413: a `Content-Length` over the cap at
  once, and a body sent without one (chunked) as soon as what has arrived passes the cap. The
  body is read here, before anything parses it, and handed on whole.

Every refusal is {"error": "one message"}, like the API's own errors. `clip` shortens a value
that a message repeats back to the client (an unknown preset name, a job id), so that an error
never echoes a large input.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY = 64 * 1024  # bytes: the largest request a dashboard page sends is under 4 KiB
MAX_ECHO = 80  # characters of an input value repeated in an error message
MAX_MESSAGE = 1_000  # characters of any error message
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
JSON = "application/json"


def clip(value: Any, limit: int = MAX_ECHO, quote: bool = True) -> str:
    """A value as an error may echo it: a string quoted (`quote`), anything else as text, cut to
    `limit` characters with an ellipsis."""
    try:
        text = repr(value) if quote and isinstance(value, str) else str(value)
    except ValueError:  # an integer too long to write out
        return "a number too long to repeat"
    if len(text) <= limit:
        return text
    if quote and isinstance(value, str):  # keep the closing quote
        return text[: limit - 2] + "…" + text[0]
    return text[: limit - 1] + "…"


QUOTED = re.compile(rf"""'[^'\n]{{{MAX_ECHO},}}'|"[^"\n]{{{MAX_ECHO},}}"|\S{{{2 * MAX_ECHO},}}""")


def clip_message(message: str, limit: int = MAX_MESSAGE) -> str:
    """A whole error message with every long quoted value (and any very long word) in it cut to
    MAX_ECHO characters, then the whole cut to `limit`: a last guard for messages made
    elsewhere (values are clipped where this package writes them into a message)."""
    message = QUOTED.sub(lambda match: _shorten(match.group(0)), message)
    return message if len(message) <= limit else message[: limit - 1] + "…"


def _shorten(text: str) -> str:
    quote = text[0] if text[0] in "'\"" and text[-1] == text[0] else ""
    inner = text[1:-1] if quote else text
    return f"{quote}{inner[: MAX_ECHO - 3]}…{quote}" if len(text) > MAX_ECHO else text


class RequestGuard:
    """Refuse cross-site and non-JSON state-changing requests and over-long bodies (see the
    module's doc); hand every other request on, its body already read."""

    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        refusal = self.refusal(scope, headers)
        if refusal is not None:
            await _refuse(scope, receive, send, *refusal)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await _refuse(scope, receive, send, *self.too_large())
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def refusal(self, scope: Scope, headers: Headers) -> tuple[int, str] | None:
        method = scope["method"].upper()
        if method in STATE_CHANGING:
            site = headers.get("sec-fetch-site", "").strip().lower()
            if site in ("cross-site", "same-site"):
                return 403, (
                    f"a {method} from another web site is refused (Sec-Fetch-Site: {clip(site)}): "
                    "only the dashboard's own page, or a program, may change anything"
                )
            origin = headers.get("origin")
            if origin is not None and not _same_origin(origin, headers.get("host", "")):
                return 403, (
                    f"a {method} from the page at {clip(origin)} is refused: only the "
                    "dashboard's own page, or a program sending no Origin, may change anything"
                )
            media = headers.get("content-type", "").split(";", 1)[0].strip().lower()
            if media != JSON:
                got = f"Content-Type {clip(media)}" if media else "no Content-Type"
                return 415, (
                    f"a {method} must send `Content-Type: {JSON}` (got {got}); the body, if "
                    "any, is a JSON object"
                )
        length = headers.get("content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                return 400, f"Content-Length {clip(length)} is not a whole number"
            if declared > self.max_body:
                return self.too_large(declared)
        return None

    def too_large(self, declared: int | None = None) -> tuple[int, str]:
        got = f" (Content-Length {declared:,})" if declared is not None else ""
        return 413, (
            f"the request body is larger than the dashboard takes: at most {self.max_body:,} "
            f"bytes{got}"
        )


def _same_origin(origin: str, host: str) -> bool:
    """An Origin names this server when its host and port are the request's Host (a default
    port written or not); "null" (a sandboxed or local file page) never does."""
    text = origin.strip().lower()
    if text == "null":
        return False
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path.strip("/"):
        return False
    return _netloc(parts.netloc, parts.scheme) == _netloc(host.strip().lower(), parts.scheme)


def _netloc(netloc: str, scheme: str) -> str:
    default = {"http": ":80", "https": ":443"}[scheme]
    return netloc.removesuffix(default) if netloc.endswith(default) else netloc


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, message: str) -> None:
    response = JSONResponse({"error": clip_message(message)}, status_code=status)
    if status == 413:
        response.headers["Connection"] = "close"
    await response(scope, receive, send)


__all__ = ["MAX_BODY", "MAX_ECHO", "RequestGuard", "clip", "clip_message"]
