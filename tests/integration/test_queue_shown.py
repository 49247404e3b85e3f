"""A long team queue: announcements and the dashboard name only the longest-waiting
PARLEY_QUEUE_SHOWN customers and count the rest, so each announcement stays small however
long the queue gets."""

from __future__ import annotations

import asyncio

import pytest

from server.state import CORE
from tests.flows import join_customer, login_advisor


@pytest.fixture
def settings_overrides():
    return {"queue_shown": 2}


def names(queue: list[dict]) -> list[str]:
    return [entry["name"] for entry in queue]


async def test_the_longest_waiting_are_named_and_everyone_is_counted(server, seed_advisor):
    seed = await seed_advisor()
    advisor = await login_advisor(server, seed)
    customers = []
    for n, first in enumerate(["Anna", "Berta", "Clara", "Dora"]):
        customers.append(await join_customer(server, team=seed["team_slug"], first=first))
        update = await advisor.sock.until("queue_updated", lambda d, n=n: d["waiting"] == n + 1)
        assert len(update["queue"]) == min(n + 1, 2)
    assert names(update["queue"]) == ["Anna Mustermann", "Berta Mustermann"]

    dashboard = await advisor.sock.ok("dashboard_get")
    assert dashboard["queue_waiting"] == 4
    assert [e["participant_id"] for e in dashboard["queue"]] == [
        c.participant_id for c in customers[:2]
    ]

    # a customer who is not named yet can be picked up all the same (a stale dashboard)
    await advisor.sock.ok("queue_pickup", {"consultation_id": customers[3].consultation_id})
    update = await advisor.sock.until("queue_updated", lambda d: d["waiting"] == 3)
    assert names(update["queue"]) == ["Anna Mustermann", "Berta Mustermann"]

    await advisor.sock.ok("queue_pickup", {"consultation_id": customers[0].consultation_id})
    update = await advisor.sock.until("queue_updated", lambda d: d["waiting"] == 2)
    assert names(update["queue"]) == ["Berta Mustermann", "Clara Mustermann"]

    for c in customers[1:3]:
        await advisor.sock.ok("queue_pickup", {"consultation_id": c.consultation_id})
    update = await advisor.sock.until("queue_updated", lambda d: d["waiting"] == 0)
    assert update["queue"] == []
    assert (await advisor.sock.ok("dashboard_get"))["queue_waiting"] == 0


async def test_a_burst_of_joins_is_announced_in_a_few_announcements_ending_with_all(
    server, seed_advisor
):
    """Announcements fold: a team's queue is announced at most once every
    `queue_announce_gap` seconds, and the changes made meanwhile are in the next one, so
    a burst of joins costs a few announcements, not one each, and the last one is whole."""
    seed = await seed_advisor()
    advisor = await login_advisor(server, seed)
    burst = 12
    firsts = [f"Kunde {chr(ord('A') + i)}" for i in range(burst)]
    customers = await asyncio.gather(
        *(join_customer(server, team=seed["team_slug"], first=first) for first in firsts)
    )
    last = await advisor.sock.until("queue_updated", lambda d: d["waiting"] == burst)
    announced = advisor.sock.received("queue_updated")
    # one at the first join, then at most one per gap (a quarter second) while they arrive
    assert 1 <= len(announced) < burst // 2, [a["waiting"] for a in announced]
    assert [a["waiting"] for a in announced] == sorted(a["waiting"] for a in announced)
    shown = {e["participant_id"] for e in last["queue"]}
    assert len(shown) == 2 and shown <= {c.participant_id for c in customers}  # queue_shown

    # a pickup in a quiet moment is announced on its own
    await asyncio.sleep(server.app[CORE].limits.queue_announce_gap)
    await advisor.sock.ok("queue_pickup", {"consultation_id": customers[0].consultation_id})
    update = await advisor.sock.next("queue_updated")
    assert update["waiting"] == burst - 1
