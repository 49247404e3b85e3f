"""Faults: connections that drop, stall or crawl at random moments while chatting and
drawing (through tests.faults.CutProxy), the same customer twice, the advisor dropping while
customers wait, and storage failing under an upload."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
from typing import Any

import asyncpg
import pytest
from pycrdt import Map

from tests.boards import YClient, add_element, edit
from tests.clients import WAIT, Socket
from tests.faults import CutProxy
from tests.flows import admitted_pair, invite_consultation, join_customer, login_advisor

# rounds in all, shared by WORKERS consultations running at once; more: PARLEY_FAULT_ROUNDS
ROUNDS = int(os.environ.get("PARLEY_FAULT_ROUNDS", "1000"))
WORKERS = 4
FAULTS = ("cut", "delay", "half_open")


@pytest.fixture
def settings_overrides():
    return {"grace_seconds": 120.0}


async def all_messages(http, cid: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    more = True
    while more:
        after = messages[-1]["seq"] if messages else 0
        data = (await http.get(f"/api/consultations/{cid}/chat?limit=500&after_seq={after}"))[1]
        messages += data["data"]["messages"]
        more = data["data"]["more"]
    return messages


async def faulty_customer(server, seed_advisor, rounds: int, rng: random.Random) -> dict:
    advisor, customer, cid = await admitted_pair(server, seed_advisor)
    await customer.sock.close()
    host, port = server.url.removeprefix("http://").split(":")
    proxy = CutProxy(host, int(port))
    await proxy.start()
    doc = YClient(Socket(), cid).doc  # the customer's board, kept across connections
    unacked_chat: dict[str, str] = {}
    acked_chat: set[str] = set()
    unacked_board: dict[str, bytes] = {}  # element id -> the update that drew it
    acked_board: set[str] = set()
    faults = {name: 0 for name in FAULTS}
    try:
        # a round whose connection fails before its fault (a loaded machine) is done again
        for n in range(2 * rounds):
            if sum(faults.values()) >= rounds:
                break
            sock = Socket()
            sends: list[tuple[str, str, asyncio.Task[dict[str, Any]]]] = []
            try:
                await sock.connect(proxy.url, customer.http.cookie_header(), proxy.url)
                await sock.ok("room_join", {"consultation_id": cid})
                board = YClient(sock, cid)
                board.doc = doc
                await board.sync()
                for key, body in list(unacked_chat.items()):
                    payload = {"consultation_id": cid, "client_id": key, "body": body}
                    if (await sock.call("chat_send", payload))["ok"]:
                        acked_chat.add(key)
                        del unacked_chat[key]
                for key, update in list(unacked_board.items()):
                    if (await board.send(update))["ok"]:
                        acked_board.add(key)
                        del unacked_board[key]
                key = f"r{n:05d}-{rng.getrandbits(32):08x}"
                unacked_chat[key] = f"round {n}"
                unacked_board[key] = edit(doc, add_element(key, kind="rect", x=n))
                payload = {"consultation_id": cid, "client_id": key, "body": f"round {n}"}
                sends = [
                    ("chat", key, asyncio.create_task(sock.call("chat_send", payload))),
                    ("board", key, asyncio.create_task(board.send(unacked_board[key]))),
                ]
                fault = rng.choice(FAULTS)
                faults[fault] += 1
                if fault == "delay":
                    proxy.delay = rng.choice([0.001, 0.005, 0.02])
                await asyncio.sleep(rng.choice([0, 0, 0.0005, 0.002, 0.01]))  # often before acks
                if fault == "half_open":
                    proxy.half_open()
                    await asyncio.wait([t for *_, t in sends], timeout=0.05)
                proxy.cut()
                await asyncio.wait([t for *_, t in sends], timeout=0.05)
            except Exception:
                proxy.cut()
            finally:
                for kind, key, task in sends:
                    if not task.done():
                        task.cancel()
                    elif not task.cancelled() and not task.exception() and task.result()["ok"]:
                        (acked_chat if kind == "chat" else acked_board).add(key)
                        (unacked_chat if kind == "chat" else unacked_board).pop(key, None)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(sock.sio.disconnect(), WAIT)
    finally:
        await proxy.close()

    # the network is fine again: resend what is still unacknowledged, as a client would
    final = await server.socket(customer.http)
    await final.ok("room_join", {"consultation_id": cid})
    board = YClient(final, cid)
    board.doc = doc
    await board.sync()
    for key, body in unacked_chat.items():
        await final.ok("chat_send", {"consultation_id": cid, "client_id": key, "body": body})
        acked_chat.add(key)
    for key, update in unacked_board.items():
        assert (await board.send(update))["ok"]
        acked_board.add(key)
    await board.sync()
    await final.close()

    messages = await all_messages(advisor.http, cid)
    stored = [m["client_id"] for m in messages]
    assert [m["seq"] for m in messages] == list(range(1, len(messages) + 1))
    assert len(stored) == len(set(stored)), "a chat message was stored twice"
    assert set(stored) == acked_chat, "an acknowledged chat message was lost"
    record = (await advisor.http.get(f"/api/consultations/{cid}/board"))[1]["data"]
    elements = record["document"]["elements"]
    assert set(elements) == acked_board, "an acknowledged whiteboard update was lost"
    assert elements == doc.get("elements", type=Map).to_py()
    return faults


async def test_random_faults_lose_and_duplicate_nothing(server, seed_advisor):
    seed = os.environ.get("PARLEY_SEED", "parley")
    per_worker = -(-ROUNDS // WORKERS)
    results = await asyncio.gather(
        *(
            faulty_customer(server, seed_advisor, per_worker, random.Random(f"{seed}-{w}"))
            for w in range(WORKERS)
        )
    )
    total = {name: sum(r[name] for r in results) for name in FAULTS}
    print(f"fault rounds: {sum(total.values())} {total}")
    assert sum(total.values()) >= ROUNDS and all(total.values())
    assert (await server.http().get("/healthz"))[0] == 200


async def test_the_same_customer_twice_keeps_one_identity(server, seed_advisor):
    advisor, customer, cid = await admitted_pair(server, seed_advisor)
    await advisor.sock.until(
        "participant_joined", lambda d: d["participant"]["id"] == customer.participant_id
    )
    second = await server.socket(customer.http)  # a second tab with the same guest cookie
    assert await customer.sock.next("session_closed") == {"reason": "replaced"}
    async with asyncio.timeout(WAIT):
        while customer.sock.sio.connected:
            await asyncio.sleep(0.02)
    room = await second.ok("room_join", {"consultation_id": cid})
    assert room["self"]["id"] == customer.participant_id
    # one customer identity in the room: this one (the list holds the others)
    assert [p["role"] for p in room["participants"]] == ["advisor"]
    assert second.received("session_closed") == []
    await second.ok("chat_send", {"consultation_id": cid, "client_id": "tab-two-1", "body": "hi"})
    got = await advisor.sock.until("chat_message", lambda m: m["client_id"] == "tab-two-1")
    assert got["from"] == customer.participant_id
    assert advisor.sock.received("participant_left") == []


async def test_advisor_drop_leaves_the_lobby_waiting_and_the_role_intact(server, seed_advisor):
    seed = await seed_advisor()
    advisor = await login_advisor(server, seed, connect=False)
    cid, token = await invite_consultation(advisor)
    host, port = server.url.removeprefix("http://").split(":")
    proxy = CutProxy(host, int(port))
    await proxy.start()
    try:
        dropping = Socket()
        await dropping.connect(proxy.url, advisor.http.cookie_header(), proxy.url)
        await dropping.ok("room_join", {"consultation_id": cid})
        waiting = [await join_customer(server, invite=token) for _ in range(2)]
        await dropping.until("lobby_updated", lambda d: len(d["waiting"]) == 2)
        proxy.cut()  # the advisor's network goes away while both wait
        async with asyncio.timeout(WAIT):
            while dropping.sio.connected:
                await asyncio.sleep(0.02)
        for customer in waiting:
            assert (await customer.sock.ok("lobby_status"))["status"] == "waiting"
            refused = await customer.sock.call("room_join", {"consultation_id": cid})
            assert refused["error"]["code"] == "not_authorised"
    finally:
        await proxy.close()

    back = await server.socket(advisor.http)
    dashboard = await back.ok("dashboard_get")
    mine = next(c for c in dashboard["consultations"] if c["id"] == cid)
    assert {w["participant_id"] for w in mine["waiting"]} == {c.participant_id for c in waiting}
    room = await back.ok("room_join", {"consultation_id": cid})
    assert room["self"]["role"] == "advisor"
    first = waiting[0]
    await back.ok("lobby_admit", {"consultation_id": cid, "participant_id": first.participant_id})
    await first.sock.until("lobby_state", lambda d: d["status"] == "admitted")
    for customer in waiting:
        states = [d["status"] for d in customer.sock.received("lobby_state")]
        assert states == (["admitted"] if customer is first else []), states


async def test_a_failing_blob_store_refuses_the_upload_cleanly(server, seed_advisor):
    _advisor, customer, cid = await admitted_pair(server, seed_advisor)
    other_advisor, other_customer, other_cid = await admitted_pair(server, seed_advisor)
    blobs = server.settings.blob_path
    if blobs.exists():
        for path in sorted(blobs.rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()
        blobs.rmdir()
    blobs.write_bytes(b"")  # a file where the blob directory should be: every write fails
    secret = b"Kontoauszug plaintext marker 4711 " * 100
    status, body = await customer.http.post(
        f"/api/consultations/{cid}/files?name=auszug.txt",
        data=secret,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert status == 503 and body["error"]["code"] == "storage_unavailable", (status, body)
    assert (await customer.http.get(f"/api/consultations/{cid}/files"))[1]["data"]["files"] == []
    leftovers = [
        p for p in server.settings.data_dir.rglob("*") if p.is_file() and b"4711" in p.read_bytes()
    ]
    assert leftovers == []
    # the sender's chat and another consultation go on
    await customer.sock.ok(
        "chat_send", {"consultation_id": cid, "client_id": "after-upload-1", "body": "ok"}
    )
    await other_customer.sock.ok(
        "chat_send", {"consultation_id": other_cid, "client_id": "other-chat-1", "body": "ok"}
    )
    await other_advisor.sock.until("chat_message", lambda m: m["client_id"] == "other-chat-1")
    assert (await server.http().get("/healthz"))[0] == 200


FULL_FOR = """
CREATE FUNCTION parley_test_disk_full() RETURNS trigger AS $$
BEGIN
    IF NEW.consultation_id = '{cid}' THEN
        RAISE EXCEPTION 'could not extend file: No space left on device'
            USING ERRCODE = 'disk_full';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER parley_test_disk_full BEFORE INSERT ON chat_messages
    FOR EACH ROW EXECUTE FUNCTION parley_test_disk_full();
CREATE TRIGGER parley_test_disk_full BEFORE INSERT ON files
    FOR EACH ROW EXECUTE FUNCTION parley_test_disk_full();
"""


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_a_database_full_for_one_consultation_refuses_only_its_writes(
    server, seed_advisor, database_url
):
    """PostgreSQL itself refuses one consultation's writes (disk_full, raised by a trigger
    on its rows): its sender gets `storage_unavailable` and nothing is stored, no plaintext
    lands anywhere, and another consultation chatting at the same moment is unaffected."""
    _advisor, customer, cid = await admitted_pair(server, seed_advisor)
    other_advisor, other_customer, other_cid = await admitted_pair(server, seed_advisor)
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute(FULL_FOR.format(cid=cid))
        # both at once, so that they are likely in one group commit
        sends = [
            customer.sock.call(
                "chat_send", {"consultation_id": cid, "client_id": f"full-msg-{i}", "body": "4711"}
            )
            for i in range(5)
        ] + [
            other_customer.sock.call(
                "chat_send", {"consultation_id": other_cid, "client_id": f"ok-msg-{i}", "body": "x"}
            )
            for i in range(5)
        ]
        answers = await asyncio.gather(*sends)
        assert [a["error"]["code"] for a in answers[:5]] == ["storage_unavailable"] * 5, answers
        assert all(a["ok"] for a in answers[5:]), answers
        await other_advisor.sock.until("chat_message", lambda m: m["client_id"] == "ok-msg-4")
        secret = b"Kontoauszug plaintext marker 4711 " * 100
        status, body = await customer.http.post(
            f"/api/consultations/{cid}/files?name=auszug.txt",
            data=secret,
            headers={"Content-Type": "application/octet-stream"},
        )
        assert status == 503 and body["error"]["code"] == "storage_unavailable", (status, body)
        stored = await conn.fetchval(
            "SELECT count(*) FROM chat_messages WHERE consultation_id = $1", cid
        )
        assert stored == 0
        assert await conn.fetchval("SELECT count(*) FROM files") == 0
        leftovers = [
            p
            for p in server.settings.data_dir.rglob("*")
            if p.is_file() and b"4711" in p.read_bytes()
        ]
        assert leftovers == []
        # once there is room again, the same message (same client id) goes through
        await conn.execute("DROP TRIGGER parley_test_disk_full ON chat_messages")
        sent = await customer.sock.ok(
            "chat_send", {"consultation_id": cid, "client_id": "full-msg-0", "body": "4711"}
        )
        assert sent["seq"] == 1
    finally:
        await conn.close()
    assert (await server.http().get("/healthz"))[0] == 200
