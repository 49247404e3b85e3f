"""The synthetic probe (`parley probe`): an aiortc client that runs the pre-call check
against a Parley server, as a browser would, and says whether media really flows.

It sends a flat grey video and a pure tone to POST /api/precall, counts the frames that
come back with the same brightness and pitch (its own, echoed), pings over the "probe"
data channel for the round-trip time, and reads which ICE path was taken. With
`relay_only` it gathers only TURN relay candidates, so success proves TURN works.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import statistics
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCDataChannel,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, VideoStreamTrack
from aiortc.rtcconfiguration import RTCIceTransportPolicy
from av import AudioFrame, VideoFrame

from server.precall import CHANNEL, ice_server, path_of, selected_pair
from signaling.identity import PLAIN_COOKIES, TLS_COOKIES

LUMA = 180  # the grey level sent; echoed frames within LUMA_TOLERANCE count
LUMA_TOLERANCE = 16
TONE_HZ = 440.0  # the pitch sent; echoed audio within 15 % and above AUDIBLE_RMS counts
AUDIBLE_RMS = 1500.0
WIDTH, HEIGHT = 320, 240
PING_INTERVAL = 0.1
CONNECT_SECONDS = 15.0  # from the answer to "connected", at most
HTTP_SECONDS = 20.0  # any one HTTP request (the answer includes ICE gathering)


class ProbeFailed(Exception):
    pass


# what makes a probe fail rather than crash: refusals, network, timeouts, bad replies
FAILURES = (ProbeFailed, aiohttp.ClientError, OSError, TimeoutError, ValueError)


class GreyVideo(VideoStreamTrack):
    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = VideoFrame(width=WIDTH, height=HEIGHT, format="yuv420p")
        for plane, value in zip(frame.planes, (LUMA, 128, 128), strict=True):
            plane.update(bytes([value]) * plane.buffer_size)
        frame.pts, frame.time_base = pts, time_base
        return frame


class Tone(AudioStreamTrack):
    async def recv(self) -> AudioFrame:
        frame = await super().recv()  # timing, pts and a silent 8 kHz mono s16 frame
        if not isinstance(frame, AudioFrame):
            raise TypeError("aiortc's AudioStreamTrack gave no audio frame")
        step = 2 * math.pi * TONE_HZ / frame.sample_rate
        start = frame.pts or 0
        samples = array(
            "h", (int(8000 * math.sin(step * (start + i))) for i in range(frame.samples))
        )
        frame.planes[0].update(samples.tobytes())
        return frame


def is_our_video(frame: VideoFrame) -> bool:
    plane = frame.planes[0]
    data = bytes(plane)
    rows = range(0, plane.height, 4)
    total = sum(sum(data[r * plane.line_size : r * plane.line_size + plane.width]) for r in rows)
    return abs(total / (len(rows) * plane.width) - LUMA) < LUMA_TOLERANCE


def is_our_audio(frame: AudioFrame) -> bool:
    channels = len(frame.layout.channels)
    samples = array("h", bytes(frame.planes[0])[: frame.samples * channels * 2])[::channels]
    if not samples or frame.format.name != "s16":
        return False
    if math.sqrt(sum(s * s for s in samples) / len(samples)) < AUDIBLE_RMS:
        return False
    crossings = sum(1 for a, b in itertools.pairwise(samples) if (a < 0) != (b < 0))
    heard = crossings * frame.sample_rate / (2 * len(samples))
    return abs(heard - TONE_HZ) < 0.15 * TONE_HZ


@dataclass
class Echo:
    """What came back."""

    video_frames: int = 0
    audio_frames: int = 0
    rtts: list[float] = field(default_factory=list)
    sent: dict[int, float] = field(default_factory=dict)  # ping number -> loop time


async def count_frames(track: MediaStreamTrack, echo: Echo) -> None:
    with contextlib.suppress(MediaStreamError):
        while True:
            frame = await track.recv()
            if isinstance(frame, VideoFrame) and is_our_video(frame):
                echo.video_frames += 1
            elif isinstance(frame, AudioFrame) and is_our_audio(frame):
                echo.audio_frames += 1


async def ping(channel: RTCDataChannel, opened: asyncio.Event, echo: Echo) -> None:
    loop = asyncio.get_running_loop()

    @channel.on("message")
    def pong(message: str | bytes) -> None:
        number = int(message[5:]) if isinstance(message, str) and message[5:].isdigit() else -1
        if number in echo.sent:
            echo.rtts.append(loop.time() - echo.sent.pop(number))

    await opened.wait()
    for number in itertools.count():
        if channel.readyState != "open":
            return
        echo.sent[number] = loop.time()
        channel.send(f"ping {number}")
        await asyncio.sleep(PING_INTERVAL)


class Api:
    """The pre-call HTTP API as the browser uses it (CSRF cookie and header)."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str) -> None:
        self.http, self.base = http, base_url

    async def call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        jar = {c.key: c.value for c in self.http.cookie_jar}
        csrf = jar.get(TLS_COOKIES.csrf) or jar.get(PLAIN_COOKIES.csrf)
        headers = {"X-CSRF-Token": csrf} if csrf and method != "GET" else {}
        async with self.http.request(method, self.base + path, json=body, headers=headers) as r:
            reply = await r.json(content_type=None)
        if not isinstance(reply, dict) or not reply.get("ok"):
            error = reply.get("error", {}) if isinstance(reply, dict) else {}
            code, message = error.get("code", f"http_{r.status}"), error.get("message", "")
            raise ProbeFailed(f"{method} {path} refused: {code} {message}".rstrip())
        data: dict[str, Any] = reply["data"]
        return data


async def probe(
    base_url: str,
    ice_servers: Sequence[Mapping[str, Any]],
    *,
    relay_only: bool,
    seconds: float,
) -> dict[str, Any]:
    """Run one pre-call check for `seconds` of media; returns {"ok", "rtt_ms",
    "video_frames", "audio_frames", "path", "report", "error"?}. Never raises for a
    network, server or ICE failure: that is `ok: false` with an `error`."""
    policy = RTCIceTransportPolicy.RELAY if relay_only else RTCIceTransportPolicy.ALL
    config = RTCConfiguration(
        iceServers=[ice_server(s) for s in ice_servers], iceTransportPolicy=policy
    )
    pc = RTCPeerConnection(config)
    echo = Echo()
    result: dict[str, Any] = {"ok": False, "report": None}
    tasks: list[asyncio.Task[None]] = []
    try:
        timeout = aiohttp.ClientTimeout(total=HTTP_SECONDS)
        jar = aiohttp.CookieJar(unsafe=True)  # the CSRF cookie also for an IP address
        async with aiohttp.ClientSession(timeout=timeout, cookie_jar=jar) as http:
            api = Api(http, base_url.rstrip("/"))
            result["report"] = await exchange(api, pc, echo, tasks, relay_only, seconds)
    except FAILURES as exc:
        result["error"] = str(exc) or type(exc).__name__
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        local, remote, _ = selected_pair(pc)
        await pc.close()
    result.update(
        rtt_ms=round(1000 * statistics.median(echo.rtts), 1) if echo.rtts else None,
        video_frames=echo.video_frames,
        audio_frames=echo.audio_frames,
        path=path_of(local, remote),
    )
    if "error" not in result:
        result["error"] = shortfall(result, relay_only)
        result["ok"] = result["error"] is None
        if result["ok"]:
            del result["error"]
    return result


async def exchange(
    api: Api,
    pc: RTCPeerConnection,
    echo: Echo,
    tasks: list[asyncio.Task[None]],
    relay_only: bool,
    seconds: float,
) -> dict[str, Any]:
    """Offer, answer, media for `seconds`, end; returns the server's final report."""
    await api.call("GET", "/api/precall")  # what the page would load first: the CSRF cookie
    connected, opened = asyncio.Event(), asyncio.Event()
    pc.addTrack(Tone())
    pc.addTrack(GreyVideo())
    channel = pc.createDataChannel(CHANNEL)
    channel.on("open", opened.set)
    tasks.append(asyncio.create_task(ping(channel, opened, echo)))

    @pc.on("track")
    def receive(track: MediaStreamTrack) -> None:
        tasks.append(asyncio.create_task(count_frames(track, echo)))

    @pc.on("connectionstatechange")
    def watch() -> None:
        if pc.connectionState in ("connected", "failed", "closed"):
            connected.set()

    await pc.setLocalDescription(await pc.createOffer())  # gathers every candidate
    if "a=candidate:" not in pc.localDescription.sdp:
        raise ProbeFailed("no ICE candidates gathered" + (" (is TURN reachable?)" * relay_only))
    offer = {"type": "offer", "sdp": pc.localDescription.sdp}
    answer = await api.call("POST", "/api/precall", offer)
    end = f"/api/precall/{answer['session_id']}"
    try:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
        try:
            async with asyncio.timeout(CONNECT_SECONDS):
                await connected.wait()
        except TimeoutError:
            raise ProbeFailed("ICE did not connect in time") from None
        if pc.connectionState != "connected":
            raise ProbeFailed(f"ICE {pc.connectionState}")
        # end before the server's time limit does, so that DELETE still finds the session
        await asyncio.sleep(min(seconds, max(float(answer["expires_in"]) - 1.0, 0.5)))
    except FAILURES:
        with contextlib.suppress(*FAILURES):  # free the server's peer now, not at its limit
            await api.call("DELETE", end)
        raise
    return await api.call("DELETE", end)


def shortfall(result: Mapping[str, Any], relay_only: bool) -> str | None:
    """Why a run that raised nothing still is not a success, or None."""
    if not result["video_frames"]:
        return "none of our video came back"
    if not result["audio_frames"]:
        return "none of our audio came back"
    if result["rtt_ms"] is None:
        return "no data channel echo came back"
    if relay_only and result["path"] != "relay":
        return f"the path was {result['path']}, not relay"
    return None
