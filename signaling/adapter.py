"""The Socket.IO adapter: with its Redis fan-out (signaling.fanout), the only module that
imports socketio. It authenticates connections, parses and dispatches events to the core,
turns errors into acknowledgements and implements the core's Notifier port."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from http.cookies import CookieError, SimpleCookie
from typing import Any, ClassVar

import orjson
import socketio

from signaling import protocol as p
from signaling.board import Boards
from signaling.chat import Chat
from signaling.core import Core, storage_refusal
from signaling.errors import (
    INTERNAL_ERROR,
    InvalidPayload,
    LimitExceeded,
    NotAuthenticated,
    NotAuthorised,
    OriginRefused,
    ParleyError,
    PayloadTooLarge,
    UnknownEvent,
)
from signaling.fanout import LINGER_SECONDS, RoutedRedisManager
from signaling.identity import cookie_names, resolve, still_valid, touch
from signaling.limits import Bucket
from signaling.lobby import Lobby
from signaling.ops import OPS_ROOM, Ops
from signaling.ports import account_room, participant_room, team_room
from signaling.presence import Connection
from signaling.room import Room
from storage.clock import pause

log = logging.getLogger(__name__)
ACK_GRACE_SECONDS = 0.2  # an expired socket gets its refusal before it is closed

Ack = dict[str, Any]
Handler = Callable[[Connection, Any], Awaitable[dict[str, Any]]]
OriginCheck = Callable[[dict[str, Any]], bool]
AddressOf = Callable[[dict[str, Any]], str | None]

# the transport closes a connection above this; single events are limited more tightly
TRANSPORT_MAX_BYTES = 1024 * 1024
# events of one connection handled at the same time; more wait for their turn, so one
# client's burst cannot queue up the database's one writer ahead of everyone else
IN_FLIGHT = 4
# room for the ids and framing around a whiteboard event's binary attachment
BOARD_ENVELOPE_BYTES = 4096


def ok(data: dict[str, Any] | None = None) -> Ack:
    return {"ok": True, "data": data or {}}


def error(code: str, message: str) -> Ack:
    return {"ok": False, "error": {"code": code, "message": message}}


def cookies_of(environ: dict[str, Any]) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(environ.get("HTTP_COOKIE", ""))
    except CookieError:
        return {}
    return {key: morsel.value for key, morsel in jar.items()}


def event_size(data: Any) -> int:
    """An event's size: its compact JSON plus its binary attachments (whiteboard bytes)."""
    binary = 0

    def attachment(value: Any) -> None:
        nonlocal binary
        if isinstance(value, bytes | bytearray):
            binary += len(value)
            return None
        raise TypeError(f"not JSON: {type(value).__name__}")

    return len(json.dumps(data, separators=(",", ":"), default=attachment)) + binary


class _OutboundJson:
    """The JSON codec of Parley's Socket.IO packets: orjson for what the server sends,
    the standard library for what it receives (orjson refuses input, such as NaN or a
    lone surrogate, that the payload checks now answer with a clear error)."""

    @staticmethod
    def dumps(data: Any, **_: Any) -> str:
        return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS).decode()

    loads = staticmethod(json.loads)


class Packet(socketio.packet.Packet):  # type: ignore[misc]
    """python-socketio's packet (a documented extension point), with the two costs every
    emit pays in Python made by orjson: finding out whether the payload holds bytes, a walk
    of the whole payload, and encoding it. For a queue announcement of 50 customers they
    were 73 and 43 µs, 12 % of a join storm's CPU with the emit's other work; with orjson
    about 5 each (docs/benchmarks.md)."""

    json = _OutboundJson

    @classmethod
    def data_is_binary(cls, data: Any) -> bool:
        try:
            orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)  # refuses bytes
        except TypeError:  # bytes, or something else orjson cannot say: look properly
            return bool(super().data_is_binary(data))
        return False


def make_server(
    redis_url: str | None = None,
    max_event_bytes: int = 0,
    *,
    route: bool = True,
    linger: float = LINGER_SECONDS,
) -> socketio.AsyncServer:
    """The Socket.IO server; with a Redis URL its emits reach the sockets of every node, a
    consultation's on its own channel (`route`, `linger`: see signaling.fanout)."""
    client_manager = (
        RoutedRedisManager(redis_url, route=route, linger=linger) if redis_url else None
    )
    return socketio.AsyncServer(
        async_mode="aiohttp",
        cors_allowed_origins=[],  # Origin is checked in `connect`, a missing one too
        transports=["websocket"],
        max_http_buffer_size=max(TRANSPORT_MAX_BYTES, max_event_bytes + BOARD_ENVELOPE_BYTES),
        client_manager=client_manager,
        serializer=Packet,
    )


class SocketNotifier:
    """Implements `signaling.ports.Notifier` on a python-socketio server."""

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self.sio = sio

    async def emit(
        self,
        event: str,
        data: dict[str, Any],
        room: str,
        skip_sid: str | None = None,
        *,
        here_only: bool = False,
    ) -> None:
        await self.sio.emit(event, data, room=room, skip_sid=skip_sid, ignore_queue=here_only)

    async def enter_room(self, sid: str, room: str) -> None:
        await self.sio.enter_room(sid, room)

    async def leave_room(self, sid: str, room: str) -> None:
        await self.sio.leave_room(sid, room)

    async def close(self, sids: list[str], reason: str) -> None:
        for sid in sids:
            await self.sio.emit("session_closed", {"reason": reason}, to=sid)
            await self.sio.disconnect(sid)


def session_keys(conns: Iterable[Connection]) -> dict[str, set[str]]:
    """The connections' session keys by where they live, as `still_valid` takes them: a
    customer's is a guest token, an advisor's or ops' an account session."""
    keys: dict[str, set[str]] = {"accounts": set(), "guests": set()}
    for conn in conns:
        keys["guests" if conn.actor.kind == "customer" else "accounts"].add(conn.session_key)
    return keys


class SocketAdapter:
    """Authenticates connections and dispatches each event to the handler method of the
    same name, with its payload parsed into the model listed here."""

    EVENTS: ClassVar[dict[str, type[p.Payload]]] = {
        "dashboard_get": p.Empty,
        "lobby_status": p.Empty,
        "queue_pickup": p.ConsultationRef,
        "lobby_admit": p.ParticipantRef,
        "lobby_refuse": p.ParticipantRef,
        "room_join": p.ConsultationRef,
        "room_leave": p.ConsultationRef,
        "media_update": p.MediaUpdate,
        "rtc_signal": p.RtcSignal,
        "participant_remove": p.ParticipantRef,
        "consultation_end": p.ConsultationRef,
        "chat_send": p.ChatSend,
        "chat_history": p.ChatHistory,
        "quality_report": p.QualityReport,
        "ops_snapshot_get": p.Empty,
        "board_sync": p.BoardSync,
        "board_update": p.BoardUpdate,
        "board_awareness": p.BoardAwareness,
        "board_lock": p.BoardLock,
    }

    def __init__(
        self,
        sio: socketio.AsyncServer,
        core: Core,
        lobby: Lobby,
        room: Room,
        chat: Chat,
        ops: Ops,
        boards: Boards,
        origin_allowed: OriginCheck,
        max_event_bytes: int = 64 * 1024,
        address_of: AddressOf | None = None,
    ) -> None:
        self.sio = sio
        self.core = core
        self.lobby = lobby
        self.room = room
        self.chat = chat
        self.ops = ops
        self.boards = boards
        self.origin_allowed = origin_allowed
        self.max_event_bytes = max_event_bytes
        self.address_of = address_of or (lambda environ: None)
        # floods: every event of a connection is counted, whatever it is; one that keeps
        # sending after its refusals is closed. Sockets are counted per address.
        self._events = Bucket(core.limits.events_per_second)
        self._refusals = Bucket(core.limits.events_per_second, core.limits.flood_refusals)
        self._flooders: set[str] = set()
        self._turns: dict[str, asyncio.Semaphore] = {}  # sid -> its events' turns
        self._address: dict[str, str] = {}  # sid -> address
        self._sockets: dict[str, int] = {}  # address -> sockets, connected or connecting
        # whiteboard events carry Yjs bytes and have limits of their own
        limits = core.limits
        self.event_bytes = {
            "board_update": limits.board_update_max_bytes + BOARD_ENVELOPE_BYTES,
            "board_awareness": limits.board_awareness_max_bytes + BOARD_ENVELOPE_BYTES,
            "board_sync": p.STATE_VECTOR_MAX + BOARD_ENVELOPE_BYTES,
        }
        self._closing: set[asyncio.Task[None]] = set()
        sio.on("connect", self._connect)
        sio.on("disconnect", self._disconnect)
        sio.on("*", self._unknown)
        for name, model in self.EVENTS.items():
            sio.on(name, self._wrap(name, model, getattr(self, name)))

    # -- connection lifecycle -------------------------------------------------------------

    async def _connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        try:
            if not self.origin_allowed(environ):
                raise OriginRefused("connections are accepted only from Parley's own pages")
            self._count_address(sid, environ)
            names = cookie_names(self.core.public_url.startswith("https://"))
            identity = await resolve(
                self.core.db, self.core.clock, cookies_of(environ), names, self.core.sessions
            )
            if identity is None:
                raise NotAuthenticated("sign in or join a consultation first")
        except BaseException as exc:
            self._uncount_address(sid)
            if not isinstance(exc, ParleyError):
                raise
            log.info("connection refused sid=%s code=%s", sid, exc.code)
            # reaches the client as connect_error {"message": ..., "data": {"code": ...}}
            raise socketio.exceptions.ConnectionRefusedError(
                exc.message, {"code": exc.code}
            ) from None
        actor = identity.actor
        self.core.presence.connect(sid, actor, identity.session_key).session = identity.bare()
        if actor.kind == "ops":  # ops watch metadata; they never join a consultation
            await self.sio.enter_room(sid, OPS_ROOM)
        elif actor.is_advisor:
            assert actor.account_id is not None
            await self.sio.enter_room(sid, account_room(actor.account_id))
            if actor.team_id is not None:
                await self.sio.enter_room(sid, team_room(actor.team_id))
        else:
            assert actor.participant_id is not None
            await self.sio.enter_room(sid, participant_room(actor.participant_id))
            # the same customer twice (a second tab, a reload while the old socket hangs):
            # the newer connection wins, the older ones are told why and closed
            older = [
                other
                for other in self.core.presence.sids_of_actor(actor.participant_id)
                if other != sid
            ]
            if older:
                await self.core.notifier.close(older, "replaced")
        log.info("connected sid=%s role=%s", sid, identity.role)

    def _count_address(self, sid: str, environ: dict[str, Any]) -> None:
        address = self.address_of(environ)
        if address is None:
            return
        if self._sockets.get(address, 0) >= self.core.limits.connections_per_address:
            raise LimitExceeded("too many connections from this address; close some first")
        self._sockets[address] = self._sockets.get(address, 0) + 1
        self._address[sid] = address

    def _uncount_address(self, sid: str) -> None:
        address = self._address.pop(sid, None)
        if address is None:
            return
        left = self._sockets.get(address, 0) - 1
        if left > 0:
            self._sockets[address] = left
        else:
            self._sockets.pop(address, None)

    def _forget(self, sid: str) -> None:
        """Drop the per-socket state of a socket that is gone (also when one of its events
        finishes after the disconnect, so nothing is kept for a dead socket). The event
        bucket is the person's, not the socket's: it outlives it (see `_admit_event`)."""
        self._refusals.forget(sid)
        self._flooders.discard(sid)
        self._turns.pop(sid, None)

    async def _admit_event(self, conn: Connection) -> None:
        """Count an event against its sender's rate; refuse it when too fast, and close a
        connection that keeps flooding after its refusals. The rate is per person (the
        participant, or the account), not per socket: a flooder who reconnects, or opens
        a second tab, gets no fresh allowance. The refusals that close a connection are
        counted per connection: a closed flooder who comes back is refused cheaply for a
        while rather than closed at once, which would only have it reconnect again."""
        if self._events.take(conn.actor.participant_id or conn.actor.account_id or conn.sid):
            return
        if not self._refusals.take(conn.sid) and conn.sid not in self._flooders:
            self._flooders.add(conn.sid)
            log.info("closing a flooding connection sid=%s", conn.sid)
            await self.core.notifier.close([conn.sid], "flood")
        raise LimitExceeded("too many events; slow down")

    async def _disconnect(self, sid: str, reason: Any = None) -> None:
        self.ops.forget(sid)
        self._uncount_address(sid)
        try:
            await self.room.disconnected(sid)
        except Exception:
            log.exception("disconnect handling failed sid=%s", sid)
        self._forget(sid)
        log.info("disconnected sid=%s", sid)

    async def _unknown(self, event: str, sid: str, data: Any = None) -> Ack:
        conn = self.core.presence.get(sid)
        if conn is None:
            return error(NotAuthenticated.code, "not connected")
        try:
            await self._admit_event(conn)
        except LimitExceeded as exc:
            return self._refusal(exc.code, exc.message)
        return error(UnknownEvent.code, f"unknown event {event[:64]!r}")

    def _wrap(
        self, name: str, model: type[p.Payload], handler: Handler
    ) -> Callable[..., Awaitable[Ack]]:
        async def handle(sid: str, data: Any = None, *extra: Any) -> Ack:
            try:
                conn = self.core.presence.get(sid)
                if conn is None:
                    raise NotAuthenticated("not connected")
                await self._admit_event(conn)
                await self._session_in_force(conn)
                if extra:
                    raise InvalidPayload("send exactly one payload object")
                limit = self.event_bytes.get(name, self.max_event_bytes)
                if event_size(data) > limit:
                    raise PayloadTooLarge(f"{name} events are limited to {limit} bytes")
                payload = p.parse(model, data)
                turns = self._turns.setdefault(sid, asyncio.Semaphore(IN_FLIGHT))
                try:
                    async with turns:
                        answer = ok(await handler(conn, payload))
                finally:
                    if self.core.presence.get(sid) is None:
                        self._forget(sid)
                self.core.observer.event(name)
                return answer
            except ParleyError as exc:
                return self._refusal(exc.code, exc.message)
            except Exception as exc:
                refusal = storage_refusal(exc)
                if refusal is not None:
                    return self._refusal(refusal.code, refusal.message)
                log.exception("event failed event=%s sid=%s", name, sid)
                return self._refusal(INTERNAL_ERROR, "something went wrong on the server")

        return handle

    async def _session_in_force(self, conn: Connection) -> None:
        """The connection's session has not ended (else it is closed); an event is a use."""
        who, now, policy = conn.session, self.core.clock(), self.core.sessions
        if who is None:
            return
        if who.valid_until is not None and now >= who.valid_until:
            found = await still_valid(self.core.db, now, policy, **session_keys([conn]))
            if conn.session_key not in found:
                # the refusal is acknowledged first; the socket is closed right after it
                await self.sio.emit("session_closed", {"reason": "expired"}, to=conn.sid)
                task = asyncio.create_task(self._disconnect_after_ack(conn.sid))
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)
                raise NotAuthenticated("your session has ended; sign in or join again")
            who = found[conn.session_key].bare()
        conn.session = await touch(self.core.db, now, who, policy)

    async def _disconnect_after_ack(self, sid: str) -> None:
        await asyncio.sleep(ACK_GRACE_SECONDS)
        log.info("session expired sid=%s", sid)
        await self.sio.disconnect(sid)

    async def close(self) -> None:
        """The application stops: sockets still to be closed need no closing."""
        for task in list(self._closing):
            task.cancel()
        await asyncio.gather(*self._closing, return_exceptions=True)

    async def drain(self) -> None:
        """This node is stopping: close every connection at the transport, not with a
        Socket.IO disconnect, so that browsers reconnect (with backoff and jitter) and the
        proxy sends them to another node, where they resume."""
        eio = self.sio.eio
        for session in list(eio.sockets.values()):
            if not session.connected:
                # its WebSocket handshake failed (the client reset the connection): no
                # transport will ever take the close, and engineio's close-all would wait
                # for that until the stop's bound
                await session.close(wait=False, abort=True)
        if eio.sockets:  # engineio's close-all fails on none (asyncio.wait([]))
            await eio.disconnect()

    async def close_expired(self, sids: list[str]) -> None:
        for sid in sids:
            log.info("session expired sid=%s", sid)
            await self.sio.emit("session_closed", {"reason": "expired"}, to=sid)
            await self.sio.disconnect(sid)

    async def sweep_sessions(self) -> int:
        """Close every socket whose session has ended (idle, expired, consultation over);
        one check for all sockets. Returns how many were closed."""
        self._events.prune()  # the event buckets that are full again: as good as none
        self._refusals.prune()
        conns = self.core.presence.connections()
        if not conns:
            return 0
        valid = await still_valid(
            self.core.db, self.core.clock(), self.core.sessions, **session_keys(conns)
        )
        ended = [c.sid for c in conns if c.session_key not in valid]
        for conn in conns:
            if conn.session_key in valid and conn.session is not None:
                fresh = valid[conn.session_key]
                conn.session = replace(
                    conn.session, valid_until=fresh.valid_until, seen_at=fresh.seen_at
                )
        await self.close_expired(ended)
        return len(ended)

    def _refusal(self, code: str, message: str) -> Ack:
        self.core.observer.refused(code)
        return error(code, message)

    # -- events ---------------------------------------------------------------------------

    @staticmethod
    def _advisor(conn: Connection) -> None:
        if not conn.actor.is_advisor:
            raise NotAuthorised("only advisors may do this")

    @staticmethod
    def _customer(conn: Connection) -> None:
        if conn.actor.kind != "customer":
            raise NotAuthorised("only customers may do this")

    async def dashboard_get(self, conn: Connection, _: p.Empty) -> dict[str, Any]:
        self._advisor(conn)
        return await self.lobby.dashboard(conn.actor)

    async def lobby_status(self, conn: Connection, _: p.Empty) -> dict[str, Any]:
        self._customer(conn)
        return await self.lobby.status(conn.actor)

    async def queue_pickup(self, conn: Connection, ref: p.ConsultationRef) -> dict[str, Any]:
        return await self.lobby.pickup(conn.actor, ref.consultation_id)

    async def lobby_admit(self, conn: Connection, ref: p.ParticipantRef) -> dict[str, Any]:
        return await self.lobby.admit(conn.actor, ref)

    async def lobby_refuse(self, conn: Connection, ref: p.ParticipantRef) -> dict[str, Any]:
        return await self.lobby.refuse(conn.actor, ref)

    async def room_join(self, conn: Connection, ref: p.ConsultationRef) -> dict[str, Any]:
        return await self.room.join(conn.actor, conn.sid, ref.consultation_id)

    async def room_leave(self, conn: Connection, ref: p.ConsultationRef) -> dict[str, Any]:
        return await self.room.leave(conn.sid, ref.consultation_id)

    async def media_update(self, conn: Connection, update: p.MediaUpdate) -> dict[str, Any]:
        return await self.room.media(conn.sid, update)

    async def rtc_signal(self, conn: Connection, signal: p.RtcSignal) -> dict[str, Any]:
        return await self.room.relay(conn.sid, signal)

    async def participant_remove(self, conn: Connection, ref: p.ParticipantRef) -> dict[str, Any]:
        return await self.room.remove(conn.actor, ref)

    async def consultation_end(self, conn: Connection, ref: p.ConsultationRef) -> dict[str, Any]:
        await self.room.end(conn.actor, ref.consultation_id)
        return {}

    async def chat_send(self, conn: Connection, msg: p.ChatSend) -> dict[str, Any]:
        return await self.chat.send(conn.sid, msg)

    async def chat_history(self, conn: Connection, query: p.ChatHistory) -> dict[str, Any]:
        return await self.chat.history(conn.sid, query)

    async def quality_report(self, conn: Connection, report: p.QualityReport) -> dict[str, Any]:
        return self.ops.report(conn.sid, report)

    async def ops_snapshot_get(self, conn: Connection, _: p.Empty) -> dict[str, Any]:
        if conn.actor.kind != "ops":
            raise NotAuthorised("only ops accounts see the live overview")
        return await self.ops.snapshot()

    async def board_sync(self, conn: Connection, msg: p.BoardSync) -> dict[str, Any]:
        return await self.boards.sync(conn.sid, msg)

    async def board_update(self, conn: Connection, msg: p.BoardUpdate) -> dict[str, Any]:
        return await self.boards.update(conn.sid, msg)

    async def board_awareness(self, conn: Connection, msg: p.BoardAwareness) -> dict[str, Any]:
        return await self.boards.awareness(conn.sid, msg)

    async def board_lock(self, conn: Connection, msg: p.BoardLock) -> dict[str, Any]:
        self._advisor(conn)
        return await self.boards.set_lock(conn.actor, msg)


async def session_sweep_loop(adapter: SocketAdapter, interval: float, stop: asyncio.Event) -> None:
    """Until `stop`: a sweep never is cut off halfway."""
    while not await pause(stop, interval):
        try:
            await adapter.sweep_sessions()
        except Exception:
            log.exception("the session sweep failed; it is tried again at the next interval")
