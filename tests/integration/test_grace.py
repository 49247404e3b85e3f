"""After the grace period a dropped customer goes back to the lobby, never admitted again
automatically."""

from __future__ import annotations

import pytest

from tests.flows import admitted_pair


@pytest.fixture
def settings_overrides():
    return {"grace_seconds": 0.3}


async def test_grace_expiry_sends_the_customer_back_to_the_lobby(server, seed_advisor):
    advisor, customer, cid = await admitted_pair(server, seed_advisor)
    await customer.sock.close()
    left = await advisor.sock.next("participant_left")
    assert left == {
        "consultation_id": cid,
        "participant_id": customer.participant_id,
        "reason": "timeout",
    }
    lobby = await advisor.sock.until("lobby_updated", lambda d: d["waiting"])
    assert lobby["waiting"][0]["participant_id"] == customer.participant_id

    again = await server.socket(customer.http)
    assert (await again.ok("lobby_status"))["status"] == "waiting"
    refused = await again.call("room_join", {"consultation_id": cid})
    assert refused["error"]["code"] == "not_authorised"
    await advisor.sock.ok(
        "lobby_admit", {"consultation_id": cid, "participant_id": customer.participant_id}
    )
    await again.until("lobby_state", lambda d: d["status"] == "admitted")
    assert (await again.ok("room_join", {"consultation_id": cid}))["self"][
        "id"
    ] == customer.participant_id
