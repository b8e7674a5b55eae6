"""Security headers for every response, and a cap on request bodies.

The Content-Security-Policy allows scripts and styles from this site only (no
inline code, so the widget and the pages work under it as they are) and
network calls to this site and the Rasa server the widget talks to.
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 16 * 1024


def content_security_policy(rasa_origin: str) -> str:
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            f"connect-src 'self' {rasa_origin}",
            "form-action 'self'",
            "frame-ancestors 'self'",
            "base-uri 'none'",
        ]
    )


class SecurityHeaders:
    """Pure ASGI middleware: adds the headers and refuses oversized bodies."""

    def __init__(self, app: ASGIApp, rasa_origin: str):
        self.app = app
        self.csp = content_security_policy(rasa_origin)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if _declared_length(scope) > MAX_BODY_BYTES:
            await _too_large(send)
            return
        widget_file = path.startswith("/widget/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                present = {k.lower() for k, _ in headers}
                extra = {
                    b"content-security-policy": self.csp.encode(),
                    b"x-content-type-options": b"nosniff",
                    b"referrer-policy": b"no-referrer",
                    b"x-frame-options": b"SAMEORIGIN",
                    b"permissions-policy": (
                        b"camera=(), microphone=(), geolocation=(), payment=()"
                    ),
                    b"cross-origin-opener-policy": b"same-origin",
                    # The widget's files are loaded by pages on other sites.
                    b"cross-origin-resource-policy": (
                        b"cross-origin" if widget_file else b"same-origin"
                    ),
                }
                # API answers and the workspace's pages (client data, a
                # personal link shown once) are never cached.
                if path.startswith(("/api/", "/tyotila")):
                    extra[b"cache-control"] = b"no-store"
                headers.extend((k, v) for k, v in extra.items() if k not in present)
            await send(message)

        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > MAX_BODY_BYTES:
                    raise _BodyTooLarge(413, "the request body is too large")
            return message

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await with_headers(message)

        try:
            await self.app(scope, counted, sending)
        except _BodyTooLarge:
            if started:
                raise
            await _too_large(send)


class _BodyTooLarge(HTTPException):
    """A body sent without Content-Length (chunked) grew past the cap."""


def _declared_length(scope: Scope) -> int:
    for key, value in scope.get("headers", []):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return MAX_BODY_BYTES + 1
    return 0


async def _too_large(send: Send) -> None:
    body = json.dumps({"error": "the request body is too large"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-content-type-options", b"nosniff"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
