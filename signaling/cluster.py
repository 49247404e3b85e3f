"""Several nodes, one service: each node tells the others through Redis who has joined
which consultation room on it, and which participants a node took out of a room for good.

python-socketio's Redis manager carries every emit between the nodes; this carries only
what the rooms' own rules need to know of the other nodes. Like the manager, it is a thin
publish/listen slice on one channel. Messages are whole states, not deltas: a node
publishes all of its rooms when they change (changes within `COALESCE_SECONDS` together) and
every `interval` seconds, so a lost message, a restarted Redis or a new node heal by the
next one. A node silent for three intervals is gone (killed, cut off); the others give its
participants the grace period of a dropped connection. Names never cross Redis: a remote
participant is known by id, role and media state."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as redis
from redis.exceptions import RedisError

from signaling.presence import MediaState, Member, Presence, Rooms

log = logging.getLogger(__name__)

CHANNEL = "parley:cluster"
COALESCE_SECONDS = 0.02
SILENT_INTERVALS = 3  # a node not heard of for this many intervals is gone
RETRY_SECONDS = (0.1, 0.5, 1.0, 2.0)

Evicted = Callable[[str, str], Awaitable[None]]
Lost = Callable[[Rooms], Awaitable[None]]
Seen = Callable[[set[tuple[str, str]]], Awaitable[None]]
Tick = Callable[[], Awaitable[None]]


async def _nothing(*_: Any) -> None:
    return None


def encode(rooms: Rooms) -> dict[str, dict[str, list[Any]]]:
    return {
        cid: {pid: [member.role, media.audio, media.video] for pid, (member, media) in ps.items()}
        for cid, ps in rooms.items()
    }


def decode(data: Any) -> Rooms:
    """Rooms from a message; anything not of the expected shape raises ValueError."""
    if not isinstance(data, dict):
        raise ValueError("rooms must be an object")
    rooms: Rooms = {}
    for cid, members in data.items():
        if not isinstance(members, dict):
            raise ValueError("members must be an object")
        rooms[str(cid)] = {}
        for pid, entry in members.items():
            if not (isinstance(entry, list) and len(entry) == 3 and isinstance(entry[0], str)):
                raise ValueError("a member is [role, audio, video]")
            media = MediaState(audio=bool(entry[1]), video=bool(entry[2]))
            rooms[str(cid)][str(pid)] = (Member(role=entry[0], name=""), media)
    return rooms


def decode_advisors(data: Any) -> dict[str, list[str]]:
    """Team id -> advisor account ids from a message (absent from older nodes: none)."""
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
        raise ValueError("advisors must be an object of lists")
    return {str(team): [str(a) for a in accounts] for team, accounts in data.items()}


class RedisCluster:
    """Implements `signaling.ports.Cluster` on Redis pub/sub. An async context manager: it
    listens and announces while entered, and says goodbye when left."""

    shared = True

    def __init__(self, url: str, node: str, presence: Presence, interval: float = 2.0) -> None:
        self.node = node
        self.presence = presence
        self.interval = interval
        self.redis: redis.Redis = redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        # set by the composition root: what this node does when told
        self.on_evicted: Evicted = _nothing  # another node took someone out of a room
        self.on_lost: Lost = _nothing  # another node has gone; these were in its rooms
        self.on_seen: Seen = _nothing  # these came into or left a room on another node
        self.on_tick: Tick = _nothing  # once an interval: check the rooms against storage
        self._dirty = asyncio.Event()
        self._heard: dict[str, float] = {}  # node -> when it was last heard of (monotonic)
        self._heard_self = 0.0  # our own messages coming back: the link to Redis works
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> RedisCluster:
        self.presence.on_change = self._dirty.set
        self._tasks = [
            asyncio.create_task(self._listen(), name="cluster-listen"),
            asyncio.create_task(self._announce(), name="cluster-announce"),
        ]
        return self

    async def __aexit__(self, *_: object) -> None:
        self.presence.on_change = lambda: None
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._publish({"op": "bye"})  # the others need not wait for the silence
        await self.redis.aclose()

    @property
    def ready(self) -> bool:
        """Whether this node hears its own announcements (Redis up, subscribed)."""
        return time.monotonic() - self._heard_self < self.interval * SILENT_INTERVALS

    async def ping(self) -> None:
        await self.redis.ping()

    async def leaving(self, rooms: Rooms) -> None:
        """This node stops serving (draining): the others take over what it had."""
        await self._publish({"op": "bye", "rooms": encode(rooms)})

    async def evicted(self, consultation_id: str, participant_id: str) -> None:
        await self._publish({"op": "evict", "cid": consultation_id, "pid": participant_id})

    async def _publish(self, message: dict[str, Any]) -> None:
        try:
            await self.redis.publish(CHANNEL, json.dumps({"node": self.node, **message}))
        except (RedisError, OSError) as exc:
            # the next announcement repeats the rooms; an eviction is caught by the others'
            # check against storage (`on_tick`)
            log.warning("cluster: publish failed op=%s error=%s", message["op"], type(exc).__name__)

    async def _listen(self) -> None:
        failures = 0
        while True:
            try:
                async with self.redis.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    # tell the others we are here, and what we have
                    await self._publish({"op": "hello"})
                    self._dirty.set()
                    failures = 0
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            await self._receive(message["data"])
            except (RedisError, OSError) as exc:
                delay = RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)]
                failures += 1
                log.warning(
                    "cluster: Redis connection lost error=%s retry_in=%.1fs",
                    type(exc).__name__,
                    delay,
                )
                await asyncio.sleep(delay)

    async def _receive(self, raw: bytes) -> None:
        try:
            message = json.loads(raw)
            node, op = str(message["node"]), message["op"]
            if node == self.node:
                self._heard_self = time.monotonic()
                return
            self._heard[node] = time.monotonic()
            if op == "rooms":
                self.presence.set_remote_advisors(node, decode_advisors(message.get("advisors")))
                changed = self.presence.set_remote(node, decode(message["rooms"]))
                if changed:
                    await self.on_seen(changed)
            elif op == "hello":
                self._dirty.set()  # a new node: it learns our rooms now
            elif op == "evict":
                await self.on_evicted(str(message["cid"]), str(message["pid"]))
            elif op == "bye":
                self._heard.pop(node, None)
                rooms = self.presence.drop_remote(node)
                # a draining node closed its sockets first: what it had then
                for cid, members in decode(message.get("rooms", {})).items():
                    rooms.setdefault(cid, {}).update(members)
                await self.on_lost(rooms)
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("cluster: message ignored error=%s", type(exc).__name__)
        except Exception:
            log.exception("cluster: message handling failed")

    async def _announce(self) -> None:
        last_tick = 0.0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._dirty.wait(), self.interval)
            await asyncio.sleep(COALESCE_SECONDS)  # changes close together go out as one
            self._dirty.clear()
            rooms = encode(self.presence.local_rooms())
            advisors = self.presence.local_advisors()
            await self._publish({"op": "rooms", "rooms": rooms, "advisors": advisors})
            now = time.monotonic()
            if now - last_tick >= self.interval:
                last_tick = now
                try:
                    await self._forget_silent(now)
                    await self.on_tick()
                except Exception:
                    log.exception("cluster: periodic check failed")

    async def _forget_silent(self, now: float) -> None:
        """Nodes not heard of for a while are gone, but only while this node hears itself:
        when Redis is what is down, every node is silent and none has gone."""
        if not self.ready:
            return
        deadline = self.interval * SILENT_INTERVALS
        for node in [n for n, heard in self._heard.items() if now - heard > deadline]:
            del self._heard[node]
            log.info("cluster: node gone node=%s", node)
            await self.on_lost(self.presence.drop_remote(node))
