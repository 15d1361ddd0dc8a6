"""Who may talk to the page: a Host check on loopback (no DNS rebinding), a token when bound
elsewhere, a CSRF token for the one form that writes, and headers that keep the page inert
(a Content-Security-Policy that allows no inline script and nothing from other origins)."""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from codev_git.errors import UsageError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TOKEN_COOKIE = "codev_web_token"
HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, bind_given: bool, token: str | None) -> None:
    """Refuse to serve beyond this machine unless asked to and a token is required."""
    if is_loopback(host):
        return
    if not bind_given:
        raise UsageError(f"refusing to serve on {host}", "use --bind ADDR with --token T")
    if not token:
        raise UsageError(
            f"refusing to serve on {host} without a token",
            "give --token T (or CODEV_WEB_TOKEN), or bind 127.0.0.1",
        )
    if len(token) < 12:
        raise UsageError("the token is too short", "use at least 12 characters")


@dataclass
class Guard:
    """ASGI middleware in front of the whole app."""

    app: ASGIApp
    host: str
    token: str | None
    port: int = 0
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    def allowed_host(self, value: str) -> bool:
        if not is_loopback(self.host):
            return True  # the token is the guard there
        name = value.rsplit(":", 1)[0] if not value.endswith("]") else value
        return is_loopback(name) and (self.port == 0 or value.endswith(f":{self.port}"))

    def has_token(self, headers: dict[str, str], query: str) -> bool:
        if self.token is None:
            return True
        given = headers.get("authorization", "").removeprefix("Bearer ").strip()
        cookies = headers.get("cookie", "")
        for part in cookies.split(";"):
            key, _, value = part.strip().partition("=")
            if key == TOKEN_COOKIE and not given:
                given = value
        return bool(given) and hmac.compare_digest(given.encode(), self.token.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        query = scope.get("query_string", b"").decode("latin-1")
        if not self.allowed_host(headers.get("host", "")):
            await _plain(send, 421, "unknown host: open the page by the address git codev printed")
            return
        if self.token is not None:
            pairs = parse_qsl(query, keep_blank_values=True)
            offered = dict(pairs).get("token")
            if offered is not None and hmac.compare_digest(offered.encode(), self.token.encode()):
                rest = urlencode([(k, v) for k, v in pairs if k != "token"])
                where = scope["path"] + (f"?{rest}" if rest else "")
                cookie = f"{TOKEN_COOKIE}={self.token}; HttpOnly; SameSite=Strict; Path=/"
                await _plain(send, 303, "", [("location", where), ("set-cookie", cookie)])
                return
            if not self.has_token(headers, query):
                await _plain(send, 401, "a token is required: open the URL git codev printed")
                return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [(k.encode(), v.encode()) for k, v in HEADERS.items()]
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, with_headers)

    def same_origin(self, headers: dict[str, str]) -> bool:
        """A write must come from this page: its Origin (when sent) names this host."""
        origin = headers.get("origin")
        if origin is None:
            return True
        return origin.split("://", 1)[-1] == headers.get("host")

    def csrf_ok(self, offered: str | None) -> bool:
        return offered is not None and hmac.compare_digest(offered.encode(), self.csrf.encode())


async def _plain(
    send: Send, status: int, text: str, headers: list[tuple[str, str]] | None = None
) -> None:
    body = (text + "\n").encode() if text else b""
    head = [("content-type", "text/plain; charset=utf-8"), ("content-length", str(len(body)))]
    head += [*(headers or []), *HEADERS.items()]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(k.encode(), v.encode()) for k, v in head],
        }
    )
    await send({"type": "http.response.body", "body": body})
