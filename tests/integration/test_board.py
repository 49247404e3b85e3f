"""The whiteboard over real Socket.IO: sync step 1 and 2, relay, validation, limits, the
lock, and who may take part."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pycrdt import Doc, Text

from server.state import BOARDS
from tests.boards import YClient, add_element, edit, element_ids
from tests.flows import admitted_pair

pytestmark = pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


async def test_sync_then_relay_both_ways(server, seed_advisor):
    advisor, customer, cid = await admitted_pair(server, seed_advisor)
    a, c = YClient(advisor.sock, cid), YClient(customer.sock, cid)
    first = await a.sync()
    assert first["locked"] is False and isinstance(first["update"], bytes)
    await c.sync()

    await a.draw(add_element("rect-1", type="rectangle", x=10))
    (relayed,) = await c.receive()
    assert relayed["from"] != customer.participant_id and relayed["consultation_id"] == cid
    await c.draw(add_element("line-1", type="freedraw"))
    await a.receive()
    assert a.content() == c.content()
    assert element_ids(a.doc) == ["line-1", "rect-1"]
    assert advisor.sock.received("board_update")[0]["from"] == customer.participant_id
    assert len(customer.sock.received("board_update")) == 1  # not its own back

    # a client that drew while offline: sync step 1 tells it what the server lacks
    offline = YClient(customer.sock, cid)
    offline.doc.apply_update(c.doc.get_update())
    edit(offline.doc, add_element("note-1", type="text", text="offline"))
    await offline.sync()
    await a.receive()
    assert element_ids(a.doc) == ["line-1", "note-1", "rect-1"]

    # a late joiner's empty document gets everything
    late = YClient(advisor.sock, cid)
    await late.sync()
    assert late.content() == a.content()


async def test_malformed_update_changes_nothing(server, seed_advisor):
    advisor, customer, cid = await admitted_pair(server, seed_advisor)
    a = YClient(advisor.sock, cid)
    await a.sync()
    good = await a.draw(add_element("rect-1"))
    before = await YClient(customer.sock, cid).sync()
    for bad in (b"\xff\xff\xff\xff", good[:-3], b"garbage" * 10, b"\x01"):
        ack = await a.send(bad)
        assert ack["error"]["code"] == "invalid_payload", (bad, ack)
    for wrong in ("AAA=", [0, 0], None, 5):
        ack = await advisor.sock.call("board_update", {"consultation_id": cid, "update": wrong})
        assert ack["error"]["code"] == "invalid_payload"
    ack = await advisor.sock.call(
        "board_update", {"consultation_id": cid, "update": good, "extra": 1}
    )
    assert ack["error"]["code"] == "invalid_payload"
    bad_sv = await advisor.sock.call(
        "board_sync", {"consultation_id": cid, "state_vector": b"\xff\xff\xff"}
    )
    assert bad_sv["error"]["code"] == "invalid_payload"
    after = await YClient(customer.sock, cid).sync()
    assert after["update"] == before["update"]
    # nothing malformed was relayed: only the one good update
    assert len(customer.sock.received("board_update")) == 1


async def test_size_limits(server, seed_advisor):
    advisor, _customer, cid = await admitted_pair(server, seed_advisor)
    a = YClient(advisor.sock, cid)
    await a.sync()
    big = edit(a.doc, lambda d: d.get("notes", type=Text).insert(0, "x" * (300 * 1024)))
    ack = await a.send(big)
    assert ack["error"]["code"] == "payload_too_large"
    fits = edit(Doc(), lambda d: d.get("notes", type=Text).insert(0, "y" * (200 * 1024)))
    assert (await a.send(fits))["ok"]
    ack = await advisor.sock.call(
        "board_awareness", {"consultation_id": cid, "update": b"\x00" * (9 * 1024)}
    )
    assert ack["error"]["code"] == "payload_too_large"


async def test_awareness_relayed_and_gone(server, seed_advisor):
    from pycrdt import Awareness

    advisor, customer, cid = await admitted_pair(server, seed_advisor)
    doc: Doc[Any] = Doc()
    awareness = Awareness(doc)
    awareness.set_local_state({"user": {"name": "Anna", "color": "#f00"}, "cursor": [1, 2]})
    update = awareness.encode_awareness_update([doc.client_id])
    await advisor.sock.ok("board_awareness", {"consultation_id": cid, "update": update})
    got = await customer.sock.next("board_awareness")
    assert got["update"] == update and got["consultation_id"] == cid
    for bad in (b"\x01", update + b"\x00", b"\x01\x01\x01\x03[1]"):
        ack = await advisor.sock.call("board_awareness", {"consultation_id": cid, "update": bad})
        assert ack["error"]["code"] == "invalid_payload"
    await advisor.sock.ok("room_leave", {"consultation_id": cid})
    gone = await customer.sock.next("board_awareness_gone")
    assert gone["consultation_id"] == cid and gone["from"] != customer.participant_id


async def test_lock_refuses_customers_and_survives_restart(server, seed_advisor):
    advisor, customer, cid = await admitted_pair(server, seed_advisor)
    a, c = YClient(advisor.sock, cid), YClient(customer.sock, cid)
    await a.sync()
    await c.sync()
    denied = await customer.sock.call("board_lock", {"consultation_id": cid, "locked": True})
    assert denied["error"]["code"] == "not_authorised"
    assert await advisor.sock.ok("board_lock", {"consultation_id": cid, "locked": True}) == {
        "locked": True
    }
    for sock in (advisor.sock, customer.sock):
        assert (await sock.next("board_state")) == {"consultation_id": cid, "locked": True}
    ack = await c.send(edit(c.doc, add_element("nope")))
    assert ack["error"]["code"] == "board_locked"
    await a.draw(add_element("advisor-may"))
    assert (await c.sync())["locked"] is True
    assert element_ids(c.doc) == ["advisor-may", "nope"]
    again = YClient(advisor.sock, cid)
    await again.sync()
    assert element_ids(again.doc) == ["advisor-may"]


async def test_only_the_room_takes_part(server, seed_advisor):
    _advisor, customer, cid = await admitted_pair(server, seed_advisor)
    other_advisor, other_customer, _other_cid = await admitted_pair(server, seed_advisor)
    update = edit(Doc(), add_element("x"))
    for sock in (other_customer.sock, other_advisor.sock):
        for event, payload in (
            ("board_sync", {"state_vector": b"\x00"}),
            ("board_update", {"update": update}),
            ("board_awareness", {"update": b"\x00"}),
        ):
            ack = await sock.call(event, {"consultation_id": cid, **payload})
            assert ack["error"]["code"] == "not_authorised", (event, ack)
    ack = await other_advisor.sock.call("board_lock", {"consultation_id": cid, "locked": True})
    assert ack["error"]["code"] == "not_authorised"
    await customer.sock.ok("room_leave", {"consultation_id": cid})
    ack = await customer.sock.call("board_update", {"consultation_id": cid, "update": update})
    assert ack["error"]["code"] == "not_authorised"
    assert other_customer.sock.received("board_update") == []
    assert other_advisor.sock.received("board_update") == []


async def test_updates_stored_together_are_numbered_and_refused_one_by_one(server, seed_advisor):
    """Updates of several boards arriving at once are stored in shared transactions (group
    commit): each board's numbers stay gap-free, and a customer's update to a locked board
    is refused alone, while the other updates in its batch are stored."""
    pairs = [await admitted_pair(server, seed_advisor) for _ in range(3)]
    locked_advisor, locked_customer, locked_cid = pairs[0]
    await locked_advisor.sock.ok("board_lock", {"consultation_id": locked_cid, "locked": True})
    clients = []
    for advisor, customer, cid in pairs:
        a, c = YClient(advisor.sock, cid), YClient(customer.sock, cid)
        await a.sync()
        await c.sync()
        clients.append((cid, a, c))

    # 10 updates from each of the six clients, all in flight together
    sends = []
    for cid, a, c in clients:
        for who, client in (("a", a), ("c", c)):
            for n in range(10):
                sends.append((cid, who, client.send(edit(client.doc, add_element(f"{who}{n}")))))
    acks = await asyncio.gather(*(send for *_, send in sends))
    for (cid, who, _), ack in zip(sends, acks, strict=True):
        if cid == locked_cid and who == "c":
            assert ack["error"]["code"] == "board_locked", ack
        else:
            assert ack["ok"], ack

    store = server.app[BOARDS].store
    for cid, _a, _c in clients:
        stored = await store.read(cid)
        assert [seq for seq, _ in stored.updates] == list(range(1, len(stored.updates) + 1))
        fresh = YClient(locked_customer.sock if cid == locked_cid else _c.sock, cid)
        await fresh.sync()
        expected = [f"a{n}" for n in range(10)]
        if cid != locked_cid:
            expected += [f"c{n}" for n in range(10)]
        assert element_ids(fresh.doc) == sorted(expected)
