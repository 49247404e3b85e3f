"""Room-scoped signalling: only admitted participants who joined the room reach each other."""

from __future__ import annotations

import pytest
import socketio

from tests.clients import Socket
from tests.flows import admitted_pair, invite_consultation, join_customer

OFFER = {"type": "offer", "sdp": "v=0\r\n"}


def signal(cid, to, **kw):
    return {"consultation_id": cid, "to": to, "description": OFFER, **kw}


async def test_outsiders_cannot_signal_into_a_consultation(server, seed_advisor):
    advisor, customer, cid = await admitted_pair(server, seed_advisor)
    me = await advisor.sock.ok("room_join", {"consultation_id": cid})
    advisor_pid = me["self"]["id"]
    targets = [advisor_pid, customer.participant_id]

    # a participant of another consultation
    other_advisor, other_customer, other_cid = await admitted_pair(server, seed_advisor)
    # a customer still in this consultation's lobby
    _, token = await invite_consultation(advisor)  # a second consultation of the same advisor
    lobby = await join_customer(server, invite=token)
    lobby_cid = lobby.consultation_id
    # a removed participant
    removed = await join_customer(server, invite=await _token_for(advisor, cid))
    ref = {"consultation_id": cid, "participant_id": removed.participant_id}
    await advisor.sock.ok("lobby_admit", ref)
    await removed.sock.ok("room_join", {"consultation_id": cid})
    await advisor.sock.ok("participant_remove", ref)
    await removed.sock.until("lobby_state", lambda d: d["status"] == "removed")
    customer.sock.log.clear()
    advisor.sock.log.clear()

    attempts = []
    for to in targets:
        attempts += [
            (other_customer.sock, signal(cid, to)),
            (other_customer.sock, signal(other_cid, to)),
            (other_advisor.sock, signal(cid, to)),
            (lobby.sock, signal(cid, to)),
            (lobby.sock, signal(lobby_cid, to)),
            (removed.sock, signal(cid, to)),
        ]
    for sock, payload in attempts:
        ack = await sock.call("rtc_signal", payload)
        assert ack["ok"] is False and ack["error"]["code"] == "not_authorised", payload

    anonymous = Socket()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await anonymous.connect(server.url, "", server.url)

    # a legitimate signal sent afterwards arrives; it is the only one that does
    await advisor.sock.ok("rtc_signal", signal(cid, customer.participant_id))
    got = await customer.sock.next("rtc_signal")
    assert got["from"] == advisor_pid
    await advisor.sock.ok("dashboard_get")  # a round trip: anything relayed earlier is in
    assert customer.sock.received("rtc_signal") == [got]
    assert advisor.sock.received("rtc_signal") == []


async def test_a_participant_cannot_signal_to_itself_or_to_a_stranger(server, seed_advisor):
    _, customer, cid = await admitted_pair(server, seed_advisor)
    for to in (customer.participant_id, "f" * 32):
        ack = await customer.sock.call("rtc_signal", signal(cid, to))
        assert ack["error"]["code"] == "not_authorised"


async def _token_for(advisor, cid):
    status, body = await advisor.http.post(f"/api/consultations/{cid}/invites", {})
    assert status == 201
    return body["data"]["invite"]["url"].rsplit("/i/", 1)[1]
