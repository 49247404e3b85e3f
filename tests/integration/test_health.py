"""Liveness and readiness."""

from __future__ import annotations

import asyncpg
import pytest

from tests.conftest import PG_ADMIN_DSN


async def test_health_and_readiness(server):
    http = server.http()
    assert await http.get("/healthz") == (200, {"ok": True, "data": {"status": "alive"}})
    assert await http.get("/readyz") == (200, {"ok": True, "data": {"status": "ready"}})


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_readyz_fails_when_the_database_goes_away(server, database_url):
    http = server.http()
    assert (await http.get("/readyz"))[0] == 200
    name = database_url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await conn.close()
    status, body = await http.get("/readyz")
    assert (status, body["error"]["code"]) == (503, "not_ready")
    assert (await http.get("/healthz"))[0] == 200


@pytest.mark.parametrize("settings_overrides", [{"public_url": "https://parley.test"}])
async def test_tls_deployment_marks_cookies_secure_and_checks_its_public_origin(
    server, seed_advisor
):
    seed = await seed_advisor()
    http = server.http()
    creds = {"username": seed["username"], "password": seed["password"]}
    status, body = await http.post("/api/auth/login", creds)
    assert (status, body["error"]["code"]) == (403, "origin_refused")  # Origin is http://127...

    # the csrf cookie is Secure now, so a client on plain http sends it by hand
    token = (await http.get("/api/session"))[1]["data"]["csrf_token"]
    async with http.session.post(
        server.url + "/api/auth/login",
        json=creds,
        headers={
            "X-CSRF-Token": token,
            "Cookie": f"__Host-parley_csrf={token}",
            "Origin": "https://parley.test",
        },
    ) as resp:
        assert resp.status == 200
        cookie = next(
            h for h in resp.headers.getall("Set-Cookie") if h.startswith("__Host-parley_session=")
        )
        assert "Secure" in cookie and "HttpOnly" in cookie
        assert resp.headers["Strict-Transport-Security"].startswith("max-age=")
