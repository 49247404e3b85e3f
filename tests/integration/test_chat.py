"""Chat over real Socket.IO: sealed and stored before the acknowledgement, numbered by the
database, idempotent by client id, resumable after the last seen number."""

from __future__ import annotations

import pytest

from tests.flows import admitted_pair

pytestmark = pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


def say(cid, client_id, body):
    return {"consultation_id": cid, "client_id": client_id, "body": body}


async def test_send_receive_resend_and_history(server, seed_advisor):
    advisor, customer, cid = await admitted_pair(server, seed_advisor)
    ack = await customer.sock.ok("chat_send", say(cid, "c-00000001", "Guten Tag!\nZweite Zeile"))
    assert ack["seq"] == 1
    got = await advisor.sock.next("chat_message")
    assert (got["seq"], got["body"], got["from"], got["name"], got["kind"]) == (
        1,
        "Guten Tag!\nZweite Zeile",
        customer.participant_id,
        "Erika Mustermann",
        "text",
    )
    mine = await customer.sock.next("chat_message")  # the sender sees it too
    assert mine["id"] == got["id"]

    again = await customer.sock.ok("chat_send", say(cid, "c-00000001", "Guten Tag!\nZweite Zeile"))
    assert again == ack
    await advisor.sock.ok("chat_send", say(cid, "a-00000001", "<b>no html</b> https://example.com"))
    await advisor.sock.ok("chat_send", say(cid, "a-00000002", "Drei"))
    assert [m["seq"] for m in advisor.sock.received("chat_message")] == [1, 2, 3]

    history = await customer.sock.ok("chat_history", {"consultation_id": cid, "after_seq": 1})
    assert [m["body"] for m in history["messages"]] == [
        "<b>no html</b> https://example.com",
        "Drei",
    ]
    assert history["more"] is False
    page = await customer.sock.ok(
        "chat_history", {"consultation_id": cid, "after_seq": 0, "limit": 2}
    )
    assert [m["seq"] for m in page["messages"]] == [1, 2] and page["more"] is True


async def test_only_the_room_chats_and_limits_hold(server, seed_advisor):
    advisor, customer, cid = await admitted_pair(server, seed_advisor)
    other_advisor, other_customer, _other_cid = await admitted_pair(server, seed_advisor)
    for sock in (other_customer.sock, other_advisor.sock):
        ack = await sock.call("chat_send", say(cid, "x-00000001", "hello"))
        assert ack["error"]["code"] == "not_authorised"
        ack = await sock.call("chat_history", {"consultation_id": cid})
        assert ack["error"]["code"] == "not_authorised"
    long = await customer.sock.call("chat_send", say(cid, "c-00000009", "x" * 4001))
    assert long["error"]["code"] == "invalid_payload"
    await customer.sock.ok("room_leave", {"consultation_id": cid})
    gone = await customer.sock.call("chat_send", say(cid, "c-00000010", "still here?"))
    assert gone["error"]["code"] == "not_authorised"
    await advisor.sock.ok("dashboard_get")
    assert advisor.sock.received("chat_message") == []


async def test_advisor_reads_back_a_past_consultation(server, seed_advisor):
    advisor, customer, cid = await admitted_pair(server, seed_advisor)
    await customer.sock.ok("chat_send", say(cid, "c-00000001", "Frage zum Vertrag"))
    await advisor.sock.ok("chat_send", say(cid, "a-00000001", "Antwort"))
    status, _ = await advisor.http.post(f"/api/consultations/{cid}/end")
    assert status == 200
    status, body = await advisor.http.get(f"/api/consultations/{cid}/chat")
    assert status == 200
    assert [(m["name"], m["body"]) for m in body["data"]["messages"]] == [
        ("Erika Mustermann", "Frage zum Vertrag"),
        ("Anna Advisor", "Antwort"),
    ]
    status, body = await advisor.http.get(f"/api/consultations/{cid}/chat?after_seq=1&limit=1")
    assert [m["seq"] for m in body["data"]["messages"]] == [2]
    status, body = await advisor.http.get(f"/api/consultations/{cid}/chat?after_seq=x")
    assert (status, body["error"]["code"]) == (400, "invalid_payload")
    other = server.http()
    status, body = await other.get(f"/api/consultations/{cid}/chat")
    assert (status, body["error"]["code"]) == (401, "not_authenticated")
