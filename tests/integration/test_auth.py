"""Sessions, CSRF and Origin: who may talk to Parley at all."""

from __future__ import annotations

import pytest
import socketio

from storage.models import Role
from tests.clients import Socket
from tests.flows import join_customer, login_advisor


async def test_login_rotates_and_logout_closes_sockets(server, seed_advisor):
    seed = await seed_advisor()
    http = server.http()
    status, body = await http.post(
        "/api/auth/login", {"username": seed["username"], "password": "wrong password!"}
    )
    assert (status, body["error"]["code"]) == (401, "invalid_credentials")
    status, body = await http.post(
        "/api/auth/login", {"username": "nobody", "password": "wrong password!"}
    )
    assert (status, body["error"]["code"]) == (401, "invalid_credentials")

    await http.post("/api/auth/login", {"username": seed["username"], "password": seed["password"]})
    first = http.cookie("parley_session")
    status, _ = await http.post(
        "/api/auth/login", {"username": seed["username"], "password": seed["password"]}
    )
    second = http.cookie("parley_session")
    assert status == 200 and first and second and first != second

    stale = server.http()
    stale.session.cookie_jar.update_cookies({"parley_session": first})
    status, body = await stale.get("/api/consultations")
    assert (status, body["error"]["code"]) == (401, "not_authenticated")

    sock = await server.socket(http)
    status, _ = await http.post("/api/auth/logout")
    assert status == 200
    assert (await sock.next("session_closed")) == {"reason": "logout"}
    status, body = await http.get("/api/consultations")
    assert (status, body["error"]["code"]) == (401, "not_authenticated")


async def test_advisor_cookie_flags(server, seed_advisor):
    seed = await seed_advisor()
    http = server.http()
    await http.get("/api/session")
    async with http.session.post(
        server.url + "/api/auth/login",
        json={"username": seed["username"], "password": seed["password"]},
        headers={"X-CSRF-Token": http.cookie("parley_csrf") or "", "Origin": server.url},
    ) as resp:
        header = next(
            h for h in resp.headers.getall("Set-Cookie") if h.startswith("parley_session=")
        )
    assert "HttpOnly" in header and "SameSite=Lax" in header
    assert "Secure" not in header  # plain http here; Secure is set when public_url is https


async def test_csrf_and_cross_origin_writes_are_refused(server, seed_advisor):
    seed = await seed_advisor()
    http = server.http()
    creds = {"username": seed["username"], "password": seed["password"]}
    status, body = await http.post("/api/auth/login", creds, csrf=False)
    assert (status, body["error"]["code"]) == (403, "csrf_failed")
    status, body = await http.post("/api/auth/login", creds, headers={"X-CSRF-Token": "forged"})
    assert (status, body["error"]["code"]) == (403, "csrf_failed")
    status, body = await http.post(
        "/api/auth/login", creds, headers={"Origin": "https://evil.example"}
    )
    assert (status, body["error"]["code"]) == (403, "origin_refused")
    status, body = await http.post("/api/auth/login", creds)
    assert status == 200


@pytest.mark.parametrize("origin", ["https://evil.example", "null", None, "https://127.0.0.1"])
async def test_socket_with_valid_cookie_but_foreign_origin_is_refused(server, seed_advisor, origin):
    advisor = await login_advisor(server, await seed_advisor(), connect=False)
    sock = Socket()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await sock.connect(server.url, advisor.http.cookie_header(), origin)
    assert sock.refusal["data"]["code"] == "origin_refused"


async def test_anonymous_sockets_are_refused_and_ops_take_part_in_nothing(server, seed_advisor):
    sock = Socket()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await sock.connect(server.url, "", server.url)
    assert sock.refusal["data"]["code"] == "not_authenticated"

    # ops connect to watch the overview, but take part in nothing (tests/integration/test_ops.py)
    ops = await login_advisor(server, await seed_advisor(role=Role.ops))
    assert ops.account["role"] == "ops"
    for event in ("dashboard_get", "lobby_status"):
        assert (await ops.sock.call(event, {}))["error"]["code"] == "not_authorised"
    status, body = await ops.http.post("/api/consultations", {})
    assert (status, body["error"]["code"]) == (403, "not_authorised")


async def test_guest_session_cookie_survives_a_reload(server, seed_advisor):
    seed = await seed_advisor()
    customer = await join_customer(server, team=seed["team_slug"])
    status, body = await customer.http.get("/api/session")
    assert status == 200
    guest = body["data"]["guest"]
    assert (
        guest["participant_id"] == customer.participant_id and guest["name"] == "Erika Mustermann"
    )
    assert body["data"]["account"] is None


async def test_socket_with_valid_cookie_but_wrong_scheme_origin_is_refused(server, seed_advisor):
    """Same host and port, other scheme: not Parley's origin either."""
    advisor = await login_advisor(server, await seed_advisor(), connect=False)
    for origin in (server.url.replace("http://", "https://"), server.url.replace("http", "ws")):
        sock = Socket()
        with pytest.raises(socketio.exceptions.ConnectionError):
            await sock.connect(server.url, advisor.http.cookie_header(), origin)
        assert sock.refusal["data"]["code"] == "origin_refused"
