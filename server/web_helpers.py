"""The HTTP edge: one error envelope, CSRF and Origin checks, security headers, body limits."""

from __future__ import annotations

import hmac
import json
import logging
import secrets
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from server.config import Settings
from signaling.core import storage_refusal
from signaling.errors import (
    INTERNAL_ERROR,
    CsrfFailed,
    InvalidPayload,
    MethodNotAllowed,
    NotFound,
    OriginRefused,
    ParleyError,
    PayloadTooLarge,
)
from signaling.identity import CookieNames, cookie_names
from signaling.ports import Observer

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SETTINGS = web.AppKey("settings", Settings)
OBSERVER = web.AppKey("observer", Observer)
CSRF_TOKEN = web.RequestKey("csrf_token", str)
# what proxies log for a request whose client closed the connection before the answer
CLIENT_CLOSED_REQUEST = 499

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def envelope(data: Any = None, status: int = 200) -> web.Response:
    return web.json_response({"ok": True, "data": data if data is not None else {}}, status=status)


def error_response(code: str, message: str, status: int) -> web.Response:
    body = {"ok": False, "error": {"code": code, "message": message}}
    return web.json_response(body, status=status)


def own_origin(request: web.Request) -> str:
    settings = request.app[SETTINGS]
    return settings.public_url or f"{request.scheme}://{request.host}"


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """One envelope for every error; each refusal is counted by its code. A refused request
    whose body was not read to its end closes the connection: the server does not linger
    reading (up to aiohttp's 10 s) what a trickling or oversized upload still sends."""
    response = await answer_or_refuse(request, handler)
    if (
        response.status >= 400
        and request.body_exists
        and not request.content.is_eof()
        and not client_gone(request)
    ):
        # send the refusal, then close: no lingering read of the rest
        await response.prepare(request)
        await response.write_eof()
        if request.protocol is not None:
            request.protocol.force_close()
    return response


async def answer_or_refuse(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ParleyError as exc:
        response = refusal(request, exc.code, exc.message, exc.status)
        if exc.retry_after is not None:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        if exc.status == 404:
            return refusal(request, NotFound.code, "no such page or resource", 404)
        if exc.status == 413:
            return refusal(request, PayloadTooLarge.code, "the request body is too large", 413)
        if exc.status == 405:
            return refusal(request, MethodNotAllowed.code, "method not allowed here", 405)
        return refusal(request, InvalidPayload.code, exc.reason, exc.status)
    except Exception as exc:
        if isinstance(exc, ConnectionResetError) and client_gone(request):
            # the client closed the connection while this answered it (a tab closed, the
            # network lost): nothing failed here, and nobody is left to tell
            log.info("client went away route=%s", route_name(request))
            return web.Response(status=CLIENT_CLOSED_REQUEST)
        known = storage_refusal(exc)
        if known is not None:
            return refusal(request, known.code, known.message, known.status)
        log.exception("request failed route=%s", route_name(request))
        return refusal(request, INTERNAL_ERROR, "something went wrong on the server", 500)


def client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


def refusal(request: web.Request, code: str, message: str, status: int) -> web.Response:
    request.app[OBSERVER].refused(code)
    return error_response(code, message, status)


@web.middleware
async def csrf(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Double-submit token on every state-changing call, plus the Origin when sent."""
    if request.method not in SAFE_METHODS:
        origin = request.headers.get("Origin")
        if origin is not None and origin != own_origin(request):
            raise OriginRefused("cross-origin requests are not accepted")
        cookie = request.cookies.get(cookies(request).csrf, "")
        header = request.headers.get("X-CSRF-Token", "")
        if not cookie or not hmac.compare_digest(cookie.encode(), header.encode()):
            raise CsrfFailed("missing or wrong X-CSRF-Token header; reload the page")
    response = await handler(request)
    name = cookies(request).csrf
    if name not in request.cookies and not response.prepared and not shared(response):
        # readable by the page on purpose: the double-submit token is copied into a header
        set_cookie(request, response, name, csrf_token(request), http_only=False)
    return response


def cookies(request: web.Request) -> CookieNames:
    """This deployment's cookie names: `__Host-` prefixed under TLS, and only those."""
    return cookie_names(request.app[SETTINGS].tls)


def shared(response: web.StreamResponse) -> bool:
    """A response any cache or any origin may keep (availability, the embed script, the logo)
    must never set a cookie: it would be stored for, or sent to, someone else."""
    return "public" in response.headers.get("Cache-Control", "")


def csrf_token(request: web.Request) -> str:
    token = request.cookies.get(cookies(request).csrf)
    if token is None:
        token = request.get(CSRF_TOKEN) or secrets.token_urlsafe(32)
        request[CSRF_TOKEN] = token
    return token


def set_cookie(
    request: web.Request,
    response: web.StreamResponse,
    name: str,
    value: str,
    *,
    http_only: bool = True,
    max_age: int | None = None,
) -> None:
    response.set_cookie(
        name,
        value,
        path="/",
        httponly=http_only,
        samesite="Lax",
        secure=request.app[SETTINGS].tls,
        max_age=max_age,
    )


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault(
        "Permissions-Policy", "camera=(self), microphone=(self), display-capture=(self)"
    )
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.path.startswith("/api/"):
        headers.setdefault("Cache-Control", "no-store")
    if request.app[SETTINGS].tls:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


async def read_json(request: web.Request) -> object:
    limit = request.app[SETTINGS].max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"request bodies are limited to {limit} bytes")
    raw = await request.content.read(limit + 1)
    if len(raw) > limit:
        raise PayloadTooLarge(f"request bodies are limited to {limit} bytes")
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise InvalidPayload("the body is not valid JSON") from None
    if value is None:  # `null` is not an empty body: nothing may stand in for one
        raise InvalidPayload("the body must be a JSON object")
    return value


def route_name(request: web.BaseRequest) -> str:
    """The route pattern, never the raw path (it may hold a token)."""
    match_info = getattr(request, "match_info", None)
    resource = match_info.route.resource if match_info is not None else None
    return resource.canonical if resource is not None else "-"
