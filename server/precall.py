"""The pre-call check: a server-side WebRTC peer that echoes what the browser sends.

A client offers audio, video and a data channel named "probe"; the server peer answers,
sends every received track straight back (through aiortc's `MediaRelay`, nothing stored)
and echoes every message on the "probe" channel, so the client sees its own camera and
hears its own microphone and measures the round trip. `report` tells what the server saw:
packets received and lost per kind, the round-trip time from RTCP, and the ICE path (host,
srflx or relay), i.e. whether a direct path works or only TURN.

Sessions are bounded: so many at once, so many per client per minute, so many seconds
each. A session ends at its time limit, on DELETE, when its connection fails, or when the
application stops (`close`). A failed negotiation leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import secrets
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Annotated, Any, Literal

from aiohttp import web
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRelay
from aiortc.exceptions import InvalidAccessError, InvalidStateError, OperationError
from aiortc.rtcicetransport import connection_kwargs
from aiortc.stats import RTCInboundRtpStreamStats, RTCRemoteInboundRtpStreamStats
from pydantic import StringConstraints

from server.web_helpers import envelope, read_json
from signaling.errors import InvalidPayload, LimitExceeded, NotFound, NotReady
from signaling.protocol import SDP_MAX, Payload, parse

log = logging.getLogger(__name__)

CHANNEL = "probe"  # the data channel whose messages are echoed
MESSAGE_MAX = 1024  # longer probe messages are dropped, not echoed
WINDOW_SECONDS = 60.0  # the per-client rate window
SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")  # secrets.token_urlsafe(16)
MEDIA_KINDS = ("audio", "video")

# what aiortc raises for an offer it cannot use (parse errors, missing ICE credentials,
# no codec in common, ...)
REFUSED_OFFER = (
    ValueError,
    KeyError,
    IndexError,
    InvalidAccessError,
    InvalidStateError,
    OperationError,
)

IceServers = Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class PrecallLimits:
    max_sessions: int = 10  # at once, over all clients
    sessions_per_minute: int = 6  # started per client key in any 60 seconds
    session_seconds: float = 60.0  # a session is closed this long after its answer
    negotiation_seconds: float = 15.0  # ICE gathering and answering, at most


class PrecallOffer(Payload):
    type: Literal["offer"]
    sdp: Annotated[str, StringConstraints(min_length=1, max_length=SDP_MAX)]


@dataclass(eq=False)
class PrecallSession:
    id: str
    pc: RTCPeerConnection
    started: float  # by the Precall's clock
    relay: MediaRelay = field(default_factory=MediaRelay)
    expiry: asyncio.TimerHandle | None = None
    echoed: int = 0  # probe messages echoed


class Precall:
    """Every live pre-call session of this process. Use `async with` (or call `close`)."""

    def __init__(
        self,
        limits: PrecallLimits = PrecallLimits(),
        *,
        ice_servers: IceServers | Callable[[], IceServers] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = limits
        self.ice_servers = ice_servers
        self.clock = clock
        self.sessions: dict[str, PrecallSession] = {}
        self._starts: dict[str, deque[float]] = {}  # per hashed client key
        self._endings: set[asyncio.Task[None]] = set()
        self._closed = False

    async def __aenter__(self) -> Precall:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # the three operations ------------------------------------------------------------------

    async def answer(self, client_key: str, offer: object) -> dict[str, Any]:
        """Answer an offer {"type": "offer", "sdp"} with {"type": "answer", "sdp",
        "session_id", "expires_in"}; the session echoes media until it ends."""
        body = parse(PrecallOffer, offer)
        if "a=candidate:" not in body.sdp:
            raise InvalidPayload("the offer has no ICE candidates; send it once gathered")
        if "a=fingerprint:" not in body.sdp:
            raise InvalidPayload("the offer has no DTLS fingerprint")
        config = self._config()
        self._admit(client_key)
        session = PrecallSession(
            id=secrets.token_urlsafe(16), pc=RTCPeerConnection(config), started=self.clock()
        )
        self.sessions[session.id] = session
        try:
            async with asyncio.timeout(self.limits.negotiation_seconds):
                sdp = await self._negotiate(session, body.sdp)
        except BaseException as exc:
            await self._discard(session)
            if not isinstance(exc, Exception):  # cancelled: nothing to translate
                raise
            if self._closed:
                raise NotReady("the pre-call check is shutting down") from None
            if isinstance(exc, TimeoutError):
                log.warning("precall negotiation timed out session=%s", session.id)
                raise NotReady("the pre-call check could not answer in time") from None
            if isinstance(exc, REFUSED_OFFER):
                log.info("precall offer refused session=%s: %s", session.id, type(exc).__name__)
                raise InvalidPayload("the offer is not a usable SDP offer") from None
            raise
        if self.sessions.get(session.id) is not session:  # close() came during the answer
            await self._teardown(session, "shutdown")
            raise NotReady("the pre-call check is shutting down")
        loop = asyncio.get_running_loop()
        session.expiry = loop.call_later(
            self.limits.session_seconds, self._end_soon, session.id, "time limit"
        )
        log.info("precall started session=%s sessions=%d", session.id, len(self.sessions))
        return {
            "type": "answer",
            "sdp": sdp,
            "session_id": session.id,
            "expires_in": self.limits.session_seconds,
        }

    async def report(self, session_id: str) -> dict[str, Any]:
        """What the server peer sees of a live session."""
        return await report_of(self._session(session_id), self.clock(), self.limits)

    async def end(self, session_id: str) -> dict[str, Any]:
        """Close a session now; returns its final report."""
        session = self._session(session_id)
        final = await report_of(session, self.clock(), self.limits)
        if self.sessions.pop(session_id, None) is session:
            await self._teardown(session, "ended")
        return {**final, "state": "closed"}

    async def close(self) -> None:
        """Tear down every peer (the application stops); later offers are refused."""
        self._closed = True
        sessions = list(self.sessions.values())
        self.sessions.clear()
        await asyncio.gather(*(self._teardown(s, "shutdown") for s in sessions))
        while self._endings:
            await asyncio.gather(*self._endings, return_exceptions=True)

    # inside --------------------------------------------------------------------------------

    def _admit(self, client_key: str) -> None:
        if self._closed:
            raise NotReady("the pre-call check is shutting down")
        if len(self.sessions) >= self.limits.max_sessions:
            raise LimitExceeded("too many pre-call checks are running; try again shortly")
        now = self.clock()
        for key, starts in list(self._starts.items()):
            while starts and starts[0] <= now - WINDOW_SECONDS:
                starts.popleft()
            if not starts:
                del self._starts[key]
        key = hashlib.sha256(client_key.encode()).hexdigest()[:32]  # no raw address kept
        starts = self._starts.setdefault(key, deque())
        if len(starts) >= self.limits.sessions_per_minute:
            raise LimitExceeded("too many pre-call checks from here; try again in a minute")
        starts.append(now)

    def _config(self) -> RTCConfiguration:
        given = self.ice_servers() if callable(self.ice_servers) else self.ice_servers
        servers = [ice_server(s) for s in given]
        # aiortc parses the URLs only inside setRemoteDescription, where a ValueError would
        # read as a bad offer: a misconfigured server list fails here, as internal_error
        connection_kwargs(servers)
        # an explicit list, even an empty one: aiortc's default is a public STUN server
        return RTCConfiguration(iceServers=servers)

    async def _negotiate(self, session: PrecallSession, sdp: str) -> str:
        pc = session.pc

        @pc.on("track")
        def echo_track(track: MediaStreamTrack) -> None:
            # fired inside setRemoteDescription: the answer then sends on the same
            # transceiver; unbuffered, so a slow encoder drops frames instead of queueing
            pc.addTrack(session.relay.subscribe(track, buffered=False))

        @pc.on("datachannel")
        def echo_channel(channel: RTCDataChannel) -> None:
            if channel.label != CHANNEL:
                channel.close()
                return

            @channel.on("message")
            def echo(message: str | bytes) -> None:
                if len(message) <= MESSAGE_MAX and channel.readyState == "open":
                    channel.send(message)
                    session.echoed += 1

        @pc.on("connectionstatechange")
        def watch() -> None:
            if pc.connectionState == "failed":
                self._end_soon(session.id, "connection failed")

        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        if not pc.getTransceivers() and pc.sctp is None:
            raise ValueError("the offer has neither media nor a data channel")
        await pc.setLocalDescription(await pc.createAnswer())
        return str(pc.localDescription.sdp)

    def _session(self, session_id: str) -> PrecallSession:
        session = self.sessions.get(session_id) if SESSION_ID.match(session_id) else None
        if session is None:
            raise NotFound("no such pre-call check; it may have ended")
        return session

    def _end_soon(self, session_id: str, why: str) -> None:
        session = self.sessions.pop(session_id, None)
        if session is None:
            return
        task = asyncio.get_running_loop().create_task(self._teardown(session, why))
        self._endings.add(task)
        task.add_done_callback(self._endings.discard)

    async def _discard(self, session: PrecallSession) -> None:
        if self.sessions.get(session.id) is session:
            del self.sessions[session.id]
        await asyncio.shield(self._teardown(session, "negotiation failed"))

    async def _teardown(self, session: PrecallSession, why: str) -> None:
        if session.expiry is not None:
            session.expiry.cancel()
        try:
            await session.pc.close()
        except Exception:
            log.exception("precall close failed session=%s", session.id)
        log.info("precall closed session=%s why=%s", session.id, why)


def ice_server(server: Mapping[str, Any]) -> RTCIceServer:
    """A W3C RTCIceServer dict ({"urls", "username"?, "credential"?}) for aiortc."""
    return RTCIceServer(
        urls=server["urls"], username=server.get("username"), credential=server.get("credential")
    )


# the report ---------------------------------------------------------------------------------


async def report_of(session: PrecallSession, now: float, limits: PrecallLimits) -> dict[str, Any]:
    pc = session.pc
    stats = await pc.getStats() if pc.connectionState != "closed" else {}
    media: dict[str, dict[str, int]] = {
        kind: {"packets_received": 0, "packets_lost": 0} for kind in MEDIA_KINDS
    }
    rtts: list[float] = []
    for entry in stats.values():
        if isinstance(entry, RTCInboundRtpStreamStats) and entry.kind in media:
            media[entry.kind]["packets_received"] += entry.packetsReceived
            media[entry.kind]["packets_lost"] += max(entry.packetsLost, 0)
        elif isinstance(entry, RTCRemoteInboundRtpStreamStats) and entry.roundTripTime:
            rtts.append(entry.roundTripTime)
    local, remote, protocol = selected_pair(pc)
    elapsed = now - session.started
    return {
        "session_id": session.id,
        "state": pc.connectionState,
        "elapsed_seconds": round(elapsed, 3),
        "seconds_left": round(max(limits.session_seconds - elapsed, 0.0), 3),
        "media": media,
        "rtt_ms": round(1000 * sum(rtts) / len(rtts), 1) if rtts else None,
        "probe_messages": session.echoed,
        "path": path_of(local, remote),
        "candidates": {"local": local, "remote": remote, "protocol": protocol},
    }


def selected_pair(pc: RTCPeerConnection) -> tuple[str | None, str | None, str | None]:
    """Local and remote candidate type and the transport of the pair ICE nominated.
    aiortc's getStats has no candidate-pair entries, so this reads aioice's connection."""
    transports = [t.receiver.transport for t in pc.getTransceivers()]
    if pc.sctp is not None:
        transports.append(pc.sctp.transport)
    for dtls in transports:
        connection = getattr(getattr(dtls, "transport", None), "_connection", None)
        nominated: dict[int, Any] = getattr(connection, "_nominated", None) or {}
        pair = nominated.get(1)
        if pair is not None:
            local, remote = pair.local_candidate, pair.remote_candidate
            return str(local.type), str(remote.type), str(local.transport).lower()
    return None, None, None


def path_of(local: str | None, remote: str | None) -> str:
    """host: both ends direct; srflx: through NAT without a relay; relay: through TURN."""
    if local is None or remote is None:
        return "none"
    if "relay" in (local, remote):
        return "relay"
    if {local, remote} & {"srflx", "prflx"}:
        return "srflx"
    return "host"


# the HTTP adapter ---------------------------------------------------------------------------

PRECALL = web.AppKey("precall", Precall)


def routes(
    client_key: Callable[[web.Request], str],
    client_ice_servers: Callable[[web.Request], list[dict[str, Any]]] | None = None,
) -> web.RouteTableDef:
    """GET/POST /api/precall and GET/DELETE /api/precall/{session_id}; the handlers use
    `request.app[PRECALL]`. `client_key` names the caller for the per-minute limit;
    `client_ice_servers`, if given, is the STUN/TURN list GET /api/precall hands the browser
    for its side of the check (without it, an empty list: direct paths only)."""
    table = web.RouteTableDef()

    @table.get("/api/precall")
    async def precall_facts(request: web.Request) -> web.Response:
        limits = request.app[PRECALL].limits
        servers = client_ice_servers(request) if client_ice_servers is not None else []
        return envelope(
            {
                "channel": CHANNEL,
                "session_seconds": limits.session_seconds,
                "ice_servers": servers,
            }
        )

    @table.post("/api/precall")
    async def precall_answer(request: web.Request) -> web.Response:
        offer = await read_json(request)
        answer = await request.app[PRECALL].answer(client_key(request), offer)
        return envelope(answer, status=201)

    @table.get("/api/precall/{session_id}")
    async def precall_report(request: web.Request) -> web.Response:
        return envelope(await request.app[PRECALL].report(request.match_info["session_id"]))

    @table.delete("/api/precall/{session_id}")
    async def precall_end(request: web.Request) -> web.Response:
        return envelope(await request.app[PRECALL].end(request.match_info["session_id"]))

    return table
