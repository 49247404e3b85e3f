"""Many consultations chatting at once: every message is stored and acknowledged (under
load SQLite's one writer used to make some of them fail with `database is locked`)."""

from __future__ import annotations

import asyncio

from tests.flows import admitted_pair


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
