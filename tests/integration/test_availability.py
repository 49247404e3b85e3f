"""The public availability behind the embeddable button, and the script itself: readable
from any origin, no cookies, no names, limited per caller."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.conftest import PASSWORD, RunningServer, Seed

FOREIGN = "http://shop.example"


async def availability(server: RunningServer, slug: str) -> tuple[int, Any, Any]:
    async with (
        aiohttp.ClientSession() as s,
        s.get(f"{server.url}/api/teams/{slug}/availability", headers={"Origin": FOREIGN}) as r,
    ):
        return r.status, r.headers, await r.json()


async def test_availability_follows_advisors_and_the_queue(
    server: RunningServer, seed_advisor: Seed
) -> None:
    account = await seed_advisor(display_name="Anna Geheim")
    slug = account["team_slug"]

    status, headers, body = await availability(server, slug)
    assert status == 200
    assert body["data"] == {"available": False, "waiting": 0, "wait_seconds_estimate": None}
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in headers
    assert "Set-Cookie" not in headers
    assert headers["Cache-Control"].startswith("public")

    advisor = server.http()
    await advisor.post("/api/auth/login", {"username": account["username"], "password": PASSWORD})
    await server.socket(advisor)
    _, _, body = await availability(server, slug)
    assert body["data"]["available"] is True
    assert body["data"]["waiting"] == 0
    assert body["data"]["wait_seconds_estimate"] == 60  # no history yet: a minute

    customer = server.http()
    status, _ = await customer.post(
        "/api/join",
        {
            "team": slug,
            "first_name": "Erika",
            "last_name": "Mustermann",
            "notice_version": server.settings.notice_version,
        },
    )
    assert status == 201
    _, _, body = await availability(server, slug)
    assert body["data"]["waiting"] == 1
    assert body["data"]["wait_seconds_estimate"] == 120
    text = str(body)
    assert "Anna" not in text and "Erika" not in text  # nobody is named


async def test_unknown_team_and_bad_slug(server: RunningServer) -> None:
    status, _, body = await availability(server, "no-such-team")
    assert (status, body["error"]["code"]) == (404, "not_found")
    status, _, body = await availability(server, "Bad_Slug")
    assert (status, body["error"]["code"]) == (404, "not_found")


class TestLimited:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"availability_per_minute": 3, "brand_name": 'Muster "Versicherung"'}

    async def test_availability_is_rate_limited(
        self, server: RunningServer, seed_advisor: Seed
    ) -> None:
        slug = (await seed_advisor())["team_slug"]
        answers = [(await availability(server, slug))[0] for _ in range(4)]
        assert answers == [200, 200, 200, 429]
        _, _, body = await availability(server, slug)
        assert body["error"]["code"] == "limit_exceeded"

    async def test_embed_script_carries_the_brand(self, server: RunningServer) -> None:
        async with (
            aiohttp.ClientSession() as s,
            s.get(server.url + "/embed.js?team=x", headers={"Origin": FOREIGN}) as r,
        ):
            assert r.status == 200
            assert r.content_type == "text/javascript"
            assert r.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
            assert "Set-Cookie" not in r.headers
            script = await r.text()
        assert "__PARLEY_EMBED_CONFIG__" not in script
        assert 'Muster \\\\\\"Versicherung\\\\\\"' in script  # JSON in a JS string literal
        assert "#1f5f8b" in script


async def test_cross_origin_is_allowed_only_for_availability(
    server: RunningServer, seed_advisor: Seed
) -> None:
    slug = (await seed_advisor())["team_slug"]
    async with aiohttp.ClientSession() as s:
        for path in ("/api/session", f"/api/join/team/{slug}", "/api/branding"):
            async with s.get(server.url + path, headers={"Origin": FOREIGN}) as r:
                assert "Access-Control-Allow-Origin" not in r.headers, path
        # writes from another origin stay refused
        async with s.post(server.url + "/api/join", json={}, headers={"Origin": FOREIGN}) as r:
            assert r.status == 403
