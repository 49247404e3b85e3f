"""A long team queue: announcements and the dashboard name only the longest-waiting
PARLEY_QUEUE_SHOWN customers and count the rest, so each announcement stays small however
long the queue gets."""

from __future__ import annotations

import pytest

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
