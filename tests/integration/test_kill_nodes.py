"""SIGKILL of one of two nodes. Two `parley serve` processes share PostgreSQL and a Redis of
the test's own; in every round the customer is on one node (the victim) and the advisor on
the other. While the customer chats in bursts, uploads a file and draws on the whiteboard,
the advisor chats and draws too and admits customers who keep joining through the victim,
the victim dies at a random moment. The customer's browser moves to the surviving node and
resumes; the victim restarts for the next round, in which the roles of the nodes swap.

After every kill, on the surviving node:
- chat: every acknowledged message is stored once, at the number its acknowledgement gave,
  gap-free; the advisor's socket, which never dropped, got each acknowledged message live
  exactly once; the customer's live messages plus its resume (`chat_history` after the
  last number it had) are the whole record, none twice; resends are never stored twice;
- whiteboard: every acknowledged update was relayed to the other side exactly once, and a
  document synced through either node holds every acknowledged edit;
- files: every acknowledged upload is listed and downloads byte-identical; nothing partial
  is listed or downloadable;
- queue and lobby: the advisor's dashboard on the surviving node and on the restarted one
  agree with each other and with every customer's own `lobby_status`, and every customer
  whose join was answered is there.

The moment is tied to the k-th chat acknowledgement, a point of the upload, the k-th board
acknowledgement or the j-th join, drawn from the round's random generator, seeded from
PARLEY_SEED (default "parley", printed). PARLEY_KILL_NODE_ROUNDS rounds (default 50)."""

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

import pytest
from sqlalchemy import select

from storage.db import Database
from storage.models import StoredFile
from tests.boards import YClient, add_element, element_ids
from tests.clients import WAIT, Http, Socket
from tests.integration.test_kill import (
    FIRST_CHUNK,
    NOTICE,
    Send,
    Trigger,
    download,
    history,
    join,
    transcript,
    upload,
)
from tests.processes import Node, free_port, seed_advisor, shared_keks
from tests.redis_server import RedisServer

ROUNDS = int(os.environ.get("PARLEY_KILL_NODE_ROUNDS", "50"))
SEED = os.environ.get("PARLEY_SEED", "parley")
WINDOW = 4  # chat messages each sender has in flight
JOINS = 3  # customers joining through the victim during a round, at most
INTERVAL = 0.5  # the nodes' cluster interval

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


@pytest.fixture(params=["postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@dataclass
class Joined:
    """A customer who joined the team queue or an invite lobby through some node."""

    http: Http
    participant_id: str
    consultation_id: str
    invite: bool
    ack: dict[str, Any] | None = None  # the advisor's admission or pick-up, if issued


@dataclass
class Pair:
    nodes: list[Node]
    db: Database
    rng: random.Random
    advisor: Http
    customer: Http
    team: str
    cid: str = ""
    last_seq: int = 0  # every message up to here is checked and known to both clients
    client_ids: set[str] = field(default_factory=set)
    elements: set[str] = field(default_factory=set)  # acknowledged board elements
    uploads: dict[str, bytes] = field(default_factory=dict)
    listed: dict[str, str] = field(default_factory=dict)  # file name -> id
    waiting: list[Joined] = field(default_factory=list)  # never admitted, from all rounds
    hits: Counter[str] = field(default_factory=Counter)

    def where(self, n: int) -> str:
        return f"round {n} (PARLEY_SEED={SEED!r})"


@dataclass
class Round:
    """What a round's activities did, as their clients saw it."""

    sends: list[Send] = field(default_factory=list)
    board_acked: dict[str, bytes] = field(default_factory=dict)  # the customer's: id -> update
    board_unacked: dict[str, bytes] = field(default_factory=dict)
    joined: list[Joined] = field(default_factory=list)
    join_in_flight: bool = False


async def connect(node: Node, http: Http) -> Socket:
    sock = Socket()
    await sock.connect(node.url, http.cookie_header(), node.url)
    return sock


# -- the activities a kill interrupts ---------------------------------------------------------


async def chat_burst(
    sock: Socket,
    who: str,
    cid: str,
    prefix: str,
    sends: list[Send],
    stop: asyncio.Event,
    on_ack: Callable[[], None],
) -> None:
    """WINDOW messages in flight until `stop`; then wait for those still flying (on a dead
    node they never come back and are cancelled)."""
    loop = asyncio.get_running_loop()

    async def one(send: Send) -> None:
        payload = {"consultation_id": cid, "client_id": send.client_id, "body": send.body}
        send.ack = await sock.call("chat_send", payload)
        send.acked_at = loop.time()
        if send.acked:
            on_ack()

    flying: set[asyncio.Task[None]] = set()
    try:
        while not stop.is_set():
            while len(flying) < WINDOW:
                n = len([s for s in sends if s.who == who]) + 1
                send = Send(who, f"{prefix}-{who[0]}{n:03d}", f"{who} {prefix} {n}", loop.time())
                sends.append(send)
                flying.add(asyncio.create_task(one(send)))
            done, flying = await asyncio.wait(flying, return_when=asyncio.FIRST_COMPLETED)
            if any(t.exception() for t in done):
                break  # the connection is gone
        if flying:
            await asyncio.wait(flying, timeout=WAIT)
    finally:
        for task in flying:
            task.cancel()
        await asyncio.gather(*flying, return_exceptions=True)


async def draw(
    board: YClient,
    prefix: str,
    stop: asyncio.Event,
    acked: dict[str, bytes],
    unacked: dict[str, bytes],
    on_ack: Callable[[], None],
) -> None:
    """One element after another until `stop`, each acknowledged before the next."""
    n = 0
    while not stop.is_set():
        n += 1
        element = f"{prefix}-{n:03d}"
        before = board.doc.get_state()
        add_element(element, type="freedraw")(board.doc)
        unacked[element] = board.doc.get_update(before)
        try:
            ack = await board.send(unacked[element])
        except Exception:
            return  # the connection is gone
        if not ack.get("ok"):
            return
        acked[element] = unacked.pop(element)
        on_ack()


async def joins(
    node: Node, team: str, stop: asyncio.Event, rnd: Round, on_join: Callable[[int], None]
) -> None:
    """Customers arriving through the victim, into the team's queue."""
    for j in range(JOINS):
        if stop.is_set():
            return
        on_join(j)
        rnd.join_in_flight = True
        try:
            http, data = await join(node, team=team)
        except Exception:
            return  # the node died under the join
        rnd.join_in_flight = False
        rnd.joined.append(Joined(http, data["participant_id"], data["consultation_id"], False))


async def admissions(sock: Socket, order: list[Joined]) -> None:
    for w in order:
        if w.invite:
            event = "lobby_admit"
            payload = {"consultation_id": w.consultation_id, "participant_id": w.participant_id}
        else:
            event, payload = "queue_pickup", {"consultation_id": w.consultation_id}
        w.ack = await sock.call(event, payload)


def choose_trigger(rng: random.Random, size: int) -> Trigger:
    anchor = rng.choice(["chat", "upload", "upload_end", "board", "join"])
    if anchor == "chat":
        return Trigger(anchor, rng.choice([0, 0, 0.0005, 0.001, 0.003]), rng.randint(1, 30))
    if anchor == "upload":
        return Trigger(anchor, 0.0, rng.randint(FIRST_CHUNK, size))
    if anchor == "upload_end":
        return Trigger(anchor, rng.uniform(0, 0.03), size)
    if anchor == "board":
        return Trigger(anchor, rng.choice([0, 0.0005, 0.002]), rng.randint(1, 15))
    return Trigger(anchor, rng.uniform(0, 0.02), rng.randint(0, JOINS - 1))


# -- one round --------------------------------------------------------------------------------


async def kill_round(pair: Pair, n: int) -> None:
    rng = pair.rng
    victim, survivor = pair.nodes[n % 2], pair.nodes[1 - n % 2]
    pair.advisor.base, pair.customer.base = survivor.url, victim.url
    adv = await connect(survivor, pair.advisor)
    cus = await connect(victim, pair.customer)
    for sock in (adv, cus):
        await sock.ok("room_join", {"consultation_id": pair.cid})
    adv_board, cus_board = YClient(adv, pair.cid), YClient(cus, pair.cid)
    await adv_board.sync()
    await cus_board.sync()

    # two customers in a fresh invite lobby and one in the queue, through the victim
    status, body = await pair.advisor.post("/api/consultations", {"title": "Hausrat"})
    assert status == 201, body
    token = body["data"]["invite"]["url"].rsplit("/i/", 1)[1]
    lobby = []
    for spot in ({"invite": token}, {"invite": token}, {"team": pair.team}):
        http, data = await join(victim, **spot)
        lobby.append(
            Joined(http, data["participant_id"], data["consultation_id"], "invite" in spot)
        )

    size = rng.randint(2 * FIRST_CHUNK, 5 * FIRST_CHUNK)
    name = f"r{n:03d}.pdf"
    data = b"%PDF-1.7\n" + rng.randbytes(size - 9)
    pair.uploads[name] = data
    trigger = choose_trigger(rng, size)
    counts: Counter[str] = Counter()

    def reached(anchor: str, at: int) -> None:
        if trigger.anchor.startswith(anchor) and at >= trigger.at:
            trigger.fired.set()

    def acked(what: str) -> Callable[[], None]:
        def count() -> None:
            counts[what] += 1
            reached(what, counts[what])

        return count

    rnd = Round()
    advisor_drawn: dict[str, bytes] = {}
    prefix = f"r{n:03d}"
    stop = asyncio.Event()  # the node is dead: nobody starts anything new
    dying = [
        asyncio.create_task(
            chat_burst(cus, "customer", pair.cid, prefix, rnd.sends, stop, acked("chat"))
        ),
        asyncio.create_task(
            draw(cus_board, f"{prefix}-c", stop, rnd.board_acked, rnd.board_unacked, acked("board"))
        ),
        asyncio.create_task(joins(victim, pair.team, stop, rnd, lambda j: reached("join", j))),
    ]
    living = [
        asyncio.create_task(
            chat_burst(adv, "advisor", pair.cid, prefix, rnd.sends, stop, lambda: None)
        ),
        asyncio.create_task(admissions(adv, rng.sample(lobby, len(lobby)))),
        asyncio.create_task(draw(adv_board, f"{prefix}-a", stop, advisor_drawn, {}, lambda: None)),
    ]
    uploading = asyncio.create_task(
        upload(
            pair.customer,
            pair.cid,
            name,
            data,
            rng.choice([0.002, 0.005]),
            lambda sent: reached("upload", sent),
        )
    )
    if trigger.anchor.startswith("upload"):  # done before its moment came: kill now
        uploading.add_done_callback(lambda _: trigger.fired.set())
    try:
        await asyncio.wait_for(trigger.fired.wait(), WAIT)
    except TimeoutError:
        pair.hits["trigger_missed"] += 1
    await asyncio.sleep(trigger.delay)
    victim.crash()
    stop.set()
    pair.hits[f"anchor_{trigger.anchor}"] += 1
    await victim.kill()
    reviving = asyncio.create_task(revive(victim, pair))

    with contextlib.suppress(Exception):
        await asyncio.wait_for(cus.sio.eio.wait(), WAIT)
    await asyncio.wait(dying, timeout=0.05)
    for task in dying:
        task.cancel()
    await asyncio.gather(*dying, return_exceptions=True)
    await asyncio.gather(*living)
    answer = await asyncio.wait_for(uploading, WAIT)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(cus.close(), WAIT)

    # the customer's browser reconnects to the surviving node and resumes there
    pair.customer.base = survivor.url
    back = await connect(survivor, pair.customer)
    await back.ok("room_join", {"consultation_id": pair.cid})
    try:
        await check_chat(pair, n, rnd, adv, cus, back)
        await check_board(pair, n, rnd, advisor_drawn, adv_board, back)
        await check_files(pair, n, name, answer, back)
        await reviving
        await check_queue_and_lobby(pair, n, lobby + rnd.joined, rnd, adv)
    finally:
        for sock in (adv, back):
            await asyncio.wait_for(sock.close(), WAIT)
        if not reviving.done():
            reviving.cancel()
    pair.elements |= set(advisor_drawn)
    pair.hits["rounds"] += 1


async def revive(node: Node, pair: Pair) -> None:
    try:
        await node.start()
    except RuntimeError:
        if "address already in use" not in node.log_tail():
            raise
        node.port = free_port()  # taken meanwhile by an outgoing connection
        pair.hits["port_taken"] += 1
        await node.start()


# -- what must hold after the kill ------------------------------------------------------------


def live_seqs(sock: Socket, cid: str) -> list[int]:
    return [m["seq"] for m in sock.received("chat_message") if m["consultation_id"] == cid]


async def check_chat(
    pair: Pair, n: int, rnd: Round, adv: Socket, dead: Socket, back: Socket
) -> None:
    where, cid = pair.where(n), pair.cid
    new = await history(back, cid, pair.last_seq)
    seqs = [m["seq"] for m in new]
    assert seqs == list(range(pair.last_seq + 1, pair.last_seq + 1 + len(new))), where
    stored = {m["client_id"]: m for m in new}
    assert len(stored) == len(new), f"a message was stored twice: {where}"
    for s in rnd.sends:
        m = stored.get(s.client_id)
        if s.acked:
            assert s.ack is not None
            assert m is not None, f"an acknowledged message was lost: {s.client_id} {where}"
            assert (m["seq"], m["id"]) == (s.ack["data"]["seq"], s.ack["data"]["id"]), where
        if m is not None:
            assert m["body"] == s.body, where
    unacked = [s for s in rnd.sends if not s.acked]
    pair.hits["chat_acked"] += len(rnd.sends) - len(unacked)
    pair.hits["chat_unacked"] += len(unacked)
    pair.hits["chat_stored_unacked"] += sum(s.client_id in stored for s in unacked)

    # the customer's browser: what came live before the node died (no number twice), then
    # on its rejoin the messages after the highest number it had and those missing below
    # it (client/src/protocol/chat.ts); together that is the whole record
    live = live_seqs(dead, cid)
    assert len(live) == len(set(live)), f"a message reached the customer twice: {where}"
    highest = max([pair.last_seq, *live])
    had = {*range(1, pair.last_seq + 1), *live}
    had |= {m["seq"] for m in await history(back, cid, highest)}
    missing = [q for q in range(1, highest) if q not in had]
    if missing:
        pair.hits["customer_gaps_filled"] += 1
        had |= {m["seq"] for m in await history(back, cid, missing[0] - 1)}
    assert had == set(range(1, pair.last_seq + 1 + len(new))), f"the resume missed: {where}"

    # the advisor's socket stayed up: a message is relayed before it is acknowledged, so
    # every acknowledged one came live, once. A marker sent now through the surviving node
    # passes through Redis after anything the dead node published.
    marker = await back.ok(
        "chat_send", {"consultation_id": cid, "client_id": f"r{n:03d}-mark", "body": "zurueck"}
    )
    await adv.until("chat_message", lambda d: d["seq"] == marker["seq"])
    seen = Counter(live_seqs(adv, cid))
    assert all(c == 1 for c in seen.values()), f"delivered twice to the advisor: {where}"
    for s in rnd.sends:
        if s.acked:
            assert s.ack is not None
            assert s.ack["data"]["seq"] in seen, f"acknowledged, never delivered: {where}"

    # the clients resend what they never saw acknowledged, with the same client ids
    socks = {"advisor": adv, "customer": back}
    for s in unacked:
        payload = {"consultation_id": cid, "client_id": s.client_id, "body": s.body}
        ack = await socks[s.who].ok("chat_send", payload)
        if s.client_id in stored:
            assert ack["id"] == stored[s.client_id]["id"], where
    after = await history(back, cid, pair.last_seq)
    assert after[: len(new)] == new, where
    assert [m["seq"] for m in after] == list(
        range(pair.last_seq + 1, pair.last_seq + 1 + len(after))
    ), where
    ids = [m["client_id"] for m in after]
    assert len(ids) == len(set(ids)), f"a resend was stored twice: {where}"
    assert {s.client_id for s in rnd.sends} <= set(ids), where
    assert not pair.client_ids & set(ids), where
    pair.client_ids |= set(ids)
    pair.last_seq += len(after)


async def check_board(
    pair: Pair,
    n: int,
    rnd: Round,
    advisor_drawn: dict[str, bytes],
    adv_board: YClient,
    back: Socket,
) -> None:
    """Run after check_chat's marker: whatever the dead node relayed has arrived."""
    where = pair.where(n)
    relayed = Counter(
        m["update"]
        for m in adv_board.sock.received("board_update")
        if m["consultation_id"] == pair.cid
    )
    for element, update in rnd.board_acked.items():
        assert relayed[update] == 1, f"{element} relayed {relayed[update]} times: {where}"
    for update in rnd.board_unacked.values():
        assert relayed[update] <= 1, where
    pair.hits["board_acked"] += len(rnd.board_acked)
    pair.hits["board_unacked"] += len(rnd.board_unacked)
    pair.hits["rounds_board_in_flight"] += bool(rnd.board_unacked)
    pair.elements |= set(rnd.board_acked) | set(advisor_drawn)
    # a fresh document synced through the surviving node holds every acknowledged edit of
    # both sides; the advisor's copy (its own edits and those relayed) converges to it
    fresh = YClient(back, pair.cid)
    await fresh.sync()
    on_board = set(element_ids(fresh.doc))
    assert pair.elements <= on_board, f"acknowledged edits lost: {pair.elements - on_board} {where}"
    for update in relayed:
        adv_board.doc.apply_update(update)
    await adv_board.sync()
    assert element_ids(adv_board.doc) == element_ids(fresh.doc), where


async def check_files(
    pair: Pair, n: int, name: str, answer: tuple[int, dict[str, Any]] | None, back: Socket
) -> None:
    where = pair.where(n)
    if answer is not None:
        assert answer[0] == 201, (answer, where)  # the node answered: it stored it whole
    status, body = await pair.customer.get(f"/api/consultations/{pair.cid}/files")
    assert status == 200, body
    listed = {f["name"]: f for f in body["data"]["files"]}
    assert set(listed) <= set(pair.uploads), where
    if answer is not None:
        assert name in listed, f"an acknowledged file is not listed: {where}"
    kind = "acked" if answer is not None else ("ready_unacked" if name in listed else "cut")
    pair.hits[f"upload_{kind}"] += 1
    for fname, f in listed.items():
        if fname in pair.listed:
            continue
        assert f["size"] == len(pair.uploads[fname]), f"a partial file is listed: {where}"
        got = await download(pair.customer, f["id"])
        assert got == (200, pair.uploads[fname]), f"{fname} is not what was sent: {where}"
        pair.listed[fname] = f["id"]
    async with pair.db.reading() as s:
        rows = (
            await s.execute(
                select(StoredFile.id, StoredFile.state).where(
                    StoredFile.consultation_id == pair.cid
                )
            )
        ).all()
    for file_id, state in rows:
        if str(state) != "ready":  # left by the dead node: invisible until the sweep
            assert (await download(pair.customer, file_id))[0] in (403, 404), where
    assert {i for i, st in rows if str(st) == "ready"} == set(pair.listed.values()), where


async def dashboard(node: Node, http: Http) -> tuple[dict[str, set[str]], set[str]]:
    """The advisor's view through `node`: each consultation's lobby, and the queue."""
    sock = await connect(node, http)
    try:
        board = await sock.ok("dashboard_get")
    finally:
        await asyncio.wait_for(sock.close(), WAIT)
    lobbies = {c["id"]: {e["participant_id"] for e in c["waiting"]} for c in board["consultations"]}
    return lobbies, {e["participant_id"] for e in board["queue"]}


async def check_queue_and_lobby(
    pair: Pair, n: int, joined: list[Joined], rnd: Round, adv: Socket
) -> None:
    where = pair.where(n)
    views = [await dashboard(node, pair.advisor) for node in pair.nodes]
    assert views[0] == views[1], f"the nodes disagree about the queue and lobby: {where}"
    lobbies, queue = views[0]
    waiting_anywhere = queue | {pid for members in lobbies.values() for pid in members}
    pair.hits["rounds_join_in_flight"] += rnd.join_in_flight
    for i, w in enumerate(joined):
        sock = await connect(pair.nodes[i % 2], w.http)  # asked through either node
        try:
            state = (await sock.ok("lobby_status"))["status"]
        finally:
            await asyncio.wait_for(sock.close(), WAIT)
        if w.ack is not None and w.ack.get("ok"):
            assert state == "admitted", f"an admission was lost: {where}"
        assert state in ("waiting", "admitted"), where
        assert (state == "waiting") == (w.participant_id in waiting_anywhere), (
            f"a customer's own state and the dashboards disagree: {where}"
        )
        if state == "waiting":
            pair.waiting.append(w)
        else:
            await w.http.close()
    still = {w.participant_id for w in pair.waiting}
    assert still <= waiting_anywhere, f"a waiting customer vanished: {where}"


# -- the test ---------------------------------------------------------------------------------


@pytest.fixture
async def pair(tmp_path: Path, database_url: str) -> AsyncIterator[Pair]:
    redis = RedisServer()
    await redis.start()
    env = {
        "PARLEY_REDIS_URL": redis.url,
        "PARLEY_KEKS": shared_keks(),
        "PARLEY_BLOB_STORE": "database",
        "PARLEY_CLUSTER_INTERVAL_SECONDS": str(INTERVAL),
        "PARLEY_GRACE_SECONDS": "3600",
        "PARLEY_EVENTS_PER_SECOND": "100000",  # the bursts are the point, not the flood limit
        "PARLEY_BOARD_UPDATES_PER_SECOND": "10000",
        "PARLEY_QUEUE_SIZE": "1000",  # the customers who joined in a round stay waiting
        "PARLEY_QUEUE_SHOWN": "1000",  # ... and the dashboard names every one of them
    }
    seed = await seed_advisor(database_url)
    nodes = [
        Node(tmp_path / "a", database_url, {**env, "PARLEY_NODE_ID": "node-a"}),
        Node(tmp_path / "b", database_url, {**env, "PARLEY_NODE_ID": "node-b"}),
    ]
    advisor, customer = Http(nodes[0].url), Http(nodes[0].url)
    pair = Pair(
        nodes,
        Database(database_url),
        random.Random(f"{SEED}-kill-nodes"),
        advisor,
        customer,
        seed["team_slug"],
    )
    try:
        await asyncio.gather(*(node.start() for node in nodes))
        status, body = await advisor.post(
            "/api/auth/login", {"username": seed["username"], "password": seed["password"]}
        )
        assert status == 200, body
        status, body = await advisor.post("/api/consultations", {"title": "Hausrat"})
        assert status == 201, body
        pair.cid = body["data"]["consultation"]["id"]
        token = body["data"]["invite"]["url"].rsplit("/i/", 1)[1]
        first = {"first_name": "Erika", "last_name": "Mustermann", "notice_version": NOTICE}
        status, joined = await customer.post("/api/join", {"invite": token, **first})
        assert status == 201, joined
        adv = await connect(nodes[0], advisor)
        ref = {"consultation_id": pair.cid, "participant_id": joined["data"]["participant_id"]}
        await adv.ok("lobby_admit", ref)
        await adv.close()
        yield pair
    except BaseException:
        for node in nodes:
            print(f"node {node.port} log:\n{node.log_tail()}")
        raise
    finally:
        for node in nodes:
            await node.kill()
        for w in pair.waiting:
            await w.http.close()
        await advisor.close()
        await customer.close()
        await pair.db.close()
        await redis.stop()


@pytest.mark.timeout(120 + ROUNDS * 10)
async def test_sigkill_of_a_node_loses_nothing_its_clients_resume_on_the_other(pair: Pair):
    for n in range(ROUNDS):
        await kill_round(pair, n)
    # the record at the end: every message once, gap-free; every file whole
    pair.advisor.base = pair.nodes[0].url
    record = await transcript(pair.advisor, pair.cid)
    assert [m["seq"] for m in record] == list(range(1, len(record) + 1))
    assert {m["client_id"] for m in record} == pair.client_ids
    assert {m["file"]["id"] for m in record if m["kind"] == "file"} == set(pair.listed.values())
    for fname, file_id in pair.listed.items():
        assert await download(pair.advisor, file_id) == (200, pair.uploads[fname])
    hits = pair.hits
    print(f"\nkill rounds across nodes (PARLEY_SEED={SEED!r}): {ROUNDS}")
    for key in sorted(hits):
        print(f"  {key}: {hits[key]}")
    assert hits["rounds"] == ROUNDS
    least = max(1, ROUNDS // 10)
    assert hits["chat_unacked"] >= ROUNDS, hits  # messages were in flight at the kills
    assert hits["upload_cut"] >= least, hits
    assert hits["rounds_board_in_flight"] >= least, hits
    assert hits["rounds_join_in_flight"] >= 1, hits
