"""Many nodes, one service: two `parley serve` processes sharing PostgreSQL and a Redis of
the test's own. The customer is on one node and the advisor on the other, and nothing
about the consultation may notice: queue, lobby, admission, real WebRTC media relayed
across nodes, chat, whiteboard, a file uploaded on one node and downloaded on the other,
moderation, a Redis restart, and a node killed under its customer."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import redis.asyncio as redis_client
import socketio

from tests.boards import YClient, add_element, element_ids
from tests.clients import WAIT, Http, Socket
from tests.flows import Advisor, Customer, invite_consultation, join_customer, login_advisor
from tests.integration.test_webrtc import (
    ADVISOR_LUMA,
    ADVISOR_TONE_HZ,
    CUSTOMER_LUMA,
    CUSTOMER_TONE_HZ,
    MEDIA_TIMEOUT,
    expect_media,
)
from tests.processes import Node, seed_advisor, shared_keks
from tests.redis_server import RedisServer
from tests.rtc_peer import RtcPeer

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

INTERVAL = 0.5  # the nodes' cluster interval: a silent node is gone after 1.5 s
GUESSES = 4  # failed sign-ins per address and minute, counted over all nodes
PDF = b"%PDF-1.7\n% Angebot Wohngebaeude\n" + bytes(range(256)) * 64


@dataclass
class Cluster:
    a: Node
    b: Node
    redis: RedisServer
    seed: dict[str, str]


@pytest.fixture(params=["postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@contextlib.asynccontextmanager
async def running(
    tmp_path: Path, database_url: str, extra: dict[str, dict[str, str]] | None = None
) -> AsyncIterator[Cluster]:
    """Nodes a and b on a Redis of their own; `extra` adds to a node's environment."""
    redis = RedisServer()
    await redis.start()
    env = {
        "PARLEY_REDIS_URL": redis.url,
        "PARLEY_KEKS": shared_keks(),
        "PARLEY_BLOB_STORE": "database",  # any node serves any file
        "PARLEY_CLUSTER_INTERVAL_SECONDS": str(INTERVAL),
        "PARLEY_GRACE_SECONDS": "20",
        "PARLEY_LOGIN_FAILURES_PER_MINUTE": str(GUESSES),
        "PARLEY_EVENTS_PER_SECOND": "100000",  # the burst test's, not a limit test
    }
    extra = extra or {}
    seed = await seed_advisor(database_url)
    a = Node(
        tmp_path / "a", database_url, {**env, "PARLEY_NODE_ID": "node-a", **extra.get("a", {})}
    )
    b = Node(
        tmp_path / "b", database_url, {**env, "PARLEY_NODE_ID": "node-b", **extra.get("b", {})}
    )
    try:
        await asyncio.gather(a.start(), b.start())
        yield Cluster(a, b, redis, seed)
    finally:
        # The test is over: its clients go first. Left open through the SIGTERM, each
        # python-engineio client answers the node's close from inside its own read loop
        # and waits out its 5 s close timeout, and the node waits for it (5 s a test).
        await asyncio.gather(a.close_clients(), b.close_clients())
        await asyncio.gather(a.stop(), b.stop())
        await redis.stop()


@pytest.fixture
async def cluster(tmp_path: Path, database_url: str) -> AsyncIterator[Cluster]:
    async with running(tmp_path, database_url) as nodes:
        yield nodes


async def pair_across(cluster: Cluster) -> tuple[Advisor, Customer, str, str]:
    """The advisor on node b picks up a customer waiting in the team queue on node a; both
    in the room. Returns advisor, customer, consultation id and the advisor's participant."""
    advisor = await login_advisor(cluster.b, cluster.seed)
    customer = await join_customer(cluster.a, team=cluster.seed["team_slug"])
    # the queue is announced to the team's room on every node
    queue = await advisor.sock.until("queue_updated", lambda d: d["queue"])
    assert [e["participant_id"] for e in queue["queue"]] == [customer.participant_id]
    cid = customer.consultation_id
    await advisor.sock.ok("queue_pickup", {"consultation_id": cid})
    await customer.sock.until("lobby_state", lambda d: d["status"] == "admitted")
    mine = await advisor.sock.ok("room_join", {"consultation_id": cid})
    theirs = await customer.sock.ok("room_join", {"consultation_id": cid})
    advisor_id = mine["self"]["id"]
    assert [p["id"] for p in theirs["participants"]] == [advisor_id]
    if not theirs["participants"][0]["connected"]:
        # node a had not yet heard that the advisor joined on node b: it says so right after
        await customer.sock.until(
            "participant_updated",
            lambda d: d["participant"]["id"] == advisor_id and d["participant"]["connected"],
        )
    joined = await advisor.sock.next("participant_joined")
    assert joined["participant"]["id"] == customer.participant_id
    return advisor, customer, cid, advisor_id


async def chat(sock: Socket, cid: str, client_id: str, body: str) -> dict[str, Any]:
    return await sock.ok(
        "chat_send", {"consultation_id": cid, "client_id": client_id, "body": body}
    )


async def test_a_consultation_across_two_nodes(cluster: Cluster) -> None:
    advisor, customer, cid, advisor_id = await pair_across(cluster)

    # real media, negotiated through the relay across the nodes
    caller = RtcPeer(customer.sock, cid, customer.participant_id, advisor_id)
    callee = RtcPeer(advisor.sock, cid, advisor_id, customer.participant_id)
    try:
        caller.add_tracks(CUSTOMER_LUMA, CUSTOMER_TONE_HZ)
        await caller.offer()
        offer = await callee.receive_description("offer")
        assert offer.sdp == caller.pc.localDescription.sdp
        await callee.answer(offer, ADVISOR_LUMA, ADVISOR_TONE_HZ)
        await caller.pc.setRemoteDescription(await caller.receive_description("answer"))
        async with asyncio.timeout(MEDIA_TIMEOUT):
            await asyncio.gather(
                expect_media(callee, CUSTOMER_LUMA, CUSTOMER_TONE_HZ),
                expect_media(caller, ADVISOR_LUMA, ADVISOR_TONE_HZ),
            )
    finally:
        await asyncio.gather(caller.close(), callee.close())

    # chat both ways: one gap-free sequence, whichever node stored the message
    sent = [
        await chat(customer.sock, cid, "customer-1", "Guten Tag"),
        await chat(advisor.sock, cid, "advisor-1", "Hallo, was kann ich tun?"),
        await chat(customer.sock, cid, "customer-2", "Es geht um den Hausrat"),
    ]
    assert [m["seq"] for m in sent] == [1, 2, 3]
    for sock in (customer.sock, advisor.sock):
        await sock.until("chat_message", lambda d: d["seq"] == 3)
        seen = sorted(
            m["seq"] for m in sock.received("chat_message") if m["consultation_id"] == cid
        )
        assert seen == [1, 2, 3]

    # the whiteboard: an edit on one node reaches the other, and each node's copy converges
    mine, theirs = YClient(customer.sock, cid), YClient(advisor.sock, cid)
    await mine.sync()
    await theirs.sync()
    await mine.draw(add_element("from-node-a", type="rectangle"))
    await theirs.receive()
    await theirs.draw(add_element("from-node-b", type="ellipse"))
    await mine.receive()
    assert element_ids(mine.doc) == element_ids(theirs.doc) == ["from-node-a", "from-node-b"]
    # each node's own copy has both: a fresh document synced through either node
    for sock in (customer.sock, advisor.sock):
        fresh = YClient(sock, cid)
        await fresh.sync()
        assert element_ids(fresh.doc) == ["from-node-a", "from-node-b"]

    # a file uploaded on node a is downloaded from node b
    status, body = await customer.http.post(
        f"/api/consultations/{cid}/files?name={quote('Angebot.pdf')}",
        data=PDF,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert status == 201, body
    file_id = body["data"]["file"]["id"]
    async with advisor.http.session.get(f"{cluster.b.url}/api/files/{file_id}") as resp:
        assert resp.status == 200
        assert await resp.read() == PDF


async def test_removal_on_one_node_takes_the_customer_out_on_the_other(cluster: Cluster) -> None:
    advisor, customer, cid, _ = await pair_across(cluster)
    ref = {"consultation_id": cid, "participant_id": customer.participant_id}
    await advisor.sock.ok("participant_remove", ref)
    await customer.sock.until("lobby_state", lambda d: d["status"] == "removed")
    refused = await customer.sock.call(
        "chat_send", {"consultation_id": cid, "client_id": "still-there", "body": "noch da?"}
    )
    assert refused["error"]["code"] == "not_authorised", refused
    # nothing said in the room reaches the removed customer's socket any more; an
    # acknowledged call on that socket afterwards proves anything sent before has arrived
    await chat(advisor.sock, cid, "after-removal", "nur noch fuer die Akte")
    await customer.sock.call("lobby_status")
    assert not [
        m for m in customer.sock.received("chat_message") if m["client_id"] == "after-removal"
    ]


async def test_nodes_recover_when_redis_restarts(cluster: Cluster) -> None:
    advisor, customer, cid, _ = await pair_across(cluster)
    await cluster.redis.restart(down_seconds=1.0)
    # without a restart of either node, messages cross again once Redis is back
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    delivered = False
    attempt = 0
    while not delivered and loop.time() < deadline:
        attempt += 1
        await chat(customer.sock, cid, f"after-restart-{attempt:03d}", "wieder da?")
        try:
            await advisor.sock.until(
                "chat_message", lambda d: d["client_id"].startswith("after-restart"), timeout=1.0
            )
            delivered = True
        except TimeoutError:
            continue
    assert delivered, "no chat message crossed the nodes within 30 s of Redis coming back"
    for node in (cluster.a, cluster.b):
        http = Http(node.url)
        try:
            status, body = await http.get("/readyz")
            assert status == 200, body
        finally:
            await http.close()


async def test_a_killed_nodes_customer_resumes_on_the_other(cluster: Cluster) -> None:
    advisor, customer, cid, _ = await pair_across(cluster)
    before = await chat(customer.sock, cid, "customer-1", "vor dem Ausfall")
    await cluster.a.kill()
    # the advisor sees the customer go offline once node a has been silent long enough
    gone = await advisor.sock.until(
        "participant_updated",
        lambda d: (
            d["participant"]["id"] == customer.participant_id and not d["participant"]["connected"]
        ),
        timeout=WAIT,
    )
    assert gone["consultation_id"] == cid
    await chat(advisor.sock, cid, "advisor-1", "sind Sie noch da?")
    # the customer's browser reconnects to node b with its cookie and resumes silently
    sock = await Socket.connected(cluster.b.url, customer.http.cookie_header())
    try:
        back = await sock.ok("room_join", {"consultation_id": cid})
        assert back["self"]["id"] == customer.participant_id
        missed = await sock.ok("chat_history", {"consultation_id": cid, "after_seq": before["seq"]})
        assert [m["client_id"] for m in missed["messages"]] == ["advisor-1"]
        await advisor.sock.until(
            "participant_updated",
            lambda d: (
                d["participant"]["id"] == customer.participant_id and d["participant"]["connected"]
            ),
        )
        # still admitted, not back in the lobby: the grace period covered the move
        assert (await sock.ok("lobby_status"))["status"] == "admitted"
    finally:
        await sock.close()


async def test_a_draining_node_sends_its_clients_to_the_other(cluster: Cluster) -> None:
    advisor, customer, cid, _ = await pair_across(cluster)
    before = await chat(customer.sock, cid, "customer-1", "vor dem Neustart")
    gone = asyncio.Event()
    customer.sock.sio.on("disconnect", lambda *_: gone.set())
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert cluster.a.proc is not None
    cluster.a.proc.terminate()  # SIGTERM, as an orchestrator stops a replica
    async with asyncio.timeout(WAIT):
        await gone.wait()
    # closed at the transport, so a browser reconnects: no session_closed, nothing final
    assert not customer.sock.received("session_closed")
    assert await asyncio.wait_for(cluster.a.proc.wait(), WAIT) == 0
    drained_in = loop.time() - started
    assert drained_in < WAIT, drained_in
    await chat(advisor.sock, cid, "advisor-1", "einen Moment bitte")
    sock = await Socket.connected(cluster.b.url, customer.http.cookie_header())
    try:
        back = await sock.ok("room_join", {"consultation_id": cid})
        assert back["self"]["id"] == customer.participant_id
        missed = await sock.ok("chat_history", {"consultation_id": cid, "after_seq": before["seq"]})
        assert [m["client_id"] for m in missed["messages"]] == ["advisor-1"]
        assert (await sock.ok("lobby_status"))["status"] == "admitted"
    finally:
        await sock.close()


async def test_password_guessing_spread_over_the_nodes_is_limited_as_one(
    cluster: Cluster,
) -> None:
    wrong = {"username": cluster.seed["username"], "password": "not the password"}
    right = {"username": cluster.seed["username"], "password": cluster.seed["password"]}
    clients = [Http(cluster.a.url), Http(cluster.b.url)]
    try:
        for attempt in range(GUESSES):
            status, body = await clients[attempt % 2].post("/api/auth/login", wrong)
            assert status == 401, body
        # each node saw only half of the failures; together they are the limit
        for http in clients:
            status, body = await http.post("/api/auth/login", right)
            assert status == 429 and body["error"]["code"] == "limit_exceeded", body
    finally:
        for http in clients:
            await http.close()


async def available(http: Http, team: str, expected: bool) -> dict[str, Any]:
    """The embeddable button's answer once it is `expected` (cluster news takes a moment)."""
    async with asyncio.timeout(WAIT):
        while True:
            status, body = await http.get(f"/api/teams/{team}/availability")
            assert status == 200, body
            if body["data"]["available"] is expected:
                return body["data"]
            await asyncio.sleep(0.2)


async def test_the_button_counts_advisors_on_every_node(cluster: Cluster) -> None:
    team = cluster.seed["team_slug"]
    button = Http(cluster.a.url)  # the button on the business's website asks node a
    try:
        status, body = await button.get(f"/api/teams/{team}/availability")
        assert (status, body["data"]["available"]) == (200, False), body
        advisor = await login_advisor(cluster.b, cluster.seed)  # online on node b only
        data = await available(button, team, True)
        assert data["wait_seconds_estimate"] is not None
        await advisor.sock.close()
        await available(button, team, False)
    finally:
        await button.close()


# -- a consultation's traffic goes only to the nodes that serve it --------------------------


async def fanout(node: Node) -> dict[str, float]:
    """The node's fan-out figures from /metrics: messages received per channel kind, and
    the room channels it listens to."""
    http = Http(node.url)
    try:
        async with http.session.get(f"{node.url}/metrics") as resp:
            assert resp.status == 200
            text = await resp.text()
    finally:
        await http.close()
    figures = {}
    for name, pattern in {
        "cluster": r'parley_fanout_received_total\{channel="cluster"\}',
        "room": r'parley_fanout_received_total\{channel="room"\}',
        "channels": r"parley_fanout_room_channels",
    }.items():
        found = re.search(rf"^{pattern} (\S+)$", text, re.M)
        assert found is not None, name
        figures[name] = float(found.group(1))
    return figures


async def listeners(cluster: Cluster, room: str) -> int:
    """How many nodes Redis delivers the room's channel to."""
    client = redis_client.from_url(cluster.redis.url)
    try:
        [(_, count)] = await client.pubsub_numsub(f"parley:socketio:{room}")
        return int(count)
    finally:
        await client.aclose()


async def admitted_on(node: Node, seed: dict[str, str]) -> tuple[Advisor, Customer, str]:
    """An invite consultation with both people on `node`, both in the room."""
    advisor = await login_advisor(node, seed)
    cid, token = await invite_consultation(advisor)
    customer = await join_customer(node, invite=token, first="Max")
    ref = {"consultation_id": cid, "participant_id": customer.participant_id}
    await advisor.sock.ok("lobby_admit", ref)
    await customer.sock.until("lobby_state", lambda d: d["status"] == "admitted")
    await advisor.sock.ok("room_join", {"consultation_id": cid})
    await customer.sock.ok("room_join", {"consultation_id": cid})
    return advisor, customer, cid


MESSAGES = 40


async def test_a_node_reads_only_the_consultations_it_serves(cluster: Cluster) -> None:
    advisor, customer, across, _ = await pair_across(cluster)
    assert await listeners(cluster, f"consultation:{across}") == 2
    here, guest, local = await admitted_on(cluster.a, cluster.seed)
    assert await listeners(cluster, f"consultation:{local}") == 1  # node a only
    assert (await fanout(cluster.b))["channels"] >= 2  # the room and the advisor's member room

    before = await fanout(cluster.b)
    for i in range(MESSAGES):  # said on node a, to people on node a
        await chat(here.sock, local, f"local-{i:03d}", "nur hier")
    await guest.sock.until("chat_message", lambda d: d["client_id"] == f"local-{MESSAGES - 1:03d}")
    await chat(customer.sock, across, "across-001", "und drueben?")  # node a to node b
    await advisor.sock.until("chat_message", lambda d: d["client_id"] == "across-001")
    after = await fanout(cluster.b)
    # node b got the one message for its advisor, and none of the consultation it does not
    # serve (on python-socketio's one channel it would have decoded all of them)
    assert after["room"] - before["room"] >= 1
    assert after["room"] - before["room"] + after["cluster"] - before["cluster"] < MESSAGES / 4
    assert not [m for m in advisor.sock.received("chat_message") if m["consultation_id"] == local]


async def test_nodes_routing_and_not_routing_work_together_and_let_channels_go(
    tmp_path: Path, database_url: str
) -> None:
    """Node a publishes on the one channel (`PARLEY_REDIS_FANOUT=cluster`, the step between
    in a rolling upgrade), node b per consultation; the consultation notices nothing. Once
    everyone has left, both let the room channels go after the grace period."""
    extra = {"a": {"PARLEY_REDIS_FANOUT": "cluster", "PARLEY_GRACE_SECONDS": "2"}}
    extra["b"] = {"PARLEY_GRACE_SECONDS": "2"}
    async with running(tmp_path, database_url, extra) as nodes:
        advisor, customer, cid, _ = await pair_across(nodes)
        assert await listeners(nodes, f"consultation:{cid}") == 2
        a_before, b_before = await fanout(nodes.a), await fanout(nodes.b)
        await chat(customer.sock, cid, "from-node-a", "vom Knoten a")
        await advisor.sock.until("chat_message", lambda d: d["client_id"] == "from-node-a")
        await chat(advisor.sock, cid, "from-node-b", "vom Knoten b")
        await customer.sock.until("chat_message", lambda d: d["client_id"] == "from-node-b")
        a_after, b_after = await fanout(nodes.a), await fanout(nodes.b)
        assert b_after["cluster"] > b_before["cluster"]  # a's emits came on the one channel
        assert a_after["room"] > a_before["room"]  # b's on the room's own

        await asyncio.gather(customer.sock.close(), advisor.sock.close())
        async with asyncio.timeout(WAIT):
            while await listeners(nodes, f"consultation:{cid}"):
                await asyncio.sleep(0.2)
        assert (await fanout(nodes.a))["channels"] == (await fanout(nodes.b))["channels"] == 0


TABS = 40  # advisor sockets in the room, each with a burst in flight
BURST = 10  # signals each of them sends without waiting for the answers


async def test_a_burst_across_nodes_arrives_whole(cluster: Cluster) -> None:
    """Hundreds of emits in flight at once on one node (more than a Redis connection pool
    holds) all reach the other node: 40 advisor sockets on node b send 10 ICE candidates
    each, all at once, to the customer on node a."""
    advisor, customer, cid, _ = await pair_across(cluster)
    tabs = [await cluster.b.socket(advisor.http) for _ in range(TABS)]
    try:
        for tab in tabs:
            await tab.ok("room_join", {"consultation_id": cid})

        def signal(i: int, j: int) -> dict[str, Any]:
            line = f"candidate:{i:02d}{j:02d} 1 udp 2122260223 192.0.2.2 54321 typ host"
            return {
                "consultation_id": cid,
                "to": customer.participant_id,
                "candidate": {"candidate": line, "sdpMid": "0", "sdpMLineIndex": 0},
            }

        acks = await asyncio.gather(
            *(
                tab.call("rtc_signal", signal(i, j))
                for i, tab in enumerate(tabs)
                for j in range(BURST)
            )
        )
        assert all(ack["ok"] for ack in acks), [a for a in acks if not a["ok"]][:3]
        expected = {f"{i:02d}{j:02d}" for i in range(TABS) for j in range(BURST)}
        seen: set[str] = set()
        async with asyncio.timeout(WAIT):
            while seen != expected:
                data = await customer.sock.next("rtc_signal")
                seen.add(data["candidate"]["candidate"].split(" ", 1)[0].removeprefix("candidate:"))
        assert len(customer.sock.received("rtc_signal")) == TABS * BURST  # none twice
    finally:
        await asyncio.gather(*(tab.close() for tab in tabs))


async def test_with_redis_down_a_node_goes_on_serving_its_own_sockets(cluster: Cluster) -> None:
    """Redis stops for good: a consultation whose people are all on one node goes on, its
    events answered and delivered without waiting each time for Redis to fail again."""
    advisor, customer, cid = await admitted_on(cluster.a, cluster.seed)
    await cluster.redis.stop()
    async with asyncio.timeout(WAIT):  # ten messages, not ten rounds of redis-py's retries
        for i in range(10):
            await chat(customer.sock, cid, f"no-redis-{i:02d}", "geht es noch?")
            await advisor.sock.until(
                "chat_message", lambda d, i=i: d["client_id"] == f"no-redis-{i:02d}"
            )


async def test_the_one_channel_setting_speaks_with_nodes_of_the_version_before(
    tmp_path: Path, database_url: str
) -> None:
    """The step between of a rolling upgrade (docs/operations.md): with
    `PARLEY_REDIS_FANOUT=cluster` a node and one of the version before, which used
    python-socketio's own `AsyncRedisManager` on `parley:socketio`, hear each other. That
    node is stood in for by python-socketio's manager itself (write-only) and by a plain
    subscriber to its channel."""
    async with running(tmp_path, database_url, {"a": {"PARLEY_REDIS_FANOUT": "cluster"}}) as nodes:
        advisor, customer, cid = await admitted_on(nodes.a, nodes.seed)
        client = redis_client.from_url(nodes.redis.url)
        old_channel = client.pubsub(ignore_subscribe_messages=True)
        old_node = socketio.AsyncRedisManager(
            nodes.redis.url, channel="parley:socketio", write_only=True
        )
        try:
            await old_channel.subscribe("parley:socketio")
            room = f"consultation:{cid}"
            await chat(customer.sock, cid, "to-the-old-node", "hallo")
            async with asyncio.timeout(WAIT):  # on the old channel, in the old format
                while True:
                    message = await old_channel.get_message(timeout=WAIT)
                    said = json.loads(message["data"]) if message else {}
                    if said.get("event") == "chat_message" and said["room"] == room:
                        break
            assert said["method"] == "emit" and said["data"][0]["client_id"] == "to-the-old-node"

            relayed = {**said["data"][0], "client_id": "from-the-old-node", "seq": 999}
            await old_node.emit("chat_message", relayed, room=room)
            await advisor.sock.until("chat_message", lambda d: d["seq"] == relayed["seq"])
        finally:
            await old_channel.aclose()
            await client.aclose()
            if old_node.redis is not None:
                await old_node.redis.aclose()
