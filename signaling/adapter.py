"""The Socket.IO adapter: the only module that imports socketio. It authenticates
connections, parses and dispatches events to the core, turns errors into acknowledgements
and implements the core's Notifier port."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from http.cookies import CookieError, SimpleCookie
from typing import Any, ClassVar

import socketio

from signaling import protocol as p
from signaling.chat import Chat
from signaling.core import Core, storage_refusal
from signaling.errors import (
    INTERNAL_ERROR,
    InvalidPayload,
    NotAuthenticated,
    NotAuthorised,
    OriginRefused,
    ParleyError,
    PayloadTooLarge,
    UnknownEvent,
)
from signaling.identity import resolve
from signaling.lobby import Lobby
from signaling.ops import OPS_ROOM, Ops
from signaling.ports import account_room, participant_room, team_room
from signaling.presence import Connection
from signaling.room import Room

log = logging.getLogger(__name__)

Ack = dict[str, Any]
Handler = Callable[[Connection, Any], Awaitable[dict[str, Any]]]
OriginCheck = Callable[[dict[str, Any]], bool]

# the transport closes a connection above this; single events are limited more tightly
TRANSPORT_MAX_BYTES = 1024 * 1024


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


def make_server(client_manager: socketio.AsyncManager | None = None) -> socketio.AsyncServer:
    return socketio.AsyncServer(
        async_mode="aiohttp",
        cors_allowed_origins=[],  # Origin is checked in `connect`, a missing one too
        transports=["websocket"],
        max_http_buffer_size=TRANSPORT_MAX_BYTES,
        client_manager=client_manager,
    )


class SocketNotifier:
    """Implements `signaling.ports.Notifier` on a python-socketio server."""

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self.sio = sio

    async def emit(
        self, event: str, data: dict[str, Any], room: str, skip_sid: str | None = None
    ) -> None:
        await self.sio.emit(event, data, room=room, skip_sid=skip_sid)

    async def enter_room(self, sid: str, room: str) -> None:
        await self.sio.enter_room(sid, room)

    async def leave_room(self, sid: str, room: str) -> None:
        await self.sio.leave_room(sid, room)

    async def close(self, sids: list[str], reason: str) -> None:
        for sid in sids:
            await self.sio.emit("session_closed", {"reason": reason}, to=sid)
            await self.sio.disconnect(sid)


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
    }

    def __init__(
        self,
        sio: socketio.AsyncServer,
        core: Core,
        lobby: Lobby,
        room: Room,
        chat: Chat,
        ops: Ops,
        origin_allowed: OriginCheck,
        max_event_bytes: int = 64 * 1024,
    ) -> None:
        self.sio = sio
        self.core = core
        self.lobby = lobby
        self.room = room
        self.chat = chat
        self.ops = ops
        self.origin_allowed = origin_allowed
        self.max_event_bytes = max_event_bytes
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
            identity = await resolve(self.core.db, self.core.clock, cookies_of(environ))
            if identity is None:
                raise NotAuthenticated("sign in or join a consultation first")
        except ParleyError as exc:
            log.info("connection refused sid=%s code=%s", sid, exc.code)
            # reaches the client as connect_error {"message": ..., "data": {"code": ...}}
            raise socketio.exceptions.ConnectionRefusedError(
                exc.message, {"code": exc.code}
            ) from None
        actor = identity.actor
        self.core.presence.connect(sid, actor, identity.session_key)
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
        log.info("connected sid=%s role=%s", sid, identity.role)

    async def _disconnect(self, sid: str, reason: Any = None) -> None:
        self.ops.forget(sid)
        try:
            await self.room.disconnected(sid)
        except Exception:
            log.exception("disconnect handling failed sid=%s", sid)
        log.info("disconnected sid=%s", sid)

    async def _unknown(self, event: str, sid: str, data: Any = None) -> Ack:
        return error(UnknownEvent.code, f"unknown event {event[:64]!r}")

    def _wrap(
        self, name: str, model: type[p.Payload], handler: Handler
    ) -> Callable[..., Awaitable[Ack]]:
        async def handle(sid: str, data: Any = None, *extra: Any) -> Ack:
            try:
                conn = self.core.presence.get(sid)
                if conn is None:
                    raise NotAuthenticated("not connected")
                if extra:
                    raise InvalidPayload("send exactly one payload object")
                if len(json.dumps(data, separators=(",", ":"))) > self.max_event_bytes:
                    raise PayloadTooLarge(f"events are limited to {self.max_event_bytes} bytes")
                answer = ok(await handler(conn, p.parse(model, data)))
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
