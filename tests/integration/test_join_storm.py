"""A burst of customers joining must not hold up the customers who are already in."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.flows import join_customer, login_advisor

pytestmark = pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)

BURST = 60


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"queue_size": BURST + 1}


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
    queue = (await advisor.sock.ok("dashboard_get"))["queue"]
    assert sorted(e["participant_id"] for e in queue) == sorted(joined)
