"""Stated limits are enforced with `limit_exceeded` and change nothing; invite links expire
and can be revoked (with an injected clock, no waiting)."""

from __future__ import annotations

import pytest

from tests.flows import invite_consultation, join_customer, login_advisor, token_of


@pytest.fixture
def settings_overrides():
    return {"lobby_size": 2, "participants_per_consultation": 2, "queue_size": 1}


@pytest.fixture
def server_clock(clock):
    return clock


async def join_body(server, **kw):
    body = {
        "first_name": "Max",
        "last_name": "Muster",
        "notice_version": server.settings.notice_version,
    }
    return {**body, **kw}


async def test_lobby_queue_and_room_limits(server, seed_advisor):
    seed = await seed_advisor()
    advisor = await login_advisor(server, seed)
    cid, token = await invite_consultation(advisor)
    one = await join_customer(server, invite=token)
    two = await join_customer(server, invite=token)
    status, body = await server.http().post("/api/join", await join_body(server, invite=token))
    assert (status, body["error"]["code"]) == (429, "limit_exceeded")
    assert len((await advisor.sock.ok("dashboard_get"))["consultations"][0]["waiting"]) == 2

    await advisor.sock.ok("room_join", {"consultation_id": cid})
    await advisor.sock.ok(
        "lobby_admit", {"consultation_id": cid, "participant_id": one.participant_id}
    )
    full = await advisor.sock.call(
        "lobby_admit", {"consultation_id": cid, "participant_id": two.participant_id}
    )
    assert full["error"]["code"] == "limit_exceeded"
    assert (await two.sock.ok("lobby_status"))["status"] == "waiting"

    await join_customer(server, team=seed["team_slug"])
    status, body = await server.http().post(
        "/api/join", await join_body(server, team=seed["team_slug"])
    )
    assert (status, body["error"]["code"]) == (429, "limit_exceeded")
    assert len((await advisor.sock.ok("dashboard_get"))["queue"]) == 1


async def test_invite_expiry_and_revocation(server, seed_advisor, clock):
    seed = await seed_advisor()
    advisor = await login_advisor(server, seed)
    status, body = await advisor.http.post("/api/consultations", {"expires_in_hours": 2})
    cid, token = body["data"]["consultation"]["id"], token_of(body["data"]["invite"]["url"])
    assert len(token) >= 43  # 32 random bytes, base64url

    clock.advance(hours=1, minutes=59)
    assert (await server.http().get(f"/api/join/invite/{token}"))[0] == 200
    clock.advance(minutes=2)
    status, body = await server.http().get(f"/api/join/invite/{token}")
    assert (status, body["error"]["code"]) == (410, "invite_expired")
    status, body = await server.http().post("/api/join", await join_body(server, invite=token))
    assert (status, body["error"]["code"]) == (410, "invite_expired")

    # two idle hours later the advisor's session has ended too (PARLEY_SESSION_IDLE_MINUTES)
    advisor = await login_advisor(server, seed)
    status, body = await advisor.http.post(f"/api/consultations/{cid}/invites", {})
    fresh = body["data"]["invite"]
    assert (
        status == 201
        and (await server.http().get(f"/api/join/invite/{token_of(fresh['url'])}"))[0] == 200
    )
    status, body = await advisor.http.request(
        "DELETE", f"/api/consultations/{cid}/invites/{fresh['id']}"
    )
    assert status == 200 and body["data"]["invite"]["revoked"] is True
    status, body = await server.http().get(f"/api/join/invite/{token_of(fresh['url'])}")
    assert (status, body["error"]["code"]) == (404, "invite_invalid")


async def test_another_advisor_cannot_touch_a_consultation(server, seed_advisor):
    owner = await login_advisor(server, await seed_advisor())
    cid, token = await invite_consultation(owner)
    customer = await join_customer(server, invite=token)
    other = await login_advisor(server, await seed_advisor())
    ref = {"consultation_id": cid, "participant_id": customer.participant_id}
    for event, payload in [
        ("lobby_admit", ref),
        ("lobby_refuse", ref),
        ("participant_remove", ref),
        ("room_join", {"consultation_id": cid}),
        ("consultation_end", {"consultation_id": cid}),
    ]:
        ack = await other.sock.call(event, payload)
        assert ack["error"]["code"] == "not_authorised", event
    status, body = await other.http.post(f"/api/consultations/{cid}/end")
    assert (status, body["error"]["code"]) == (403, "not_authorised")
    assert (await customer.sock.ok("lobby_status"))["status"] == "waiting"
