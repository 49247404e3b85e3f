"""SIGKILL at random moments. A real `parley serve` dies while an admitted pair chats in
bursts, a file is uploading and the advisor admits customers from an invite lobby and the
instant queue; it restarts on the same database and data directory. After every restart:

- chat: every acknowledged message is stored exactly once, at the number its acknowledgement
  gave, the numbers gap-free and in causal order; an unacknowledged one resent with its
  client id is stored at most once;
- files: no partial upload is listed, downloadable or left behind (row or blob); a listed
  file downloads byte-identical, and every acknowledged one is listed;
- lobby: each customer is in exactly one state, the same for the customer (`lobby_status`)
  and the advisor's dashboard; an admitted one can join the room, a waiting one still waits.

Every round kills during all three at once; which one the moment is tied to (the k-th chat
acknowledgement, a point of the upload, the j-th admission) is drawn by the round's random
generator, seeded from PARLEY_SEED (default "parley", printed). PARLEY_KILL_ROUNDS rounds in
all (default 100), shared by LANES nodes that are killed independently, each on its own
SQLite database; PostgreSQL (with the database blob store) gets PARLEY_KILL_PG_ROUNDS."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from sqlalchemy import select

from server.config import Settings
from server.files import CHUNK, WRITE_BEHIND
from storage.db import Database
from storage.models import BlobChunk, StoredFile
from tests.clients import WAIT, Http, Socket
from tests.processes import Node, free_port, seed_advisor

ROUNDS = int(os.environ.get("PARLEY_KILL_ROUNDS", "100"))
PG_ROUNDS = int(os.environ.get("PARLEY_KILL_PG_ROUNDS", "6"))
SEED = os.environ.get("PARLEY_SEED", "parley")
LANES = 2
WINDOW = 4  # chat messages each sender has in flight
FIRST_CHUNK = 256 * 1024 + 64 * 1024  # the node has read its first chunk (server.files.CHUNK)
NOTICE = Settings.model_fields["notice_version"].default
NODE_ENV = {
    "PARLEY_EVENTS_PER_SECOND": "100000",  # the bursts are the point, not the flood limit
    "PARLEY_GRACE_SECONDS": "3600",
}

pytestmark = pytest.mark.e2e


@dataclass
class Send:
    who: str  # "advisor" or "customer"
    client_id: str
    body: str
    issued: float
    ack: dict[str, Any] | None = None
    acked_at: float = 0.0

    @property
    def acked(self) -> bool:
        return self.ack is not None and self.ack.get("ok") is True


@dataclass
class Waiting:
    """A customer in the lobby (invite) or the queue (instant) when the round starts."""

    http: Http
    participant_id: str
    consultation_id: str
    invite: bool
    ack: dict[str, Any] | None = None
    issued: bool = False


@dataclass
class Trigger:
    """The moment a round's kill is tied to: set once, by whichever activity it follows."""

    anchor: str
    delay: float
    at: int = 0  # the k-th chat ack, the j-th admission, or the upload's byte offset
    fired: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Lane:
    name: str
    node: Node
    db: Database  # the test's own reader of the node's database
    rng: random.Random
    blobs: Path | None  # the local blob directory, or None for the database store
    advisor: Http
    customer: Http
    team: str
    cid: str = ""
    customer_id: str = ""
    advisor_id: str = ""
    socks: dict[str, Socket] = field(default_factory=dict)
    last_seq: int = 0
    client_ids: set[str] = field(default_factory=set)  # every client id stored
    uploads: dict[str, bytes] = field(default_factory=dict)  # file name -> the bytes sent
    acked_files: set[str] = field(default_factory=set)
    listed: dict[str, str] = field(default_factory=dict)  # file name -> id, once listed
    unfinished: set[str] = field(default_factory=set)  # ids left uploading (shared database)
    hits: Counter[str] = field(default_factory=Counter)

    def known(self) -> set[str]:
        return set(self.listed.values()) | self.unfinished

    def where(self, n: int) -> str:
        return f"lane {self.name} round {n} (PARLEY_SEED={SEED!r})"


async def revive(lane: Lane) -> None:
    """Start the killed node again on its port, or on a fresh one should an outgoing
    connection have been given that port meanwhile (it is from the ephemeral range); the
    users' cookies go to any port of the host."""
    try:
        await lane.node.start()
    except RuntimeError:
        if "address already in use" not in lane.node.log_tail():
            raise
        lane.node.port = free_port()
        lane.advisor.base = lane.customer.base = lane.node.url
        lane.hits["port_taken"] += 1
        await lane.node.start()


async def connect(node: Node, http: Http) -> Socket:
    """A socket that `Node.kill` does not close first: it dies with the node."""
    sock = Socket()
    await sock.connect(node.url, http.cookie_header(), node.url)
    return sock


async def join(node: Node, **where: str) -> tuple[Http, dict[str, Any]]:
    http = Http(node.url)
    body = {"first_name": "Erika", "last_name": "Mustermann", "notice_version": NOTICE, **where}
    status, answer = await http.post("/api/join", body)
    assert status == 201, answer
    return http, answer["data"]


async def history(sock: Socket, cid: str, after: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    more = True
    while more:
        page = await sock.ok(
            "chat_history", {"consultation_id": cid, "after_seq": after, "limit": 200}
        )
        messages += page["messages"]
        more = page["more"]
        after = messages[-1]["seq"] if messages else after
    return messages


async def transcript(http: Http, cid: str) -> list[dict[str, Any]]:
    """The advisor's record of the consultation, every page."""
    messages: list[dict[str, Any]] = []
    more = True
    while more:
        after = messages[-1]["seq"] if messages else 0
        status, body = await http.get(f"/api/consultations/{cid}/chat?limit=500&after_seq={after}")
        assert status == 200, body
        messages += body["data"]["messages"]
        more = body["data"]["more"]
    return messages


async def download(http: Http, file_id: str) -> tuple[int, bytes]:
    async with http.session.get(f"{http.base}/api/files/{file_id}") as resp:
        return resp.status, await resp.read()


# -- the activities a kill interrupts ---------------------------------------------------------


async def chat_burst(
    sock: Socket, who: str, cid: str, prefix: str, sends: list[Send], on_ack: Callable[[], None]
) -> None:
    """Send until cancelled (the node is dead by then), WINDOW messages in flight."""
    loop = asyncio.get_running_loop()

    async def one(send: Send) -> None:
        payload = {"consultation_id": cid, "client_id": send.client_id, "body": send.body}
        send.ack = await sock.call("chat_send", payload)
        send.acked_at = loop.time()
        if send.acked:
            on_ack()

    flying: set[asyncio.Task[None]] = set()
    try:
        while True:
            while len(flying) < WINDOW:
                n = len(sends) + 1
                send = Send(who, f"{prefix}-{who[0]}{n:03d}", f"{who} {prefix} {n}", loop.time())
                sends.append(send)
                flying.add(asyncio.create_task(one(send)))
            done, flying = await asyncio.wait(flying, return_when=asyncio.FIRST_COMPLETED)
            if any(t.exception() for t in done):
                await asyncio.wait(flying)  # the connection is gone: no new sends
                return
    finally:
        for task in flying:
            task.cancel()
        await asyncio.gather(*flying, return_exceptions=True)


async def upload(
    http: Http, cid: str, name: str, data: bytes, pace: float, progress: Callable[[int], None]
) -> tuple[int, dict[str, Any]] | None:
    """Stream `data` in pieces (chunked, as a browser's upload of a large file looks to the
    server); None if the node died before it answered."""

    async def body() -> AsyncIterator[bytes]:
        piece = 64 * 1024
        for offset in range(0, len(data), piece):
            yield data[offset : offset + piece]
            progress(offset + piece)
            await asyncio.sleep(pace)  # a client's bandwidth, so the node keeps up

    try:
        return await http.post(
            f"/api/consultations/{cid}/files?name={quote(name)}",
            data=body(),
            headers={"Content-Type": "application/octet-stream"},
        )
    except (aiohttp.ClientError, OSError):
        return None


async def admissions(sock: Socket, order: list[Waiting], on_issue: Callable[[int], None]) -> None:
    """The advisor admits (invite lobby) or picks up (queue) one customer after another."""
    for j, w in enumerate(order):
        if w.invite:
            event = "lobby_admit"
            payload = {"consultation_id": w.consultation_id, "participant_id": w.participant_id}
        else:
            event, payload = "queue_pickup", {"consultation_id": w.consultation_id}
        w.issued = True
        on_issue(j)
        w.ack = await sock.call(event, payload)


# -- one round --------------------------------------------------------------------------------


def choose_trigger(rng: random.Random, size: int) -> Trigger:
    anchor = rng.choice(["chat", "upload", "upload_end", "admission"])
    if anchor == "chat":  # often between a batch's commit and its acknowledgement
        return Trigger(anchor, rng.choice([0, 0, 0.0005, 0.001, 0.003]), rng.randint(1, 40))
    if anchor == "upload":  # past the first chunk (when the node begins storing) to the end
        return Trigger(anchor, 0.0, rng.randint(FIRST_CHUNK, size))
    if anchor == "upload_end":  # the whole body is out: the final write, finish, commit, reply
        return Trigger(anchor, rng.uniform(0, 0.03), size)
    return Trigger(anchor, rng.uniform(0, 0.015), rng.randint(0, 3))


async def kill_round(lane: Lane, n: int) -> None:
    rng, node = lane.rng, lane.node
    adv, cus = lane.socks["advisor"], lane.socks["customer"]
    lobby = await fill_lobby(lane)
    size = rng.randint(2 * FIRST_CHUNK, 6 * FIRST_CHUNK)
    name = f"{lane.name}-r{n:04d}.pdf"
    data = b"%PDF-1.7\n" + rng.randbytes(size - 9)
    lane.uploads[name] = data
    trigger = choose_trigger(rng, size)
    acks = 0

    def chat_acked() -> None:
        nonlocal acks
        acks += 1
        if trigger.anchor == "chat" and acks >= trigger.at:
            trigger.fired.set()

    def upload_progress(sent: int) -> None:
        if trigger.anchor.startswith("upload") and sent >= trigger.at:
            trigger.fired.set()

    def admission_issued(j: int) -> None:
        if trigger.anchor == "admission" and j >= trigger.at:
            trigger.fired.set()

    sends: list[Send] = []
    order = rng.sample(lobby, len(lobby))
    prefix = f"{lane.name}-r{n:04d}"
    tasks = [
        asyncio.create_task(chat_burst(adv, "advisor", lane.cid, prefix, sends, chat_acked)),
        asyncio.create_task(chat_burst(cus, "customer", lane.cid, prefix, sends, chat_acked)),
        asyncio.create_task(admissions(adv, order, admission_issued)),
    ]
    uploading = asyncio.create_task(
        upload(
            lane.customer, lane.cid, name, data, rng.choice([0.002, 0.005, 0.01]), upload_progress
        )
    )
    if trigger.anchor.startswith("upload"):  # done before its moment came: kill now
        uploading.add_done_callback(lambda _: trigger.fired.set())
    try:
        await asyncio.wait_for(trigger.fired.wait(), WAIT)
    except TimeoutError:
        lane.hits["trigger_missed"] += 1
    await asyncio.sleep(trigger.delay)  # the random moment itself, not a synchronisation
    node.crash()
    lane.hits[f"anchor_{trigger.anchor}"] += 1
    await node.kill()  # reaped

    # what reached a client before the node died is in its socket; read it, then give up
    for sock in (adv, cus):
        with contextlib.suppress(Exception):
            await asyncio.wait_for(sock.sio.eio.wait(), WAIT)
    await asyncio.wait([*tasks, uploading], timeout=0.05)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    answer = await asyncio.wait_for(uploading, WAIT)
    for sock in (adv, cus):
        with contextlib.suppress(Exception):
            await asyncio.wait_for(sock.close(), WAIT)

    before = await file_rows(lane)  # the node is dead: what it left behind
    t0 = asyncio.get_running_loop().time()
    await revive(lane)
    lane.hits["time_start_ms"] += int(1000 * (asyncio.get_running_loop().time() - t0))
    t0 = asyncio.get_running_loop().time()
    lane.socks = {
        "advisor": await connect(node, lane.advisor),
        "customer": await connect(node, lane.customer),
    }
    for sock in lane.socks.values():
        await sock.ok("room_join", {"consultation_id": lane.cid})
    await check_chat(lane, n, sends)
    await check_files(lane, n, name, answer, before)
    await check_lobby(lane, n, order)
    lane.hits["time_check_ms"] += int(1000 * (asyncio.get_running_loop().time() - t0))


async def fill_lobby(lane: Lane) -> list[Waiting]:
    """Two customers in a fresh invite consultation's lobby, two in the team's queue."""
    status, body = await lane.advisor.post("/api/consultations", {"title": "Hausrat"})
    assert status == 201, body
    token = body["data"]["invite"]["url"].rsplit("/i/", 1)[1]
    lobby = []
    for where in ({"invite": token}, {"invite": token}, {"team": lane.team}, {"team": lane.team}):
        http, data = await join(lane.node, **where)
        lobby.append(
            Waiting(http, data["participant_id"], data["consultation_id"], "invite" in where)
        )
    return lobby


# -- what must hold after the restart ---------------------------------------------------------


async def check_chat(lane: Lane, n: int, sends: list[Send]) -> None:
    where = lane.where(n)
    adv, cus = lane.socks["advisor"], lane.socks["customer"]
    sender = {"advisor": lane.advisor_id, "customer": lane.customer_id}
    new = await history(cus, lane.cid, lane.last_seq)
    seqs = [m["seq"] for m in new]
    assert seqs == list(range(lane.last_seq + 1, lane.last_seq + 1 + len(new))), where
    stored = {m["client_id"]: m for m in new}
    assert len(stored) == len(new), f"a message was stored twice: {where}"
    mine = {s.client_id for s in sends}
    for m in new:
        assert m["client_id"] in mine or m["kind"] == "file", where  # nothing from nowhere
    for s in sends:
        m = stored.get(s.client_id)
        if s.acked:
            assert s.ack is not None
            assert m is not None, f"an acknowledged message was lost: {s.client_id} {where}"
            assert (m["seq"], m["id"]) == (s.ack["data"]["seq"], s.ack["data"]["id"]), where
        if m is not None:
            assert (m["body"], m["from"]) == (s.body, sender[s.who]), where
    # causal order: a message sent after another's acknowledgement comes after it
    acked = sorted((s for s in sends if s.acked), key=lambda s: s.acked_at)
    for later in sends:
        if later.acked:
            assert later.ack is not None
            earlier = [s for s in acked if s.acked_at < later.issued]
            assert all(
                s.ack and s.ack["data"]["seq"] < later.ack["data"]["seq"] for s in earlier
            ), f"out of order: {later.client_id} {where}"
    unacked = [s for s in sends if not s.acked]
    lane.hits["chat_acked"] += len(sends) - len(unacked)
    lane.hits["chat_unacked"] += len(unacked)
    lane.hits["chat_stored_unacked"] += sum(s.client_id in stored for s in unacked)
    lane.hits["rounds_chat_in_flight"] += bool(unacked)

    # the clients resend what they never saw acknowledged, with the same client ids
    socks = {"advisor": adv, "customer": cus}
    for s in unacked:
        payload = {"consultation_id": lane.cid, "client_id": s.client_id, "body": s.body}
        ack = await socks[s.who].ok("chat_send", payload)
        if s.client_id in stored:  # stored before the kill: answered, not stored again
            assert ack["id"] == stored[s.client_id]["id"], where
    after = await history(cus, lane.cid, lane.last_seq)
    assert after[: len(new)] == new, where  # what was stored stays as it was
    assert [m["seq"] for m in after] == list(
        range(lane.last_seq + 1, lane.last_seq + 1 + len(after))
    ), where
    ids = [m["client_id"] for m in after]
    assert len(ids) == len(set(ids)), f"a resend was stored twice: {where}"
    assert mine <= set(ids), where
    assert not lane.client_ids & set(ids), where
    lane.client_ids |= set(ids)
    lane.last_seq += len(after)


async def file_rows(lane: Lane) -> dict[str, tuple[str, str]]:
    """Every file row of the chat consultation: id -> (state, blob trace)."""
    async with lane.db.reading() as s:
        rows = (
            await s.execute(
                select(StoredFile.id, StoredFile.state).where(
                    StoredFile.consultation_id == lane.cid
                )
            )
        ).all()
        chunked = set((await s.scalars(select(BlobChunk.blob_id).distinct())).all())
    found = {}
    for file_id, state in rows:
        if lane.blobs is None:
            trace = "chunks" if file_id in chunked else "none"
        else:
            kinds = [p.suffix for p in (lane.blobs / file_id[:2]).glob(f"{file_id}.*")]
            trace = ",".join(sorted(kinds)) or "none"
        found[file_id] = (str(state), trace)
    return found


async def check_files(
    lane: Lane,
    n: int,
    name: str,
    answer: tuple[int, dict[str, Any]] | None,
    before: dict[str, tuple[str, str]],
) -> None:
    where = lane.where(n)
    acked = answer is not None and answer[0] == 201
    if answer is not None:
        assert answer[0] == 201, (answer, where)  # the node answered: it stored it whole
        lane.acked_files.add(name)
    new = {i: st for i, st in before.items() if i not in lane.known()}
    assert len(new) <= 1, where
    state = next(iter(new.values()), ("absent", ""))
    kind = (
        "acked"
        if acked
        else {"absent": "not_begun", "ready": "ready_unacked"}.get(state[0], f"partial_{state[1]}")
    )
    lane.hits[f"upload_{kind}"] += 1

    status, body = await lane.customer.get(f"/api/consultations/{lane.cid}/files")
    assert status == 200, body
    listed = {f["name"]: f for f in body["data"]["files"]}
    assert lane.acked_files <= set(listed), f"an acknowledged file is not listed: {where}"
    assert set(listed) <= set(lane.uploads), where
    for fname, f in listed.items():
        if fname in lane.listed:
            continue
        assert f["size"] == len(lane.uploads[fname]), f"a partial file is listed: {where}"
        got = await download(lane.customer, f["id"])
        assert got == (200, lane.uploads[fname]), f"{fname} is not what was sent: {where}"
        lane.listed[fname] = f["id"]
    assert {f["id"] for f in listed.values()} == set(lane.listed.values()), where
    for file_id, (st, _trace) in new.items():
        if st != "ready":  # an upload the kill interrupted: nowhere to be seen
            status, _ = await download(lane.customer, file_id)
            assert status in (403, 404), where  # 403 once its row is gone: an unknown id
    # and nothing of it is left behind, on disk or in the database
    after = await file_rows(lane)
    ready = set(lane.listed.values())
    assert {i for i, (st, _) in after.items() if st == "ready"} == ready, where
    if not lane.db.exclusive:
        # a shared database: another node might still be receiving it, so only the start-up
        # sweep an hour later removes it (see the report); it must stay invisible till then
        lane.unfinished |= {i for i, (st, _) in after.items() if st == "uploading"}
    assert set(after) == ready | lane.unfinished, f"an unfinished upload is left: {after} {where}"
    if lane.blobs is not None:
        on_disk = {p.name for p in lane.blobs.rglob("*") if p.is_file()}
        assert on_disk == {f"{i}.blob" for i in ready}, f"blob files left: {where}"
    else:
        async with lane.db.reading() as s:
            chunked = set((await s.scalars(select(BlobChunk.blob_id).distinct())).all())
        assert ready <= chunked <= ready | lane.unfinished, f"blob chunks left: {where}"


async def check_lobby(lane: Lane, n: int, order: list[Waiting]) -> None:
    where = lane.where(n)
    adv = lane.socks["advisor"]
    socks = {w.participant_id: await connect(lane.node, w.http) for w in order}
    status = {}
    for w in order:
        status[w.participant_id] = (await socks[w.participant_id].ok("lobby_status"))["status"]
        assert status[w.participant_id] in ("waiting", "admitted"), where
        if w.ack is not None and w.ack.get("ok"):
            assert status[w.participant_id] == "admitted", f"an admission was lost: {where}"
        if w.issued and w.ack is None:
            lane.hits[f"admission_in_flight_{status[w.participant_id]}"] += 1
    lane.hits["rounds_admission_in_flight"] += any(w.issued and w.ack is None for w in order)
    waiting = {w.participant_id for w in order if status[w.participant_id] == "waiting"}
    dashboard = await adv.ok("dashboard_get")
    own = {c["id"]: c for c in dashboard["consultations"]}
    invite_cid = next(w.consultation_id for w in order if w.invite)
    assert {e["participant_id"] for e in own[invite_cid]["waiting"]} == {
        w.participant_id for w in order if w.invite and w.participant_id in waiting
    }, f"the dashboard's lobby disagrees with the customers: {where}"
    queued = {w.consultation_id: w for w in order if not w.invite}
    in_queue = {e["participant_id"] for e in dashboard["queue"] if e["consultation_id"] in queued}
    assert in_queue == {w.participant_id for w in queued.values() if w.participant_id in waiting}, (
        f"the dashboard's queue disagrees with the customers: {where}"
    )
    for qcid, w in queued.items():  # picked up: the advisor's; waiting: nobody's yet
        assert (qcid in own) == (w.participant_id not in waiting), f"half a pickup: {where}"
    for w in order:
        sock = socks[w.participant_id]
        joined = await sock.call("room_join", {"consultation_id": w.consultation_id})
        if w.participant_id in waiting:
            assert joined["error"]["code"] == "not_authorised", where
        else:
            assert joined["ok"] and joined["data"]["self"]["id"] == w.participant_id, where
    for w in order:  # nobody was let in behind the advisor's back meanwhile
        if w.participant_id in waiting:
            assert (await socks[w.participant_id].ok("lobby_status"))["status"] == "waiting"
    # and the lobby works: the waiting ones are let in now, then the round is closed
    for w in order:
        if w.participant_id in waiting:
            await admissions(adv, [w], lambda _: None)
            assert w.ack is not None and w.ack["ok"], (w.ack, where)
            await socks[w.participant_id].until("lobby_state", lambda d: d["status"] == "admitted")
    for cid in {w.consultation_id for w in order}:
        status_code, body = await lane.advisor.post(f"/api/consultations/{cid}/end")
        assert status_code == 200, body
    for w in order:
        await asyncio.wait_for(socks[w.participant_id].close(), WAIT)
        await w.http.close()


# -- lanes and tests --------------------------------------------------------------------------


@pytest.fixture
async def nodes() -> AsyncIterator[list[Node]]:
    """The test's nodes; whatever happens, none outlives it."""
    started: list[Node] = []
    yield started
    for node in started:
        await node.kill()


async def open_lane(
    nodes: list[Node], name: str, data_dir: Path, database_url: str, blob_store: str
) -> Lane:
    seed = await seed_advisor(database_url)
    env = {**NODE_ENV, "PARLEY_BLOB_STORE": blob_store}
    node = Node(data_dir, database_url, env)
    nodes.append(node)
    await node.start()
    advisor, customer = Http(node.url), Http(node.url)
    status, body = await advisor.post(
        "/api/auth/login", {"username": seed["username"], "password": seed["password"]}
    )
    assert status == 200, body
    lane = Lane(
        name,
        node,
        Database(database_url),
        random.Random(f"{SEED}-kill-{name}"),
        data_dir / "blobs" if blob_store == "local" else None,
        advisor,
        customer,
        seed["team_slug"],
    )
    status, body = await advisor.post("/api/consultations", {"title": "Hausrat"})
    assert status == 201, body
    lane.cid = body["data"]["consultation"]["id"]
    token = body["data"]["invite"]["url"].rsplit("/i/", 1)[1]
    status, joined = await customer.post(
        "/api/join",
        {
            "invite": token,
            "first_name": "Erika",
            "last_name": "Mustermann",
            "notice_version": NOTICE,
        },
    )
    assert status == 201, joined
    lane.customer_id = joined["data"]["participant_id"]
    adv = await connect(node, advisor)
    await adv.ok("lobby_admit", {"consultation_id": lane.cid, "participant_id": lane.customer_id})
    cus = await connect(node, customer)
    room = await adv.ok("room_join", {"consultation_id": lane.cid})
    lane.advisor_id = room["self"]["id"]
    await cus.ok("room_join", {"consultation_id": lane.cid})
    lane.socks = {"advisor": adv, "customer": cus}
    return lane


async def close_lane(lane: Lane) -> None:
    """The record at the end: every message once, gap-free; every file whole."""
    record = await transcript(lane.advisor, lane.cid)
    assert [m["seq"] for m in record] == list(range(1, len(record) + 1))
    ids = [m["client_id"] for m in record]
    assert len(ids) == len(set(ids)) and set(ids) == lane.client_ids
    files = {m["file"]["id"] for m in record if m["kind"] == "file"}
    assert files == set(lane.listed.values())
    for fname, file_id in lane.listed.items():
        assert await download(lane.advisor, file_id) == (200, lane.uploads[fname])
    for sock in lane.socks.values():
        await asyncio.wait_for(sock.close(), WAIT)
    await lane.node.stop()
    await lane.advisor.close()
    await lane.customer.close()
    await lane.db.close()


async def run_lane(lane: Lane, rounds: int) -> Counter[str]:
    try:
        for n in range(rounds):
            await kill_round(lane, n)
        await close_lane(lane)
    except BaseException:
        print(f"lane {lane.name} failed; PARLEY_SEED={SEED!r}; node log:\n{lane.node.log_tail()}")
        await lane.node.kill()
        raise
    return lane.hits


def report(hits: Counter[str], rounds: int, backend: str) -> None:
    print(f"\nkill rounds ({backend}, PARLEY_SEED={SEED!r}): {rounds}")
    for key in sorted(hits):
        print(f"  {key}: {hits[key]}")
    assert sum(v for k, v in hits.items() if k.startswith("anchor_")) == rounds
    # every kind of kill point was hit, and not just once
    least = max(1, rounds // 10)
    assert hits["rounds_chat_in_flight"] >= rounds * 0.9, hits
    assert sum(v for k, v in hits.items() if k.startswith("upload_partial")) >= least, hits
    assert hits["rounds_admission_in_flight"] >= least, hits


@pytest.mark.timeout(120 + ROUNDS * 6)
async def test_sigkill_loses_no_acknowledged_message_file_or_admission(tmp_path, nodes):
    per_lane = -(-ROUNDS // LANES)
    lanes = []
    for i in range(LANES):
        directory = tmp_path / f"lane{i}"
        directory.mkdir()
        url = f"sqlite+aiosqlite:///{directory}/parley.db"
        lanes.append(await open_lane(nodes, str(i), directory / "data", url, "local"))
    results = await asyncio.gather(*(run_lane(lane, per_lane) for lane in lanes))
    report(sum(results, Counter()), per_lane * LANES, "sqlite")


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
@pytest.mark.timeout(120 + PG_ROUNDS * 6)
async def test_sigkill_on_postgres_with_database_blobs(tmp_path, database_url, nodes):
    lane = await open_lane(nodes, "pg", tmp_path / "data", database_url, "database")
    hits = await run_lane(lane, PG_ROUNDS)
    print(
        f"\nkill rounds (postgres, PARLEY_SEED={SEED!r}): {PG_ROUNDS} {dict(sorted(hits.items()))}"
    )


async def test_an_upload_cut_by_sigkill_leaves_nothing_after_the_restart(tmp_path, nodes):
    """The node dies while half a file is stored (its row `uploading`, its sealed chunks in
    a `.part` blob); the restarted node removes both before it serves anyone."""
    url = f"sqlite+aiosqlite:///{tmp_path}/parley.db"
    lane = await open_lane(nodes, "cut", tmp_path / "data", url, "local")
    assert lane.blobs is not None
    # the node seals a chunk once the next one has come, and stores them WRITE_BEHIND at a
    # time: the first WRITE_BEHIND + 1 chunks make it store some, the rest never comes
    data = b"%PDF-1.7\n" + random.Random(SEED).randbytes((WRITE_BEHIND + 3) * CHUNK)
    lane.uploads["half.pdf"] = data
    held = asyncio.Event()  # never set: the rest of the file does not come before the kill

    async def half() -> AsyncIterator[bytes]:
        yield data[: (WRITE_BEHIND + 1) * CHUNK + 1]
        await held.wait()

    uploading = asyncio.create_task(
        lane.customer.post(
            f"/api/consultations/{lane.cid}/files?name=half.pdf",
            data=half(),
            headers={"Content-Type": "application/octet-stream"},
        )
    )
    # until the node has sealed and stored a chunk (no event crosses the process boundary)
    async with asyncio.timeout(WAIT):
        while not any(trace == ".part" for _, trace in (await file_rows(lane)).values()):
            await asyncio.sleep(0.02)
    lane.node.crash()
    await lane.node.kill()
    with pytest.raises(aiohttp.ClientError):
        await asyncio.wait_for(uploading, WAIT)
    [(file_id, (state, trace))] = (await file_rows(lane)).items()
    assert (state, trace) == ("uploading", ".part")

    await revive(lane)
    assert await file_rows(lane) == {}
    assert [p for p in lane.blobs.rglob("*") if p.is_file()] == []
    status, body = await lane.customer.get(f"/api/consultations/{lane.cid}/files")
    assert (status, body["data"]["files"]) == (200, [])
    assert (await download(lane.customer, file_id))[0] in (403, 404)
    lane.socks = {
        "advisor": await connect(lane.node, lane.advisor),
        "customer": await connect(lane.node, lane.customer),
    }
    answer = await upload(lane.customer, lane.cid, "half.pdf", data, 0, lambda _: None)
    assert answer is not None and answer[0] == 201, answer  # the same file, whole this time
    lane.listed["half.pdf"] = answer[1]["data"]["file"]["id"]
    lane.client_ids.add(f"file-{lane.listed['half.pdf']}")
    await close_lane(lane)
