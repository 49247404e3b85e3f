"""Many consultations chatting at once: every message is stored and acknowledged (under
load SQLite's one writer used to make some of them fail with `database is locked`)."""

from __future__ import annotations

import asyncio

import pytest

from tests.flows import admitted_pair


@pytest.fixture
def settings_overrides():
    # one socket stands for many writers here (500 messages a second): what is tested is
    # the database under load, not the per-connection flood limit (tests/integration/
    # test_floods.py)
    return {"events_per_second": 10_000}


async def test_a_burst_of_chat_in_many_consultations(server, seed_advisor):
    pairs = [await admitted_pair(server, seed_advisor) for _ in range(20)]

    async def talk(customer, cid: str, n: int) -> list[dict]:
        sends = [
            customer.sock.sio.call(
                "chat_send",
                {
                    "consultation_id": cid,
                    "client_id": f"burst-{n:03d}-{i:04d}",
                    "body": f"Nachricht {i}",
                },
                timeout=90,  # 1,000 messages in flight at once: far past what one node serves
            )
            for i in range(50)
        ]
        return await asyncio.gather(*sends)

    answers = await asyncio.gather(*(talk(c, cid, n) for n, (_, c, cid) in enumerate(pairs)))
    failed = [a for batch in answers for a in batch if not a["ok"]]
    assert failed == []
    for batch in answers:
        assert sorted(a["data"]["seq"] for a in batch) == list(range(1, 51))


async def test_customers_join_during_a_chat_stream(server, seed_advisor):
    """Joining writes too: while chat messages are committed one after another, none of
    the joins may fail for want of SQLite's one writer."""
    seed = await seed_advisor()
    _advisor, customer, cid = await admitted_pair(server, seed_advisor)

    async def send(i: int) -> dict:
        await asyncio.sleep(i * 0.002)  # a steady stream of commits, not one big batch
        return await customer.sock.sio.call(
            "chat_send",
            {"consultation_id": cid, "client_id": f"noise-{i:05d}", "body": "Hallo"},
            timeout=90,
        )

    async def chatter() -> list[dict]:
        return await asyncio.gather(*(send(i) for i in range(600)))

    async def newcomer(n: int) -> tuple[int, dict]:
        await asyncio.sleep(n * 0.02)
        http = server.http()
        body = {
            "first_name": "Kunde " + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[n % 26] * (1 + n // 26),
            "last_name": "Test",
            "notice_version": server.settings.notice_version,
            "team": seed["team_slug"],
        }
        return await http.post("/api/join", body)

    chat, *joins = await asyncio.gather(chatter(), *(newcomer(n) for n in range(45)))
    assert [a for a in chat if not a["ok"]] == []
    assert [(status, body) for status, body in joins if status != 201] == []
