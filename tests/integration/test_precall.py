"""The pre-call check and the synthetic probe, against a small real app that mounts only the
pre-call routes (with Parley's own error and CSRF middleware): an aiortc client gets its
own picture, tone and data-channel messages back; limits refuse with `limit_exceeded`, bad
offers with `invalid_payload`; every session ends (time limit, DELETE, close) and leaves
no peer and no task behind."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCDataChannel,
    RTCPeerConnection,
    RTCSessionDescription,
)

from server.config import Settings
from server.precall import PRECALL, Precall, PrecallLimits, path_of, routes
from server.probe import probe
from server.web_helpers import OBSERVER, SETTINGS, csrf, errors
from signaling.errors import NotReady
from signaling.ports import Unobserved
from tests.clients import WAIT, Http
from tests.rtc_peer import (
    VIDEO_HEIGHT,
    VIDEO_WIDTH,
    FlatVideoTrack,
    ToneAudioTrack,
    first_channel,
    mean_luma,
    rms,
    zero_crossing_hz,
)

CLIENT_ICE = [{"urls": ["stun:stun.parley.test:3478"]}]  # what GET /api/precall hands out
LUMA, TONE_HZ = 210, 700.0  # what the client sends, so it can tell its echo apart
MEDIA_TIMEOUT = 20.0
VIDEO_FRAMES = 5
AUDIO_FRAMES = 5  # audible ones; the first decoded frames may be silence
AUDIO_FRAMES_MAX = 250


class Monotonic:
    """The precall's rate-window clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class PrecallServer:
    url: str
    precall: Precall
    clock: Monotonic
    http: Http

    async def post_offer(self, offer: Any, client: str = "alice") -> tuple[int, dict[str, Any]]:
        return await self.http.post("/api/precall", offer, headers={"X-Client": client})


Start = Callable[..., Awaitable[PrecallServer]]


@pytest.fixture
async def start(tmp_path: Path) -> AsyncIterator[Start]:
    """Start the app with the given PrecallLimits; afterwards stop it and check that no
    peer connection is left and no task leaked."""
    runners: list[web.AppRunner] = []
    clients: list[Http] = []
    before = set(asyncio.all_tasks())

    async def start_with(**limits: Any) -> PrecallServer:
        clock = Monotonic()
        precall = Precall(PrecallLimits(**limits), ice_servers=[], clock=clock)
        app = web.Application(middlewares=[errors, csrf])
        app[SETTINGS] = Settings(data_dir=tmp_path / "data", port=0)
        app[OBSERVER] = Unobserved()
        app[PRECALL] = precall
        # the test names its clients by a header; Parley passes the address or guest cookie
        app.add_routes(
            routes(
                lambda request: request.headers.get("X-Client", "anonymous"),
                client_ice_servers=lambda request: CLIENT_ICE,
            )
        )

        async def lifecycle(app: web.Application) -> AsyncIterator[None]:
            async with app[PRECALL]:
                yield

        app.cleanup_ctx.append(lifecycle)
        runner = web.AppRunner(app, shutdown_timeout=2)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        url = f"http://127.0.0.1:{port}"
        http = Http(url)
        clients.append(http)
        status, body = await http.get("/api/precall")  # the page's first call: CSRF cookie
        assert status == 200, body
        assert body["data"] == {
            "channel": "probe",
            "session_seconds": precall.limits.session_seconds,
            "ice_servers": CLIENT_ICE,
        }
        return PrecallServer(url, precall, clock, http)

    yield start_with
    for http in clients:
        await http.close()
    for runner in runners:
        precall = runner.app[PRECALL]
        await asyncio.wait_for(runner.cleanup(), WAIT)
        assert precall.sessions == {}
    await asyncio.sleep(0.05)
    leaked = [t for t in asyncio.all_tasks() - before if not t.done()]
    leaked = [t for t in leaked if t is not asyncio.current_task()]
    assert not leaked, f"tasks leaked: {leaked}"


class Client:
    """A browser stand-in: sends a grey picture and a tone, opens the "probe" channel."""

    def __init__(self, media: bool = True) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        loop = asyncio.get_running_loop()
        self.tracks: dict[str, asyncio.Future[MediaStreamTrack]] = {
            "audio": loop.create_future(),
            "video": loop.create_future(),
        }
        self.channel: RTCDataChannel = self.pc.createDataChannel("probe")
        self.opened = asyncio.Event()
        self.channel.on("open", self.opened.set)
        self.echoes: asyncio.Queue[str] = asyncio.Queue()
        self.channel.on("message", self.echoes.put_nowait)
        if media:
            self.pc.addTrack(ToneAudioTrack(TONE_HZ))
            self.pc.addTrack(FlatVideoTrack(LUMA))

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            self.tracks[track.kind].set_result(track)

    async def offer(self) -> dict[str, str]:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return {"type": "offer", "sdp": self.pc.localDescription.sdp}

    async def accept(self, answer: dict[str, Any]) -> None:
        assert answer["type"] == "answer"
        await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))

    async def close(self) -> None:
        await self.pc.close()


@contextlib.asynccontextmanager
async def client(media: bool = True) -> AsyncIterator[Client]:
    c = Client(media)
    try:
        yield c
    finally:
        await c.close()


async def expect_own_media(c: Client) -> None:
    """The client's own picture and tone come back."""

    async def video() -> None:
        track = await c.tracks["video"]
        for _ in range(VIDEO_FRAMES):
            frame = await track.recv()
            assert (frame.width, frame.height) == (VIDEO_WIDTH, VIDEO_HEIGHT)
            assert abs(mean_luma(frame) - LUMA) < 16, mean_luma(frame)

    async def audio() -> None:
        track = await c.tracks["audio"]
        audible = []
        for _ in range(AUDIO_FRAMES_MAX):
            frame = await track.recv()
            samples = first_channel(frame)
            if rms(samples) > 1500:
                audible.append(zero_crossing_hz(samples, frame.sample_rate))
                if len(audible) == AUDIO_FRAMES:
                    break
        assert len(audible) == AUDIO_FRAMES, f"only {len(audible)} audible frames"
        heard = sorted(audible)[AUDIO_FRAMES // 2]
        assert abs(heard - TONE_HZ) < 0.15 * TONE_HZ, heard

    async with asyncio.timeout(MEDIA_TIMEOUT):
        await asyncio.gather(video(), audio())


async def report_until(
    s: PrecallServer, session_id: str, ready: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    async with asyncio.timeout(WAIT):
        while True:
            status, body = await s.http.get(f"/api/precall/{session_id}")
            assert status == 200, body
            if ready(body["data"]):
                return dict(body["data"])
            await asyncio.sleep(0.2)


async def until_no_sessions(precall: Precall) -> None:
    async with asyncio.timeout(WAIT):
        while precall.sessions:
            await asyncio.sleep(0.05)


@pytest.mark.e2e
async def test_client_gets_its_own_media_and_probe_echo_back_and_a_report(start):
    s = await start()
    async with client() as c:
        status, body = await s.post_offer(await c.offer())
        assert status == 201, body
        answer = body["data"]
        assert set(answer) == {"type", "sdp", "session_id", "expires_in"}
        await c.accept(answer)
        await expect_own_media(c)

        # the data channel echoes, so the client measures the round trip
        await asyncio.wait_for(c.opened.wait(), WAIT)
        loop = asyncio.get_running_loop()
        sent = loop.time()
        c.channel.send("ping 1")
        assert await asyncio.wait_for(c.echoes.get(), WAIT) == "ping 1"
        assert 0 < loop.time() - sent < WAIT

        sid = answer["session_id"]
        report = await report_until(s, sid, lambda r: r["rtt_ms"] is not None)
        assert report["session_id"] == sid and report["state"] == "connected"
        for kind in ("audio", "video"):
            assert report["media"][kind]["packets_received"] > 0, report
            assert report["media"][kind]["packets_lost"] >= 0
        assert report["rtt_ms"] >= 0
        assert report["probe_messages"] == 1
        assert report["path"] == "host"  # one machine: a direct path
        assert report["candidates"] == {"local": "host", "remote": "host", "protocol": "udp"}
        assert 0 < report["seconds_left"] <= answer["expires_in"]

        status, body = await s.http.request("DELETE", f"/api/precall/{sid}")
        assert status == 200 and body["data"]["state"] == "closed", body
        assert body["data"]["media"]["video"]["packets_received"] > 0
        assert s.precall.sessions == {}
        status, body = await s.http.get(f"/api/precall/{sid}")
        assert (status, body["error"]["code"]) == (404, "not_found")


BAD_OFFERS = [
    {"type": "answer", "sdp": "v=0"},
    {"type": "offer"},
    {"type": "offer", "sdp": ""},
    {"type": "offer", "sdp": 42},
    {"type": "offer", "sdp": "v=0", "extra": True},
    {"type": "offer", "sdp": "x" * (32 * 1024 + 1)},
    ["not", "an", "object"],
    {"type": "offer", "sdp": "v=0\r\na=fingerprint:sha-256 00\r\n"},  # no candidates
]


async def test_bad_offers_are_invalid_payload_and_leave_nothing(start):
    s = await start(sessions_per_minute=100)
    for offer in BAD_OFFERS:
        status, body = await s.post_offer(offer)
        assert (status, body["error"]["code"]) == (400, "invalid_payload"), (offer, body)
    status, body = await s.http.post(
        "/api/precall", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert (status, body["error"]["code"]) == (400, "invalid_payload")

    # offers that pass the shape check and fail inside aiortc: peers were made, and closed
    async with client() as c:
        good = (await c.offer())["sdp"]
    broken = {
        "no ICE credentials": "".join(
            line for line in good.splitlines(keepends=True) if "a=ice-" not in line
        ),
        "no codec in common": good.replace("VP8/90000", "XX/90000")
        .replace("H264/90000", "YY/90000")
        .replace("opus/48000", "ZZ/48000")
        .replace("PCMU/8000", "ZZ/8000")
        .replace("PCMA/8000", "ZZ/8000"),
        "no media": "v=0\r\na=fingerprint:sha-256 00\r\na=candidate:1 1 udp 1 192.0.2.9 9 typ host",
    }
    for why, sdp in broken.items():
        status, body = await s.post_offer({"type": "offer", "sdp": sdp})
        assert (status, body["error"]["code"]) == (400, "invalid_payload"), (why, body)
        assert s.precall.sessions == {}, why
    assert "message" in body["error"] and "Traceback" not in body["error"]["message"]


async def test_unknown_sessions_are_not_found(start):
    s = await start()
    for sid in ("A" * 22, "short", "../../etc"):
        for method in ("GET", "DELETE"):
            status, body = await s.http.request(method, f"/api/precall/{sid}")
            assert (status, body["error"]["code"]) == (404, "not_found"), (method, sid, body)


async def test_per_client_rate_limit(start):
    s = await start(sessions_per_minute=2, max_sessions=10)
    async with client(media=False) as c:
        offer = await c.offer()  # one offer is enough: the server makes a peer per answer
        for _ in range(2):
            status, body = await s.post_offer(offer, client="alice")
            assert status == 201, body
        status, body = await s.post_offer(offer, client="alice")
        assert (status, body["error"]["code"]) == (429, "limit_exceeded")
        assert len(s.precall.sessions) == 2  # the refused one made no peer
        status, body = await s.post_offer(offer, client="bob")
        assert status == 201, body
        s.clock.now += 61  # the minute has passed for alice
        status, body = await s.post_offer(offer, client="alice")
        assert status == 201, body
        assert len(s.precall.sessions) == 4


async def test_concurrent_session_limit(start):
    s = await start(max_sessions=2)
    async with client(media=False) as c:
        offer = await c.offer()
        sids = []
        for who in ("alice", "bob"):
            status, body = await s.post_offer(offer, client=who)
            assert status == 201, body
            sids.append(body["data"]["session_id"])
        status, body = await s.post_offer(offer, client="carol")
        assert (status, body["error"]["code"]) == (429, "limit_exceeded")
        status, body = await s.http.request("DELETE", f"/api/precall/{sids[0]}")
        assert status == 200, body
        status, body = await s.post_offer(offer, client="carol")
        assert status == 201, body


async def test_session_ends_at_its_time_limit(start):
    s = await start(session_seconds=0.5)
    async with client(media=False) as c:
        status, body = await s.post_offer(await c.offer())
        assert status == 201 and body["data"]["expires_in"] == 0.5, body
        sid = body["data"]["session_id"]
        pc = s.precall.sessions[sid].pc
        await until_no_sessions(s.precall)  # gone at once; its peer closes just after
        async with asyncio.timeout(WAIT):
            while pc.connectionState != "closed":
                await asyncio.sleep(0.05)
        status, body = await s.http.get(f"/api/precall/{sid}")
        assert (status, body["error"]["code"]) == (404, "not_found")


async def test_close_tears_down_every_peer_and_refuses_new_offers(start):
    s = await start()
    async with client() as c:
        offer = await c.offer()
        for who in ("alice", "bob", "carol"):
            status, body = await s.post_offer(offer, client=who)
            assert status == 201, body
        await c.accept(body["data"])  # one of them even connects
        await asyncio.wait_for(c.opened.wait(), WAIT)
        peers = [session.pc for session in s.precall.sessions.values()]
        await asyncio.wait_for(s.precall.close(), WAIT)
        assert s.precall.sessions == {}
        assert [pc.connectionState for pc in peers] == ["closed"] * 3
        status, body = await s.post_offer(offer, client="dave")
        assert (status, body["error"]["code"]) == (503, "not_ready")


async def test_close_during_a_negotiation_refuses_it_and_leaves_nothing(start):
    s = await start()
    async with client(media=False) as c:
        offer = await c.offer()
        answering = asyncio.create_task(s.precall.answer("alice", offer))
        await asyncio.sleep(0)  # the answer has begun: its peer exists
        assert len(s.precall.sessions) == 1
        await asyncio.wait_for(s.precall.close(), WAIT)
        with pytest.raises(NotReady):
            await asyncio.wait_for(answering, WAIT)
        assert s.precall.sessions == {}


async def test_a_negotiation_past_its_time_is_refused_and_leaves_nothing(start):
    s = await start(negotiation_seconds=0.0001)
    async with client(media=False) as c:
        status, body = await s.post_offer(await c.offer())
    assert (status, body["error"]["code"]) == (503, "not_ready"), body
    assert s.precall.sessions == {}


@pytest.mark.e2e
async def test_probe_sees_its_own_media_an_rtt_and_the_path(start):
    s = await start()
    result = await asyncio.wait_for(probe(s.url, [], relay_only=False, seconds=2.0), 60)
    assert result["ok"], result
    assert "error" not in result
    assert result["video_frames"] > 0 and result["audio_frames"] > 0, result
    assert result["rtt_ms"] is not None and result["rtt_ms"] >= 0
    assert result["path"] == "host"
    report = result["report"]
    assert report["state"] == "closed" and report["probe_messages"] > 0
    assert report["media"]["video"]["packets_received"] > 0
    assert s.precall.sessions == {}


async def test_probe_reports_failures_without_raising(start):
    s = await start(max_sessions=1)
    # relay only, but no TURN server: nothing to gather, and nothing sent to the server
    result = await asyncio.wait_for(probe(s.url, [], relay_only=True, seconds=1.0), WAIT)
    assert not result["ok"] and "no ICE candidates" in result["error"], result
    assert result["path"] == "none" and result["video_frames"] == 0

    # the server refuses: the error names the code
    async with client(media=False) as c:
        status, body = await s.post_offer(await c.offer(), client="127.0.0.1")
        assert status == 201, body
        result = await asyncio.wait_for(probe(s.url, [], relay_only=False, seconds=1.0), WAIT)
    assert not result["ok"] and "limit_exceeded" in result["error"], result

    # nobody listening
    result = await asyncio.wait_for(
        probe("http://127.0.0.1:9", [], relay_only=False, seconds=1.0), WAIT
    )
    assert not result["ok"] and result["error"], result


@pytest.mark.e2e
async def test_probe_relay_only_goes_through_a_real_coturn(start, tmp_path):
    coturn = pytest.importorskip("tests.coturn")
    from signaling.turn import turn_credentials

    with coturn.running_coturn(tmp_path / "coturn") as turn:
        expires = datetime.now(UTC) + timedelta(minutes=10)
        username, credential = turn_credentials(turn.secret, "probe", expires)
        servers = [{"urls": [turn.url], "username": username, "credential": credential}]
        s = await start()
        result = await asyncio.wait_for(probe(s.url, servers, relay_only=True, seconds=2.0), 60)
        assert result["ok"], (result, turn.log_tail())
        assert result["path"] == "relay"
        assert result["video_frames"] > 0 and result["audio_frames"] > 0
        assert result["report"]["path"] == "relay"  # the server saw the relay candidate


@pytest.mark.parametrize(
    ("local", "remote", "path"),
    [
        ("host", "host", "host"),
        ("host", "srflx", "srflx"),
        ("srflx", "prflx", "srflx"),
        ("relay", "host", "relay"),
        ("srflx", "relay", "relay"),
        (None, None, "none"),
    ],
)
def test_path_names_the_least_direct_end(local, remote, path):
    assert path_of(local, remote) == path


async def test_a_misconfigured_ice_server_list_is_a_server_fault_not_a_bad_offer():
    precall = Precall(ice_servers=lambda: [{"urls": "turn:no such host:x"}])
    async with precall, client(media=False) as c:
        with pytest.raises(ValueError, match="malformed uri"):
            await precall.answer("alice", await c.offer())
        assert precall.sessions == {}
