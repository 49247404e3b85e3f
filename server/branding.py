"""Branding without code: the operator's name, logo, colours, notice and imprint, handed to
the browser as JSON and as a stylesheet of CSS variables (so the CSP stays 'self' only)."""

from __future__ import annotations

import mimetypes
from typing import Any

from aiohttp import web

from server.config import Settings
from server.web_helpers import SETTINGS, envelope

routes = web.RouteTableDef()

LOGO_PATH = "/brand/logo"
LOGO_TYPES = frozenset({"image/svg+xml", "image/png", "image/jpeg", "image/webp", "image/gif"})


def logo_url(settings: Settings) -> str | None:
    if settings.brand_logo_file is not None:
        return LOGO_PATH
    return settings.brand_logo_url


def branding_of(settings: Settings) -> dict[str, Any]:
    return {
        "name": settings.brand_name,
        "logo_url": logo_url(settings),
        "colors": {"primary": settings.brand_primary, "accent": settings.brand_accent},
        "imprint_url": settings.brand_imprint_url,
        "notice": {
            "version": settings.notice_version,
            "text": {"de": settings.notice_de, "en": settings.notice_en},
        },
    }


def mix(colour: str, other: str, share: float) -> str:
    """`colour` with `share` of `other` mixed in (both #rrggbb)."""
    a = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    b = [int(other[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * share):02x}" for x, y in zip(a, b, strict=True))


def stylesheet(settings: Settings) -> str:
    primary, accent = settings.brand_primary, settings.brand_accent
    return (
        ":root {\n"
        f"  --primary: {primary};\n"
        f"  --primary-hover: {mix(primary, '#000000', 0.22)};\n"
        f"  --primary-soft: {mix(primary, '#ffffff', 0.88)};\n"
        f"  --accent: {accent};\n"
        f"  --accent-soft: {mix(accent, '#ffffff', 0.88)};\n"
        f"  --focus: {mix(primary, '#ffffff', 0.45)};\n"
        "}\n"
    )


@routes.get("/api/branding")
async def branding(request: web.Request) -> web.Response:
    return envelope(branding_of(request.app[SETTINGS]))


@routes.get("/branding.css")
async def branding_css(request: web.Request) -> web.Response:
    return web.Response(
        text=stylesheet(request.app[SETTINGS]),
        content_type="text/css",
        headers={"Cache-Control": "no-cache"},
    )


@routes.get(LOGO_PATH)
async def logo(request: web.Request) -> web.StreamResponse:
    path = request.app[SETTINGS].brand_logo_file
    if path is None or not path.is_file():
        raise web.HTTPNotFound()
    kind = mimetypes.guess_type(path.name)[0]
    if kind not in LOGO_TYPES:
        raise web.HTTPNotFound()
    return web.FileResponse(
        path, headers={"Content-Type": kind, "Cache-Control": "public, max-age=3600"}
    )
