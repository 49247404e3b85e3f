"""A customer whose connection is cut at random moments, also between a send and its
acknowledgement, over hundreds of rounds, ends with every acknowledged message exactly once,
in order; no resend is ever stored twice."""

from __future__ import annotations

import asyncio
import os
import random

import pytest

from tests.clients import WAIT, Socket
from tests.faults import CutProxy
from tests.flows import admitted_pair

ROUNDS = int(os.environ.get("PARLEY_RECONNECT_ROUNDS", "200"))


@pytest.fixture
def settings_overrides():
    # the advisor talks as fast as the acknowledgements come back, which on a quick machine
    # is more than a connection's 100 events a second: the limit is not what is tested here
    return {"grace_seconds": 120.0, "events_per_second": 10_000}


async def test_cut_connections_lose_and_duplicate_nothing(server, seed_advisor):
    rng = random.Random(os.environ.get("PARLEY_SEED", "parley"))
    advisor, customer, cid = await admitted_pair(server, seed_advisor)
    await customer.sock.close()
    host, port = server.url.removeprefix("http://").split(":")
    proxy = CutProxy(host, int(port))
    await proxy.start()

    acked_by_advisor: set[int] = set()
    stop = asyncio.Event()

    async def advisor_talks() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            ack = await advisor.sock.ok(
                "chat_send",
                {"consultation_id": cid, "client_id": f"adv-{n:08d}", "body": f"advisor {n}"},
            )
            acked_by_advisor.add(ack["seq"])
            await asyncio.sleep(rng.uniform(0, 0.01))

    seen: dict[int, dict] = {}
    unacked: dict[str, str] = {}  # client id -> body, sent but not (known to be) acknowledged
    acked_mine: set[str] = set()
    sent = 0

    async def catch_up(sock: Socket) -> None:
        while True:
            after = max(seen, default=0)
            page = await sock.ok(
                "chat_history", {"consultation_id": cid, "after_seq": after, "limit": 50}
            )
            seqs = [m["seq"] for m in page["messages"]]
            assert seqs == sorted(set(seqs)) and all(s > after for s in seqs)
            for m in page["messages"]:
                seen.setdefault(m["seq"], m)
            if not page["more"]:
                return

    talker = asyncio.create_task(advisor_talks())
    cuts = 0
    try:
        for _ in range(ROUNDS):
            sock = Socket()
            try:
                await sock.connect(proxy.url, customer.http.cookie_header(), proxy.url)
                await sock.ok("room_join", {"consultation_id": cid})
                for client_id, body in list(unacked.items()):  # resend what was never acknowledged
                    ack = await sock.call(
                        "chat_send", {"consultation_id": cid, "client_id": client_id, "body": body}
                    )
                    if ack["ok"]:
                        acked_mine.add(client_id)
                        del unacked[client_id]
                await catch_up(sock)
                sent += 1
                client_id, body = f"cus-{sent:08d}", f"customer {sent}"
                unacked[client_id] = body
                sending = asyncio.create_task(
                    sock.call(
                        "chat_send", {"consultation_id": cid, "client_id": client_id, "body": body}
                    )
                )
                await asyncio.sleep(rng.choice([0, 0, 0.0005, 0.002, 0.01]))  # often before the ack
                proxy.cut()
                cuts += 1
                # after a cut an acknowledgement has either arrived already or never will
                done, _ = await asyncio.wait({sending}, timeout=0.05)
                if not done:
                    sending.cancel()
                elif not sending.exception() and sending.result().get("ok"):
                    acked_mine.add(client_id)
                    del unacked[client_id]
            except Exception:
                proxy.cut()
            finally:
                for m in sock.received("chat_message"):
                    seen.setdefault(m["seq"], m)
                await asyncio.wait_for(sock.sio.disconnect(), WAIT)
    finally:
        stop.set()
        await talker
        await proxy.close()

    final = Socket()
    await final.connect(server.url, customer.http.cookie_header(), server.url)
    await final.ok("room_join", {"consultation_id": cid})
    for client_id, body in list(unacked.items()):
        await final.ok("chat_send", {"consultation_id": cid, "client_id": client_id, "body": body})
        acked_mine.add(client_id)
    await catch_up(final)
    await final.close()

    transcript = (await advisor.http.get(f"/api/consultations/{cid}/chat?limit=500"))[1]["data"]
    everything = list(transcript["messages"])
    while transcript["more"]:
        transcript = (
            await advisor.http.get(
                f"/api/consultations/{cid}/chat?limit=500&after_seq={everything[-1]['seq']}"
            )
        )[1]["data"]
        everything += transcript["messages"]

    seqs = [m["seq"] for m in everything]
    assert seqs == list(range(1, len(seqs) + 1))  # gap-free and ordered
    assert sorted(seen) == seqs  # the customer has every message ...
    assert all(seen[m["seq"]]["id"] == m["id"] for m in everything)  # ... the same ones
    client_ids = [m["client_id"] for m in everything]
    assert len(client_ids) == len(set(client_ids))  # no resend stored twice
    assert {c for c in client_ids if c.startswith("cus-")} == acked_mine
    assert acked_by_advisor <= set(seqs)
    assert cuts >= ROUNDS * 0.9
