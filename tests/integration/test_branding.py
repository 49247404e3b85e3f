"""Branding without code: what the operator configures is what the browser gets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pydantic import ValidationError

from server.config import Settings
from tests.conftest import RunningServer

LOGO = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10"/></svg>'


@pytest.fixture
def settings_overrides(tmp_path: Path) -> dict[str, Any]:
    logo = tmp_path / "logo.svg"
    logo.write_bytes(LOGO)
    return {
        "brand_name": "Muster Versicherung",
        "brand_logo_file": logo,
        "brand_primary": "#0B5D3B",
        "brand_accent": "#c70",
        "brand_imprint_url": "https://www.muster.example/impressum",
        "notice_en": "Our own privacy notice.",
    }


async def test_branding_is_served(server: RunningServer) -> None:
    status, body = await server.http().get("/api/branding")
    assert status == 200
    assert body["data"] == {
        "name": "Muster Versicherung",
        "logo_url": "/brand/logo",
        "colors": {"primary": "#0b5d3b", "accent": "#cc7700"},
        "imprint_url": "https://www.muster.example/impressum",
        "notice": {
            "version": server.settings.notice_version,
            "text": {"de": server.settings.notice_de, "en": "Our own privacy notice."},
        },
    }


async def test_colours_arrive_as_css_variables_and_the_logo_as_a_file(
    server: RunningServer,
) -> None:
    async with aiohttp.ClientSession() as s:
        async with s.get(server.url + "/branding.css") as resp:
            assert resp.status == 200
            assert resp.content_type == "text/css"
            css = await resp.text()
        async with s.get(server.url + "/brand/logo") as resp:
            assert resp.status == 200
            assert resp.content_type == "image/svg+xml"
            assert await resp.read() == LOGO
    assert "--primary: #0b5d3b;" in css
    assert "--accent: #cc7700;" in css


async def test_the_page_links_the_brand_stylesheet(server: RunningServer) -> None:
    async with aiohttp.ClientSession() as s, s.get(server.url + "/t/any-team") as resp:
        html = await resp.text()
    assert '<link rel="stylesheet" href="/branding.css" />' in html


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("brand_primary", "red"),
        ("brand_primary", "#12345"),
        ("brand_accent", "#gggggg"),
        ("brand_logo_url", "https://cdn.example.com/logo.svg"),
        ("brand_logo_url", "//cdn.example.com/logo.svg"),
        ("brand_logo_url", "logo.svg"),
        ("brand_logo_file", "/nonexistent/logo.svg"),
        ("brand_imprint_url", "javascript:alert(1)"),
        ("brand_name", ""),
        ("brand_name", "a\nb"),
    ],
)
def test_bad_branding_is_refused(field: str, value: str) -> None:
    with pytest.raises(ValidationError):
        Settings(**{field: value})


def test_branding_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARLEY_BRAND_PRIMARY", "#ABCDEF")
    monkeypatch.setenv("PARLEY_BRAND_LOGO_URL", "/assets/favicon.svg")
    settings = Settings()
    assert settings.brand_primary == "#abcdef"
    assert settings.brand_logo_url == "/assets/favicon.svg"
