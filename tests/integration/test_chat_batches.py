"""Chat messages sent at the same time are stored together (group commit): every
acknowledged message is stored once, numbered gap-free and in order per consultation, a
resend is still answered from storage, a message that cannot be stored is refused without
failing its neighbours, and two nodes on one PostgreSQL database never hand out a number
twice."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from typing import Any

import pytest
from aiohttp import web

from server.access import runner as access_runner
from server.app import create_app
from tests.clients import Socket
from tests.flows import admitted_pair

BOTH = pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


def say(cid: str, client_id: str, body: str) -> dict[str, str]:
    return {"consultation_id": cid, "client_id": client_id, "body": body}


async def history(sock: Socket, cid: str) -> list[dict[str, Any]]:
    page = await sock.ok("chat_history", {"consultation_id": cid, "after_seq": 0, "limit": 500})
    assert page["more"] is False
    return list(page["messages"])


async def delivered(sock: Socket, cid: str, count: int) -> list[dict[str, Any]]:
    """The first `count` chat messages of `cid` this socket received, in arrival order."""
    async with asyncio.timeout(30):
        while True:
            got = [m for m in sock.received("chat_message") if m["consultation_id"] == cid]
            if len(got) >= count:
                return got
            await asyncio.sleep(0.05)


@BOTH
async def test_concurrent_senders_are_stored_once_gap_free_and_in_order(server, seed_advisor):
    pairs = [await admitted_pair(server, seed_advisor) for _ in range(6)]
    sends = []  # (consultation id, client id, body, the call)
    for n, (advisor, customer, cid) in enumerate(pairs):
        for who, sock in (("a", advisor.sock), ("c", customer.sock)):
            for i in range(25):
                client_id, body = f"{who}{n}-msg-{i:04d}", f"Nachricht {i} von {who}{n}"
                sends.append(
                    (cid, client_id, body, sock.call("chat_send", say(cid, client_id, body)))
                )
                if i % 4 == 0:  # a resend racing the original, likely in the same batch
                    sends.append(
                        (cid, client_id, body, sock.call("chat_send", say(cid, client_id, body)))
                    )
    answers = await asyncio.gather(*(call for *_, call in sends))
    assert [a for a in answers if not a["ok"]] == []

    by_client: dict[tuple[str, str], set[tuple[int, str]]] = defaultdict(set)
    for (cid, client_id, _, _), answer in zip(sends, answers, strict=True):
        by_client[cid, client_id].add((answer["data"]["seq"], answer["data"]["id"]))
    assert all(len(acks) == 1 for acks in by_client.values()), "a resend got another number"

    for advisor, _, cid in pairs:
        stored = await history(advisor.sock, cid)
        assert [m["seq"] for m in stored] == list(range(1, 51))
        expected = {
            (client_id, body, seq, mid)
            for (c, client_id, body, _), answer in zip(sends, answers, strict=True)
            if c == cid
            for seq, mid in [(answer["data"]["seq"], answer["data"]["id"])]
        }
        assert {(m["client_id"], m["body"], m["seq"], m["id"]) for m in stored} == expected
        arrived = await delivered(advisor.sock, cid, 50)
        assert [m["seq"] for m in arrived] == list(range(1, 51)), "delivered out of order"
    await asyncio.sleep(0.2)  # a resend must not be delivered again
    for advisor, customer, cid in pairs:
        for sock in (advisor.sock, customer.sock):
            assert (
                len([m for m in sock.received("chat_message") if m["consultation_id"] == cid]) == 50
            )


@BOTH
async def test_a_refused_message_does_not_fail_its_neighbours(server, seed_advisor):
    frozen_advisor, frozen_customer, frozen = await admitted_pair(server, seed_advisor)
    advisor, customer, cid = await admitted_pair(server, seed_advisor)
    status, _ = await frozen_advisor.http.post(f"/api/consultations/{frozen}/restrict")
    assert status == 200
    calls = []
    for i in range(20):
        calls.append(
            ("ok", customer.sock.call("chat_send", say(cid, f"ok-msg-{i:04d}", f"Hallo {i}")))
        )
        calls.append(
            (
                "restricted",
                frozen_customer.sock.call("chat_send", say(frozen, f"fz-msg-{i:04d}", "x")),
            )
        )
        if i % 5 == 0:
            too_long = say(cid, f"long-msg-{i:04d}", "x" * 4001)
            calls.append(("invalid_payload", customer.sock.call("chat_send", too_long)))
    answers = await asyncio.gather(*(call for _, call in calls))
    for (expected, _), answer in zip(calls, answers, strict=True):
        if expected == "ok":
            assert answer["ok"], answer
        else:
            assert answer["error"]["code"] == expected, answer
    stored = await history(advisor.sock, cid)
    assert [m["seq"] for m in stored] == list(range(1, 21))
    assert {m["client_id"] for m in stored} == {f"ok-msg-{i:04d}" for i in range(20)}
    assert frozen_advisor.sock.received("chat_message") == []
    status, _ = await frozen_advisor.http.post(f"/api/consultations/{frozen}/unrestrict")
    assert status == 200
    assert await history(frozen_advisor.sock, frozen) == []
    ack = await frozen_customer.sock.ok("chat_send", say(frozen, "fz-msg-after", "wieder da"))
    assert ack["seq"] == 1  # the refused messages used up no numbers


async def second_node(settings: Any) -> tuple[web.AppRunner, str]:
    """Another Parley process state on the same database and keys (a second node)."""
    runner = access_runner(create_app(settings), shutdown_timeout=2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_two_nodes_number_one_consultation_without_collisions(server, seed_advisor):
    advisor, customer, cid = await admitted_pair(server, seed_advisor)
    runner, url = await second_node(server.settings)
    there = Socket()  # the customer again, through the other node
    try:
        await there.connect(url, customer.http.cookie_header(), url)
        await there.ok("room_join", {"consultation_id": cid})
        calls = []
        for i in range(40):
            calls.append(advisor.sock.call("chat_send", say(cid, f"a-msg-{i:04d}", f"A {i}")))
            calls.append(there.call("chat_send", say(cid, f"c-msg-{i:04d}", f"C {i}")))
            if i % 4 == 0:  # the same resend through both nodes at once: stored once
                dup = say(cid, f"c-msg-{i:04d}", f"C {i}")
                calls.append(customer.sock.call("chat_send", dup))
        answers = await asyncio.gather(*calls)
        assert [a for a in answers if not a["ok"]] == []
        stored = await history(advisor.sock, cid)
        assert [m["seq"] for m in stored] == list(range(1, 81))
        assert len({m["client_id"] for m in stored}) == 80
        acked = {(a["data"]["seq"], a["data"]["id"]) for a in answers}
        assert acked == {(m["seq"], m["id"]) for m in stored}
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(there.close(), 5)
        await runner.cleanup()
