"""The whiteboard at rest: it survives a restart, compaction changes nothing, a late joiner
gets a large board whole, nothing is readable in the stored bytes, tampering is detected,
and the data-subject rights cover it."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import zipfile
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from pycrdt import Doc, Map, Text
from sqlalchemy import func, select, text, update

from server.access import runner as access_runner
from server.app import create_app
from server.state import BOARDS, CORE
from signaling import yjs
from storage.crypto import IntegrityError
from storage.models import BoardSnapshot, BoardUpdate, Consultation
from tests.boards import YClient, add_element, content, edit, element_ids
from tests.clients import Socket
from tests.flows import admitted_pair

pytestmark = pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)

MARKER = "platypusvertrag"


@pytest.fixture
def settings_overrides():
    return {"board_compact_updates": 5, "board_updates_per_second": 10_000}


async def count(server, model, cid) -> int:
    async with server.app[CORE].db.session() as s:
        stmt = select(func.count()).select_from(model).where(model.consultation_id == cid)
        return int(await s.scalar(stmt) or 0)


async def settled(server) -> None:
    """Wait for compactions under way."""
    boards = server.app[BOARDS]
    async with asyncio.timeout(10):
        while boards._compacting:
            await asyncio.gather(*boards._compacting.values())


async def stored_document(server, cid) -> Doc[Any]:
    stored = await server.app[BOARDS].store.read(cid)
    parts = ([stored.snapshot] if stored.snapshot else []) + [u for _, u in stored.updates]
    return yjs.load(parts)


async def test_restart_mid_consultation_keeps_the_document(server, seed_advisor):
    advisor, customer, cid = await admitted_pair(server, seed_advisor)
    a, c = YClient(advisor.sock, cid), YClient(customer.sock, cid)
    await a.sync()
    await c.sync()
    for n in range(7):
        drawer, other = (a, c) if n % 2 else (c, a)
        await drawer.draw(add_element(f"e{n}", x=n))
        await other.receive()
    await a.draw(lambda d: d.get("elements", type=Map).pop("e0"))
    await c.receive()
    assert c.content() == a.content()
    before = a.content()
    await server.app_stop()

    app = create_app(server.settings)
    runner = access_runner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    try:
        back = {}
        for who, name in ((advisor, "advisor"), (customer, "customer")):
            sock = Socket()
            await sock.connect(url, who.http.cookie_header(), url)
            await sock.ok("room_join", {"consultation_id": cid})
            fresh = YClient(sock, cid)
            await fresh.sync()
            back[name] = fresh
        assert back["advisor"].content() == back["customer"].content() == before
        # the old client's document, synced again, neither gains nor loses anything
        old = YClient(back["customer"].sock, cid)
        old.doc.apply_update(a.doc.get_update())
        await old.sync()
        assert old.content() == before
        for fresh in back.values():
            await fresh.sock.close()
    finally:
        await runner.cleanup()


async def test_compaction_preserves_the_document_exactly(server, seed_advisor):
    advisor, customer, cid = await admitted_pair(server, seed_advisor)
    a = YClient(advisor.sock, cid)
    await a.sync()
    raw = []
    for n in range(12):
        raw.append(await a.draw(add_element(f"e{n}", text=f"note {n}")))
    raw.append(await a.draw(lambda d: d.get("elements", type=Map).pop("e3")))
    raw.append(await a.draw(lambda d: d.get("notes", type=Text).insert(0, "hello")))
    await settled(server)
    assert await count(server, BoardSnapshot, cid) == 1
    assert await count(server, BoardUpdate, cid) < len(raw)

    await server.app[BOARDS].store.compact(cid)
    assert await count(server, BoardUpdate, cid) == 0
    expected = yjs.load(raw)
    compacted = await stored_document(server, cid)
    assert content(compacted) == content(expected) == a.content()
    assert compacted.get_state() == expected.get_state()
    late = YClient(customer.sock, cid)
    await late.sync()
    assert late.content() == a.content()
    # compacting again, and appending after compaction, stays exact
    await server.app[BOARDS].store.compact(cid)
    await a.draw(add_element("after"))
    assert content(await stored_document(server, cid)) == a.content()


async def test_compaction_keeps_updates_that_wait_for_a_dependency(server, seed_advisor):
    advisor, _customer, cid = await admitted_pair(server, seed_advisor)
    writer: Doc[Any] = Doc()
    first = edit(writer, add_element("first"))
    second = edit(writer, lambda d: d.get("notes", type=Text).insert(0, "depends"))
    third = edit(writer, lambda d: d.get("notes", type=Text).insert(7, " on first"))
    a = YClient(advisor.sock, cid)
    await a.sync()
    assert (await a.send(third))["ok"]  # arrives before what it builds on
    await server.app[BOARDS].store.compact(cid)
    assert (await a.send(first))["ok"]
    assert (await a.send(second))["ok"]
    await server.app[BOARDS].store.compact(cid)
    assert content(await stored_document(server, cid)) == content(writer)
    late = YClient(advisor.sock, cid)
    await late.sync()
    assert late.content() == content(writer)


def strokes(start: int, n: int = 250) -> Any:
    """A change that puts `n` freehand strokes on the board, numbered from `start`."""

    def change(doc: Doc[Any]) -> None:
        elements = doc.get("elements", type=Map)
        for k in range(start, start + n):
            elements[f"el-{k:05d}"] = {"type": "freedraw", "x": k, "y": -k, "seed": k}

    return change


async def test_a_late_joiner_gets_a_board_of_10000_elements(server, seed_advisor):
    advisor, customer, cid = await admitted_pair(server, seed_advisor)
    a = YClient(advisor.sock, cid)
    await a.sync()
    for start in range(0, 10_000, 250):
        await a.draw(strokes(start))
    late = YClient(customer.sock, cid)
    await late.sync()
    elements = late.doc.get("elements", type=Map)
    assert len(elements) == 10_000
    assert late.content() == a.content()
    assert elements["el-09999"]["seed"] == 9999


async def test_a_compaction_merges_without_holding_up_the_boards_writes(server, seed_advisor):
    """Merging a large board takes tens of milliseconds. It happens outside the write: an
    update drawn meanwhile is stored at once (it used to wait for the whole compaction,
    and on SQLite so did every other write of the node), and it is kept."""
    advisor, customer, cid = await admitted_pair(server, seed_advisor)
    a = YClient(advisor.sock, cid)
    await a.sync()
    for start in range(0, 10_000, 250):
        await a.draw(strokes(start))
    await settled(server)
    await a.draw(add_element("before"))  # something for the compaction to fold in
    compaction = asyncio.create_task(server.app[BOARDS].store.compact(cid))
    await asyncio.sleep(0)  # it starts: reads the board, then merges in a thread
    await a.draw(add_element("meanwhile"))
    assert not compaction.done(), "the update was stored only after the compaction"
    assert await compaction is not None
    assert await count(server, BoardSnapshot, cid) == 1
    assert content(await stored_document(server, cid)) == a.content()
    late = YClient(customer.sock, cid)
    await late.sync()
    assert late.content() == a.content()
    assert {"before", "meanwhile"} <= set(element_ids(late.doc))


async def test_a_compaction_that_lost_a_race_changes_nothing(server, seed_advisor, caplog):
    """Two compactions of one board at once (two nodes, say): the second to write finds
    the snapshot changed since it read it and leaves it alone."""
    advisor, _customer, cid = await admitted_pair(server, seed_advisor)
    a = YClient(advisor.sock, cid)
    await a.sync()
    for n in range(3):
        await a.draw(add_element(f"e{n}"))
    store = server.app[BOARDS].store
    caplog.set_level(logging.INFO, logger="signaling.board_store")
    results = await asyncio.gather(store.compact(cid), store.compact(cid))
    assert sum(r is not None for r in results) == 1, results
    assert "board compaction skipped" in caplog.text  # both read before either wrote
    assert await count(server, BoardUpdate, cid) == 0
    assert content(await stored_document(server, cid)) == a.content()


async def test_one_batch_refuses_each_update_for_its_own_reason(server, seed_advisor):
    """Updates for five consultations stored in one transaction (group commit): each is
    numbered or refused for its own consultation's reason, and the refused ones take no
    number, so every board's numbers stay gap-free."""
    core, store = server.app[CORE], server.app[BOARDS].store
    cids = [(await admitted_pair(server, seed_advisor))[2] for _ in range(4)]
    open_, locked, restricted, erased = cids
    async with core.db.session() as s:
        await s.execute(
            update(Consultation).where(Consultation.id == locked).values(board_locked=True)
        )
        await s.execute(
            update(Consultation)
            .where(Consultation.id == restricted)
            .values(restricted_at=datetime.now(UTC))
        )
        await core.vault.shred(s, erased)
    doc: Doc[Any] = Doc()
    sends = [
        (cid, customer)
        for cid in [*cids, "no-such-consultation"]
        for customer in (False, True, False)
    ]
    # submitted in one go, before the writer runs: one batch
    outcomes = await asyncio.gather(
        *(
            store.append(cid, edit(doc, add_element(f"e{n}")), customer=customer)
            for n, (cid, customer) in enumerate(sends)
        ),
        return_exceptions=True,
    )
    got = [type(o).__name__ if isinstance(o, Exception) else o for o in outcomes]
    assert got == [
        *(1, 2, 3),  # open_: advisor, customer, advisor
        *(1, "BoardLocked", 2),  # locked: the customer's alone is refused
        *["Restricted"] * 3,
        *["ContentErased"] * 3,
        *["NotFound"] * 3,
    ]
    assert [seq for seq, _ in (await store.read(open_)).updates] == [1, 2, 3]
    assert [seq for seq, _ in (await store.read(locked)).updates] == [1, 2]
    assert await store.append(locked, edit(doc, add_element("later")), customer=False) == 3
    for cid in (restricted, erased):
        assert await count(server, BoardUpdate, cid) == 0


async def test_board_text_is_not_readable_at_rest(server, seed_advisor, backend, database_url):
    advisor, customer, cid = await admitted_pair(server, seed_advisor)
    a, c = YClient(advisor.sock, cid), YClient(customer.sock, cid)
    await a.sync()
    await c.sync()
    await c.draw(add_element("t1", type="text", text=f"{MARKER} Nr. 4711"))
    await a.draw(lambda d: d.get("view", type=Map).update({"presentation": MARKER}))
    for n in range(6):  # enough to compact once
        await a.draw(add_element(f"x{n}", text=MARKER * 3))
    await settled(server)
    await server.app_stop()
    assert await count(server, BoardSnapshot, cid) == 1
    if backend == "sqlite":
        for path in server.settings.data_dir.rglob("*"):
            if path.is_file():
                assert MARKER.encode() not in path.read_bytes().lower(), path
        return
    async with server.app[CORE].db.session() as s:
        for table in ("board_updates", "board_snapshots", "consultations"):
            query = f"SELECT string_agg(t::text, '') FROM {table} t"  # noqa: S608
            dump = await s.scalar(text(query))
            assert MARKER not in (dump or "").lower(), table
            hexed = MARKER.encode().hex()
            assert hexed not in (dump or "").lower(), table


def flipped(data: bytes) -> bytes:
    out = bytearray(data)
    out[-3] ^= 0x01
    return bytes(out)


async def test_tampering_is_detected(server, seed_advisor):
    advisor, customer, cid = await admitted_pair(server, seed_advisor)
    other_advisor, _other, other_cid = await admitted_pair(server, seed_advisor)
    a = YClient(advisor.sock, cid)
    await a.sync()
    await a.draw(add_element("one", text="secret"))
    await a.draw(add_element("two"))
    store = server.app[BOARDS].store
    db = server.app[CORE].db

    async with db.session() as s:
        row = await s.get(BoardUpdate, (cid, 2))
        assert row is not None
        sealed = row.data_sealed
        # the same ciphertext moved to another number, then to another consultation
        await s.execute(
            update(BoardUpdate)
            .where(BoardUpdate.consultation_id == cid, BoardUpdate.seq == 1)
            .values(data_sealed=sealed)
        )
    with pytest.raises(IntegrityError):
        await store.read(cid)
    o = YClient(other_advisor.sock, other_cid)
    await o.sync()
    await o.draw(add_element("mine"))
    async with db.session() as s:
        await s.execute(
            update(BoardUpdate)
            .where(BoardUpdate.consultation_id == other_cid)
            .values(data_sealed=sealed)
        )
    with pytest.raises(IntegrityError):
        await store.read(other_cid)

    # over the wire: everyone leaves (the board is compacted and dropped from memory), the
    # snapshot is damaged, and the next sync says so without content
    await customer.sock.ok("room_leave", {"consultation_id": cid})
    async with db.session() as s:
        await s.execute(
            update(BoardUpdate)
            .where(BoardUpdate.consultation_id == cid, BoardUpdate.seq == 1)
            .values(data_sealed=flipped(sealed))
        )
    await advisor.sock.ok("room_leave", {"consultation_id": cid})
    await settled(server)
    assert cid not in server.app[BOARDS].live
    await advisor.sock.ok("room_join", {"consultation_id": cid})
    ack = await advisor.sock.call("board_sync", {"consultation_id": cid, "state_vector": b"\x00"})
    assert ack["error"]["code"] == "integrity_error"
    assert "secret" not in json.dumps(ack)


async def fetch_zip(http, path) -> zipfile.ZipFile:
    async with http.session.get(http.base + path) as resp:
        assert resp.status == 200, await resp.text()
        return zipfile.ZipFile(io.BytesIO(await resp.read()))


async def test_rights_cover_the_board(server, seed_advisor):
    advisor, customer, cid = await admitted_pair(server, seed_advisor)
    a, c = YClient(advisor.sock, cid), YClient(customer.sock, cid)
    await a.sync()
    await c.sync()
    await c.draw(add_element("t1", type="text", text=MARKER))

    status, body = await advisor.http.get(f"/api/consultations/{cid}/board")
    assert status == 200 and body["data"]["document"]["elements"]["t1"]["text"] == MARKER
    rebuilt: Doc[Any] = Doc()
    import base64

    rebuilt.apply_update(base64.b64decode(body["data"]["yjs_update_base64"]))
    assert content(rebuilt) == c.content()
    for path in (
        f"/api/consultations/{cid}/export",
        f"/api/participants/{customer.participant_id}/export",
    ):
        archive = await fetch_zip(advisor.http, path)
        board = json.loads(archive.read("export.json"))["whiteboard"]
        assert board["document"]["elements"]["t1"]["text"] == MARKER, path

    # restriction freezes the board: nothing shown, nothing added, no cursors
    assert (await advisor.http.post(f"/api/consultations/{cid}/restrict"))[0] == 200
    for event, payload in (
        ("board_sync", {"state_vector": b"\x00"}),
        ("board_update", {"update": edit(Doc(), add_element("more"))}),
    ):
        ack = await customer.sock.call(event, {"consultation_id": cid, **payload})
        assert ack["error"]["code"] == "restricted", event
    ack = await customer.sock.call("board_awareness", {"consultation_id": cid, "update": b"\x00"})
    assert ack["error"]["code"] == "restricted"
    status, body = await advisor.http.get(f"/api/consultations/{cid}/board")
    assert (status, body["error"]["code"]) == (423, "restricted")
    assert (await advisor.http.post(f"/api/consultations/{cid}/unrestrict"))[0] == 200
    await c.draw(add_element("after"))

    # erasure removes every board row; the record says it is gone
    await advisor.http.post(f"/api/consultations/{cid}/end")
    await settled(server)
    assert (await advisor.http.post(f"/api/consultations/{cid}/erase"))[0] == 200
    assert await count(server, BoardUpdate, cid) == await count(server, BoardSnapshot, cid) == 0
    status, body = await advisor.http.get(f"/api/consultations/{cid}/board")
    assert (status, body["error"]["code"]) == (410, "content_erased")


async def test_ending_compacts_and_releases(server, seed_advisor):
    advisor, customer, cid = await admitted_pair(server, seed_advisor)
    a = YClient(advisor.sock, cid)
    await a.sync()
    for n in range(3):
        await a.draw(add_element(f"e{n}"))
    assert cid in server.app[BOARDS].live
    await advisor.sock.ok("consultation_end", {"consultation_id": cid})
    await settled(server)
    assert cid not in server.app[BOARDS].live
    assert await count(server, BoardUpdate, cid) == 0
    assert element_ids(await stored_document(server, cid)) == ["e0", "e1", "e2"]
    ack = await customer.sock.call("board_sync", {"consultation_id": cid, "state_vector": b"\x00"})
    assert ack["error"]["code"] == "not_authorised"
