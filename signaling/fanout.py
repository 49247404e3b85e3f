"""Emits between nodes on Redis, routed per consultation.

python-socketio's Redis manager publishes every emit on one channel, so every node decodes
every consultation's chat, whiteboard and signalling, whether or not one of its sockets is
in it: with n nodes, each decodes n times the traffic it delivers. This manager (a backend
of python-socketio's pub/sub manager, which does the encoding, the callbacks and the local
delivery) publishes an emit to a consultation's rooms on a channel of that room's own,
`<channel>:<room>`, which a node listens to while one of its sockets is in the room.
Everything else (team, account, participant and ops rooms, disconnects, callbacks) stays on
the cluster's channel, which every node listens to.

A node subscribes before `enter_room` returns (Redis has confirmed it), so whatever another
node publishes after a join was answered reaches the joined socket. It unsubscribes a room
`linger` seconds after its last socket left (the app passes the grace period, in which a
dropped participant comes back), so reloads and reconnects do not churn.

One task publishes what the node says, in the order it said it, as pipelines; an emit
returns once Redis has it (so what a node acknowledges it has relayed), except while Redis
is failing, when the node answers at once and goes on serving its own sockets.

`route=False` publishes everything on the cluster's channel, as python-socketio does, while
still listening to the room channels: the step between for a rolling upgrade from a version
without routing (docs/operations.md)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from typing import Any

import redis.asyncio as redis
from redis.exceptions import RedisError
from socketio.async_pubsub_manager import AsyncPubSubManager

from signaling.cluster import RETRY_SECONDS  # the same backoff as the cluster's presence

log = logging.getLogger(__name__)

ROUTED_PREFIXES = ("consultation:", "member:")  # signaling.ports.consultation_room, member_room
LINGER_SECONDS = 60.0
CONFIRM_SECONDS = 2.0  # a join waits this long for Redis to confirm the room's channel
OUTBOX = 10_000  # messages waiting for Redis; more are dropped (Redis down or far behind)
BATCH = 500  # messages in one pipeline
FLUSH_SECONDS = 1.0  # a stopping node's last messages get this long to go out


def routed(room: Any) -> bool:
    return isinstance(room, str) and room.startswith(ROUTED_PREFIXES)


class RoutedRedisManager(AsyncPubSubManager):  # type: ignore[misc]
    """python-socketio's client manager for several nodes: its pub/sub manager with Redis
    as the backend and a channel per consultation room (see the module's docstring)."""

    name = "parley-redis"

    def __init__(
        self,
        url: str,
        channel: str = "parley:socketio",
        *,
        route: bool = True,
        linger: float = LINGER_SECONDS,
    ) -> None:
        super().__init__(channel=channel)
        self.route = route
        self.linger = linger
        # bounded, so that a Redis that hangs holds up emits for seconds, not for ever (the
        # listener's blocking read is not bounded by it: redis-py waits for the next message)
        self.redis = redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self.pubsub = self.redis.pubsub()
        self.prefix = f"{channel}:"
        self.received: Counter[str] = Counter()  # messages from Redis: "cluster", "room"
        self.wanted: set[str] = set()  # rooms with a socket here (or lingering)
        self.subscribed: set[str] = set()  # rooms whose SUBSCRIBE has been sent
        self.live: set[str] = set()  # of those, the ones Redis has confirmed
        self.empty_since: dict[str, float] = {}
        self.unconfirmed: dict[str, asyncio.Future[None]] = {}  # joins wait for these rooms
        self.dirty: set[str] = set()
        self.wake = asyncio.Event()
        self.worker: asyncio.Task[None] | None = None
        self.outbox: asyncio.Queue[tuple[str, str, asyncio.Future[None]]] = asyncio.Queue(OUTBOX)
        self.publisher: asyncio.Task[None] | None = None
        self.dropped = 0
        self.failing = False  # the last pipeline failed (after redis-py's retries)

    # -- which rooms this node listens to ------------------------------------------------------

    def initialize(self) -> None:
        super().initialize()
        self.worker = asyncio.get_running_loop().create_task(self._subscriptions())

    def basic_enter_room(
        self, sid: str, namespace: str, room: Any, eio_sid: str | None = None
    ) -> None:
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)
        self._changed(room)

    def basic_leave_room(self, sid: str, namespace: str, room: Any) -> None:
        super().basic_leave_room(sid, namespace, room)
        self._changed(room)

    def basic_close_room(self, room: Any, namespace: str) -> None:
        super().basic_close_room(room, namespace)
        self._changed(room)

    def basic_disconnect(self, sid: str, namespace: str, **kwargs: Any) -> None:
        rooms = self.get_rooms(sid, namespace)
        super().basic_disconnect(sid, namespace, **kwargs)
        for room in rooms:
            self._changed(room)

    async def enter_room(
        self, sid: str, namespace: str, room: Any, eio_sid: str | None = None
    ) -> None:
        await super().enter_room(sid, namespace, room, eio_sid=eio_sid)
        waiting = self.unconfirmed.get(room)
        if waiting is not None:
            try:
                await asyncio.wait_for(asyncio.shield(waiting), CONFIRM_SECONDS)
            except TimeoutError:
                log.warning("fan-out: Redis has not confirmed a room channel; joining anyway")

    def _here(self, room: str) -> bool:
        return any(room in rooms for rooms in self.rooms.values())

    def _changed(self, room: Any) -> None:
        if not routed(room):
            return
        if self._here(room) and room not in self.live and room not in self.unconfirmed:
            self.unconfirmed[room] = asyncio.get_running_loop().create_future()
        self.dirty.add(room)
        self.wake.set()

    async def _subscriptions(self) -> None:
        """The one task that sends SUBSCRIBE and UNSUBSCRIBE, in the order of the changes."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.linger / 2)
            self.wake.clear()
            now = time.monotonic()
            dirty, self.dirty = self.dirty, set()
            for room in dirty:
                if self._here(room):
                    self.wanted.add(room)
                    self.empty_since.pop(room, None)
                elif room in self.wanted:
                    self.empty_since.setdefault(room, now)
            gone = {r for r, t in self.empty_since.items() if now - t >= self.linger}
            for room in gone:
                del self.empty_since[room]
                self.wanted.discard(room)
            add, drop = self.wanted - self.subscribed, self.subscribed - self.wanted
            self.live -= drop
            self.subscribed = (self.subscribed - drop) | add
            try:
                if drop:
                    await self.pubsub.unsubscribe(*(self.prefix + r for r in drop))
                if add:
                    await self.pubsub.subscribe(*(self.prefix + r for r in add))
            except (RedisError, OSError) as exc:
                # tried again at the next change or pass, and all of them after a reconnect
                self.subscribed -= add
                log.warning("fan-out: subscribing failed: %s", type(exc).__name__)
            for room in drop:
                if not self._here(room):
                    self._confirm(room)  # nobody here waits for it any more

    def _confirm(self, room: str) -> None:
        waiting = self.unconfirmed.pop(room, None)
        if waiting is not None and not waiting.done():
            waiting.set_result(None)

    # -- the pub/sub backend -------------------------------------------------------------------

    async def _publish(self, data: dict[str, Any]) -> None:
        """Through the outbox, which one task publishes in order (see `_publisher`); returns
        once Redis has the message, so that what a node acknowledges it has relayed; at once
        while Redis is failing, so that a node goes on serving its own sockets."""
        room = data.get("room") if data.get("method") == "emit" else None
        channel = f"{self.prefix}{room}" if self.route and routed(room) else self.channel
        loop = asyncio.get_running_loop()
        if self.publisher is None:  # an HTTP request may emit before the first socket
            self.publisher = loop.create_task(self._publisher())
        sent = loop.create_future()
        try:
            self.outbox.put_nowait((channel, self.json.dumps(data), sent))
        except asyncio.QueueFull:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % OUTBOX == 0:
                log.error("fan-out: %d messages wait for Redis; %d dropped", OUTBOX, self.dropped)
            return
        if not self.failing:  # Redis is failing: answer now, the message waits its turn
            await sent

    async def _publisher(self) -> None:
        """Everything this node says to the others, in the order it was said, as pipelines
        of the messages waiting (up to BATCH) on one connection at a time. Publishing each
        emit on its own took a pool connection per emit in flight: a burst ran out of the
        pool's 100 (each emit over it lost) and could overtake itself on two connections."""
        failures = 0
        while True:
            batch = [await self.outbox.get()]
            while len(batch) < BATCH and not self.outbox.empty():
                batch.append(self.outbox.get_nowait())
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for channel, payload, _ in batch:
                        pipe.publish(channel, payload)
                    await pipe.execute()
                failures = 0
                self.failing = False
            except (RedisError, OSError) as exc:
                # redis-py has retried already: these are lost, as on python-socketio's
                # manager; the clients resume what matters from the database
                log.error(
                    "fan-out: %d messages to the other nodes lost: %s",
                    len(batch),
                    type(exc).__name__,
                )
                failures += 1
                self.failing = True
            finally:
                for _, _, sent in batch:
                    if not sent.done():
                        sent.set_result(None)
                    self.outbox.task_done()
            if failures:
                await asyncio.sleep(RETRY_SECONDS[min(failures, len(RETRY_SECONDS)) - 1])

    async def _listen(self) -> Any:
        """The messages of the cluster's channel and of this node's room channels; every
        (re)confirmation of the cluster's channel (a reconnect) subscribes the rooms again."""
        cluster = self.channel.encode()
        prefix = self.prefix.encode()
        failures = 0
        joined = False  # redis-py subscribes again by itself after a reconnect
        while True:
            try:
                if not joined:
                    await self.pubsub.subscribe(self.channel)
                    joined = True
                message = await self.pubsub.get_message(timeout=None)
                failures = 0
            except (RedisError, OSError) as exc:
                delay = RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)]
                failures += 1
                log.warning(
                    "fan-out: Redis unreachable (%s), retrying in %.1f s",
                    type(exc).__name__,
                    delay,
                )
                await asyncio.sleep(delay)
                continue
            if message is None:
                continue
            kind, channel = message["type"], message["channel"]
            if kind == "message":
                self.received["cluster" if channel == cluster else "room"] += 1
                yield message["data"]
            elif kind == "subscribe" and channel == cluster:
                if self.wanted:
                    self.subscribed.clear()
                    self.live.clear()
                    self.wake.set()
            elif kind == "subscribe" and channel.startswith(prefix):
                room = channel[len(prefix) :].decode()
                if room in self.subscribed:
                    self.live.add(room)
                    self._confirm(room)

    async def close(self) -> None:
        """The node stops: what is in the outbox goes out (briefly), the tasks end, Redis is
        let go."""
        if self.publisher is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.outbox.join(), FLUSH_SECONDS)
        tasks = [
            t for t in (self.worker, self.publisher, getattr(self, "thread", None)) if t is not None
        ]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(RedisError, OSError):
            await self.pubsub.aclose()
        with contextlib.suppress(RedisError, OSError):
            await self.redis.aclose()
