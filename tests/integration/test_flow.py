"""The whole consultation over real HTTP and Socket.IO, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest

from tests.flows import admitted_pair, invite_consultation, join_customer, login_advisor

pytestmark = pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


async def test_instant_queue_pickup_room_and_moderation(server, seed_advisor):
    seed = await seed_advisor()
    advisor = await login_advisor(server, seed)
    assert (await advisor.sock.ok("dashboard_get"))["queue"] == []

    customer = await join_customer(server, team=seed["team_slug"], first="Jörg", last="O'Brien")
    queue = await advisor.sock.until("queue_updated", lambda d: d["queue"])
    assert [(e["name"], e["participant_id"]) for e in queue["queue"]] == [
        ("Jörg O'Brien", customer.participant_id)
    ]
    assert (await customer.sock.ok("lobby_status"))["status"] == "waiting"
    session = (await customer.http.get("/api/session"))[1]["data"]
    assert session["guest"]["status"] == "waiting"

    cid = customer.consultation_id
    await advisor.sock.ok("queue_pickup", {"consultation_id": cid})
    await customer.sock.until("lobby_state", lambda d: d["status"] == "admitted")
    await advisor.sock.until("queue_updated", lambda d: d["queue"] == [])
    second = await advisor.sock.call("queue_pickup", {"consultation_id": cid})
    assert second["error"]["code"] == "invalid_state"

    mine = await advisor.sock.ok("room_join", {"consultation_id": cid})
    assert mine["self"]["role"] == "advisor" and mine["participants"][0]["connected"] is False
    theirs = await customer.sock.ok("room_join", {"consultation_id": cid})
    assert [p["role"] for p in theirs["participants"]] == ["advisor"]
    joined = await advisor.sock.next("participant_joined")
    assert joined["participant"]["id"] == customer.participant_id

    await customer.sock.ok("media_update", {"consultation_id": cid, "audio": False, "video": True})
    updated = await advisor.sock.next("participant_updated")
    assert updated["participant"]["audio"] is False

    ref = {"consultation_id": cid, "participant_id": customer.participant_id}
    await advisor.sock.ok("participant_remove", ref)
    await customer.sock.until("lobby_state", lambda d: d["status"] == "removed")
    left = await advisor.sock.next("participant_left")
    assert left == {
        "consultation_id": cid,
        "participant_id": customer.participant_id,
        "reason": "removed",
    }
    again = await customer.sock.call("room_join", {"consultation_id": cid})
    assert again["error"]["code"] == "not_authorised"


async def test_join_page_facts_of_a_team_made_after_a_miss(server, seed_advisor):
    """The join page's team facts are kept once read (a team's slug and name never change),
    but an unknown slug is not: a team created after someone asked for it is found."""
    http = server.http()
    status, body = await http.get("/api/join/team/team-later")
    assert status == 404 and body["error"]["code"] == "not_found"
    await seed_advisor("team-later", team_name="Beratung Süd")
    for _ in range(2):  # read, then kept
        status, body = await http.get("/api/join/team/team-later")
        assert status == 200
        assert body["data"]["team"] == {"slug": "team-later", "name": "Beratung Süd"}
        assert body["data"]["notice"]["version"] == server.settings.notice_version


async def test_a_burst_of_joins_ends_in_the_whole_queue(server, seed_advisor):
    """Twelve customers join at once and are picked up at once: the advisor's queue ends
    with all of them, then with no one (announcements made concurrently lose nobody)."""
    seed = await seed_advisor()
    advisor = await login_advisor(server, seed)
    customers = await asyncio.gather(
        *(
            join_customer(server, team=seed["team_slug"], first=f"Kunde {chr(65 + n)}")
            for n in range(12)
        )
    )
    expected = {
        (f"Kunde {chr(65 + n)} Mustermann", c.participant_id) for n, c in enumerate(customers)
    }
    queue = await advisor.sock.until("queue_updated", lambda d: len(d["queue"]) == 12)
    assert {(e["name"], e["participant_id"]) for e in queue["queue"]} == expected
    await asyncio.gather(
        *(
            advisor.sock.ok("queue_pickup", {"consultation_id": c.consultation_id})
            for c in customers
        )
    )
    await advisor.sock.until("queue_updated", lambda d: d["queue"] == [])
    assert (await advisor.sock.ok("dashboard_get"))["queue"] == []


async def test_invite_lobby_admit_refuse_and_end_is_final(server, seed_advisor):
    advisor = await login_advisor(server, await seed_advisor())
    cid, token = await invite_consultation(advisor)
    status, facts = await server.http().get(f"/api/join/invite/{token}")
    assert status == 200 and facts["data"]["consultation"]["state"] == "waiting"

    first = await join_customer(server, invite=token, first="Ada", last="Lovelace")
    lobby = await advisor.sock.until("lobby_updated", lambda d: len(d["waiting"]) == 1)
    assert lobby["consultation_id"] == cid and lobby["waiting"][0]["name"] == "Ada Lovelace"
    second = await join_customer(server, invite=token, first="Grace", last="Hopper")
    await advisor.sock.until("lobby_updated", lambda d: len(d["waiting"]) == 2)

    ref = {"consultation_id": cid, "participant_id": second.participant_id}
    await advisor.sock.ok("lobby_refuse", ref)
    await second.sock.until("lobby_state", lambda d: d["status"] == "refused")
    assert (await advisor.sock.call("lobby_admit", ref))["error"]["code"] == "invalid_state"

    await advisor.sock.ok(
        "lobby_admit", {"consultation_id": cid, "participant_id": first.participant_id}
    )
    await first.sock.until("lobby_state", lambda d: d["status"] == "admitted")
    dashboard = await advisor.sock.ok("dashboard_get")
    assert [c["state"] for c in dashboard["consultations"] if c["id"] == cid] == ["active"]

    await advisor.sock.ok("room_join", {"consultation_id": cid})
    await first.sock.ok("room_join", {"consultation_id": cid})
    late = await join_customer(server, invite=token, first="Late", last="Comer")
    status, ended = await advisor.http.post(f"/api/consultations/{cid}/end")
    assert status == 200 and ended["data"]["consultation"]["state"] == "ended"
    await first.sock.next("consultation_ended")
    await late.sock.until("lobby_state", lambda d: d["status"] == "ended")

    status, body = await server.http().get(f"/api/join/invite/{token}")
    assert (status, body["error"]["code"]) == (410, "consultation_ended")
    status, body = await server.http().post(
        "/api/join",
        {
            "invite": token,
            "first_name": "Too",
            "last_name": "Late",
            "notice_version": server.settings.notice_version,
        },
    )
    assert (status, body["error"]["code"]) == (410, "consultation_ended")
    rejoin = await first.sock.call("room_join", {"consultation_id": cid})
    assert rejoin["error"]["code"] == "consultation_ended"


async def test_reload_within_grace_keeps_the_place(server, seed_advisor):
    advisor, customer, cid = await admitted_pair(server, seed_advisor)
    await advisor.sock.next("participant_joined")
    await customer.sock.close()
    gone = await advisor.sock.next("participant_updated")
    assert gone["participant"]["connected"] is False

    again = await server.socket(customer.http)  # same cookie: a reloaded page
    assert (await again.ok("lobby_status"))["status"] == "admitted"
    room = await again.ok("room_join", {"consultation_id": cid})
    assert room["self"]["id"] == customer.participant_id
    back = await advisor.sock.next("participant_updated")
    assert back["participant"]["connected"] is True
    assert advisor.sock.received("participant_left") == []


async def _sees_connected(sock, ack: dict, other: str) -> None:
    """`other` is in the room for this socket: listed as connected in its room_join answer,
    or announced by participant_joined/participant_updated afterwards."""
    if any(p["id"] == other and p["connected"] for p in ack["participants"]):
        return
    seen = [
        data["participant"]
        for name, data in sock.log
        if name in ("participant_joined", "participant_updated")
    ]
    if any(p["id"] == other and p["connected"] for p in seen):
        return
    await sock.until(
        "participant_joined",
        lambda d: d["participant"]["id"] == other and d["participant"]["connected"],
    )


async def test_advisor_and_customer_joining_at_once_each_learn_of_the_other(server, seed_advisor):
    """The advisor's participant row is made by their first room_join; a customer joining
    at that very moment must still hear of them (and the other way round)."""
    advisor = await login_advisor(server, await seed_advisor())
    for _ in range(15):
        cid, token = await invite_consultation(advisor)
        customer = await join_customer(server, invite=token)
        await advisor.sock.ok(
            "lobby_admit", {"consultation_id": cid, "participant_id": customer.participant_id}
        )
        await customer.sock.until("lobby_state", lambda d: d["status"] == "admitted")
        theirs, mine = await asyncio.gather(
            customer.sock.ok("room_join", {"consultation_id": cid}),
            advisor.sock.ok("room_join", {"consultation_id": cid}),
        )
        await _sees_connected(customer.sock, theirs, mine["self"]["id"])
        await _sees_connected(advisor.sock, mine, customer.participant_id)
        await advisor.sock.ok("consultation_end", {"consultation_id": cid})
        await customer.sock.close()


async def test_signals_reach_the_peer_in_the_order_they_were_sent(server, seed_advisor):
    """An offer's first sight of audio and video is written to the statistics; the ICE
    candidates sent right behind it must not overtake it while that row is written."""
    advisor, customer, cid = await admitted_pair(server, seed_advisor)
    offer = {
        "type": "offer",
        "sdp": "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n",
    }
    sent = [{"consultation_id": cid, "to": customer.participant_id, "description": offer}]
    sent += [
        {
            "consultation_id": cid,
            "to": customer.participant_id,
            "candidate": {
                "candidate": f"candidate:{n} 1 udp 2122260223 192.0.2.{n} 5000{n} typ host",
                "sdpMid": "0",
                "sdpMLineIndex": 0,
            },
        }
        for n in range(1, 6)
    ]
    acks = await asyncio.gather(*(advisor.sock.call("rtc_signal", s) for s in sent))
    assert all(a["ok"] for a in acks), acks
    got = [await customer.sock.next("rtc_signal") for _ in sent]
    assert [g.get("description") or g["candidate"]["candidate"] for g in got] == [
        s.get("description") or s["candidate"]["candidate"] for s in sent
    ]
