"""A burst of customers joining must not hold up the customers who are already in."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from server.state import LOBBY
from signaling.lobby import JOINS_AT_ONCE
from tests.flows import join_customer, login_advisor

pytestmark = pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)

BURST = 60


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"queue_size": BURST + 1, "queue_shown": BURST}


async def test_a_burst_of_joins_does_not_hold_up_a_pickup(server, seed_advisor):
    """Sixty customers arrive at once while an advisor picks up one who was already
    waiting. Joins take turns among themselves, a few at a time, not in front of every
    other write: the pickup is answered after a few of the newcomers' joins, not after
    all of them. And nobody in the burst is lost."""
    seed = await seed_advisor()
    advisor = await login_advisor(server, seed)
    first = await join_customer(server, team=seed["team_slug"], first="Ada")
    http = server.http()
    joined: list[str] = []

    async def join(n: int) -> None:
        status, answer = await http.post(
            "/api/join",
            {
                "team": seed["team_slug"],
                "first_name": f"Kunde {chr(65 + n // 26)}{chr(97 + n % 26)}",
                "last_name": "Mustermann",
                "notice_version": server.settings.notice_version,
            },
        )
        assert status == 201, answer
        joined.append(answer["data"]["participant_id"])

    burst = [asyncio.create_task(join(n)) for n in range(BURST)]

    async def burst_under_way() -> None:
        while len(joined) < 3:
            await asyncio.sleep(0.005)

    await asyncio.wait_for(burst_under_way(), 30)
    await advisor.sock.ok("queue_pickup", {"consultation_id": first.consultation_id})
    joined_before_pickup = len(joined)
    await first.sock.until("lobby_state", lambda d: d["status"] == "admitted")
    await asyncio.gather(*burst)

    assert joined_before_pickup < BURST // 2, (
        f"the pickup waited for {joined_before_pickup} of {BURST} joins"
    )
    dashboard = await advisor.sock.ok("dashboard_get")
    assert sorted(e["participant_id"] for e in dashboard["queue"]) == sorted(joined)
    assert dashboard["queue_waiting"] == BURST


@pytest.mark.parametrize("settings_overrides", [{"join_wait_seconds": 0.3}])
async def test_a_join_that_gets_no_turn_is_answered_busy_and_changes_nothing(server, seed_advisor):
    """The node's join turns are all taken (the test holds them, as a storm would): a join
    waits `join_wait_seconds` and is answered 503 `busy` with Retry-After, and no customer,
    consultation or queue entry is left of it. A join that finds a turn free does not wait
    for the timer. Once turns are free again the very same join goes through."""
    seed = await seed_advisor()
    advisor = await login_advisor(server, seed)
    gate = server.app[LOBBY].gate
    body = {
        "team": seed["team_slug"],
        "first_name": "Erika",
        "last_name": "Mustermann",
        "notice_version": server.settings.notice_version,
    }
    http = server.http()
    await http.get("/api/session")
    headers = {"Origin": http.base, "X-CSRF-Token": http.csrf_cookie() or ""}
    held = 0
    try:
        for _ in range(JOINS_AT_ONCE - 1):
            await gate.acquire()
            held += 1
        status, answer = await http.post("/api/join", body)  # the one turn left
        assert status == 201, answer
        first = answer["data"]["participant_id"]
        guest = http.cookie("parley_guest")
        assert guest is not None

        await gate.acquire()
        held += 1
        async with http.session.post(f"{http.base}/api/join", json=body, headers=headers) as r:
            assert r.status == 503
            assert r.headers["Retry-After"] == "3"
            refused = await r.json()
        assert refused == {
            "ok": False,
            "error": {
                "code": "busy",
                "message": "many customers are joining right now; please try again in a few "
                "seconds",
            },
        }
        queue = (await advisor.sock.ok("dashboard_get"))["queue"]
        assert [e["participant_id"] for e in queue] == [first]
        assert http.cookie("parley_guest") == guest  # the refusal set no session

        for _ in range(held):
            gate.release()
        held = 0
        status, answer = await http.post("/api/join", body)
        assert status == 201, answer
        queue = (await advisor.sock.ok("dashboard_get"))["queue"]
        assert sorted(e["participant_id"] for e in queue) == sorted(
            [first, answer["data"]["participant_id"]]
        )
    finally:
        for _ in range(held):
            gate.release()
