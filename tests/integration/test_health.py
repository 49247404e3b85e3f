"""Liveness and readiness."""

from __future__ import annotations

import asyncio
import base64
import os

import asyncpg
import pytest

from server.state import SIO
from tests.clients import WAIT, reset
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


async def test_clients_gone_during_the_websocket_handshake_do_not_hold_up_the_stop(server, caplog):
    """Browsers that ask for the WebSocket and reset the connection before the answer (a
    tab closed while connecting): Engine.IO has made a session for each that no transport
    will ever read from. The stop closes them without waiting, leaves no task behind (the
    fixture checks), and a client that went away is no storage failure in the log."""
    host, port = server.url.removeprefix("http://").split(":")
    for _ in range(5):
        _, writer = await asyncio.open_connection(host, int(port))
        writer.write(
            (
                "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
                f"Host: {host}:{port}\r\nOrigin: {server.url}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        reset(writer)
    eio = server.app[SIO].eio
    async with asyncio.timeout(WAIT):
        while len(eio.sockets) < 5:  # the sessions the handshakes left
            await asyncio.sleep(0.02)
    await server.app_stop()
    assert "still closing" not in caplog.text
    assert "storage failed" not in caplog.text
