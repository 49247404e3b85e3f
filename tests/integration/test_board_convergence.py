"""Convergence: simulated Yjs clients make random concurrent edits, updates reach the others
in random order, some twice, some clients drop and resync; in the end every client, the
server's document and what storage holds are identical."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycrdt import Array, Doc, Map, Text

from server.state import BOARDS
from signaling import yjs
from signaling.protocol import BoardSync, BoardUpdate
from tests.boards import EMPTY, YClient, edit
from tests.flows import admitted_pair

ROOTS = ("strokes", "elements", "notes")


@pytest.fixture
def settings_overrides():
    return {"board_updates_per_second": 10_000, "board_compact_updates": 40}


def view(doc: Doc[Any]) -> dict[str, Any]:
    return {
        "strokes": doc.get("strokes", type=Array).to_py(),
        "elements": doc.get("elements", type=Map).to_py(),
        "notes": str(doc.get("notes", type=Text)),
    }


def random_edit(rng: random.Random, tag: str) -> Any:
    kind = rng.choice(["push", "insert", "delete", "set", "unset", "type"])

    def change(doc: Doc[Any]) -> None:
        strokes = doc.get("strokes", type=Array)
        elements = doc.get("elements", type=Map)
        notes = doc.get("notes", type=Text)
        if kind == "push":
            strokes.append(tag)
        elif kind == "insert":
            strokes.insert(rng.randint(0, len(strokes)), tag)
        elif kind == "delete" and len(strokes):
            del strokes[rng.randrange(len(strokes))]
        elif kind == "set":
            elements[f"k{rng.randint(0, 5)}"] = {"by": tag, "x": rng.randint(0, 9)}
        elif kind == "unset" and len(elements):
            elements.pop(rng.choice(sorted(elements.keys())))
        else:
            notes.insert(rng.randint(0, len(notes)), tag[:3])

    return change


class Sim:
    """One simulated browser: its document, what it has yet to send to the server, and the
    updates of others that are on their way to it."""

    def __init__(self, sid: str) -> None:
        self.sid = sid
        self.doc: Doc[Any] = Doc()
        self.outbox: list[bytes] = []
        self.inbox: list[bytes] = []


async def server_sync(boards: Any, cid: str, sim: Sim) -> None:
    """Sync step 1 and 2 in-process against the real board room and storage."""
    answer = await boards.sync(
        sim.sid, BoardSync(consultation_id=cid, state_vector=sim.doc.get_state())
    )
    sim.doc.apply_update(answer["update"])
    missing = sim.doc.get_update(answer["state_vector"])
    if missing != EMPTY:
        await boards.update(sim.sid, BoardUpdate(consultation_id=cid, update=missing))


async def run_scenario(server: Any, cid: str, sids: list[str], seed: int, steps: int) -> None:
    rng = random.Random(seed)
    boards = server.app[BOARDS]
    sims = [Sim(sids[n % len(sids)]) for n in range(rng.randint(2, 4))]
    for sim in sims:
        await server_sync(boards, cid, sim)
    for step in range(steps):
        sim = rng.choice(sims)
        action = rng.random()
        if action < 0.4:
            update = edit(sim.doc, random_edit(rng, f"{seed}-{step}"))
            sim.outbox.append(update)
            for other in sims:
                if other is not sim:
                    other.inbox.append(update)
        elif action < 0.6 and sim.inbox:
            update = sim.inbox.pop(rng.randrange(len(sim.inbox)))
            sim.doc.apply_update(update)
            if rng.random() < 0.3:  # delivered again later
                sim.inbox.append(update)
        elif action < 0.85 and sim.outbox:
            update = sim.outbox.pop(0)
            await boards.update(sim.sid, BoardUpdate(consultation_id=cid, update=update))
            if rng.random() < 0.2:  # the acknowledgement was lost: sent again
                await boards.update(sim.sid, BoardUpdate(consultation_id=cid, update=update))
        elif action >= 0.95:
            # a dropped connection: unsent updates and those on the way are lost
            sim.outbox.clear()
            sim.inbox.clear()
            await server_sync(boards, cid, sim)
    for sim in sims:  # everyone's connection settles
        for update in sim.outbox:
            await boards.update(sim.sid, BoardUpdate(consultation_id=cid, update=update))
        sim.outbox.clear()
    for sim in sims:
        await server_sync(boards, cid, sim)
    expected = view(boards.live[cid].doc)
    for sim in sims:
        assert view(sim.doc) == expected
    stored = await boards.store.read(cid)
    parts = ([stored.snapshot] if stored.snapshot else []) + [u for _, u in stored.updates]
    assert view(yjs.load(parts)) == expected


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_random_concurrent_edits_converge(server, seed_advisor, backend):
    advisor, customer, cid = await admitted_pair(server, seed_advisor)
    sids = [advisor.sock.sio.get_sid("/"), customer.sock.sio.get_sid("/")]
    examples = 150 if backend == "sqlite" else 60

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        derandomize=True,
    )
    @given(seed=st.integers(0, 2**32 - 1), steps=st.integers(5, 60))
    def scenario(seed: int, steps: int) -> None:
        # each example runs on the test's event loop, so the server's state is shared
        # across examples; hypothesis sees failures and shrinks them
        run = run_scenario(server, cid, sids, seed, steps)
        asyncio.run_coroutine_threadsafe(run, loop).result(timeout=60)

    loop = asyncio.get_running_loop()
    await asyncio.to_thread(scenario)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_real_sockets_converge(server, seed_advisor):
    """The same over real Socket.IO: concurrent editors, one of them reconnecting."""
    advisor, customer, cid = await admitted_pair(server, seed_advisor)
    rng = random.Random(4711)
    clients = [YClient(advisor.sock, cid), YClient(customer.sock, cid)]
    for client in clients:
        await client.sync()

    async def apply_relayed(client: YClient) -> None:
        while True:
            data = await client.sock.events["board_update"].get()
            client.doc.apply_update(data["update"])

    async def editor(client: YClient, n: int) -> None:
        for step in range(40):
            await client.draw(random_edit(rng, f"{n}-{step}"))
            await asyncio.sleep(rng.random() / 200)

    listeners = [asyncio.create_task(apply_relayed(c)) for c in clients]
    try:
        await asyncio.gather(*(editor(c, n) for n, c in enumerate(clients)))
        # the customer drops, draws offline, comes back and syncs
        await customer.sock.close()
        edit(clients[1].doc, random_edit(rng, "offline"))
        sock = await server.socket(customer.http)
        await sock.ok("room_join", {"consultation_id": cid})
        back = YClient(sock, cid)
        back.doc.apply_update(clients[1].doc.get_update())
        await back.sync()
        await clients[0].sync()
        expected = view(server.app[BOARDS].live[cid].doc)
        assert view(back.doc) == view(clients[0].doc) == expected
    finally:
        for task in listeners:
            task.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)
