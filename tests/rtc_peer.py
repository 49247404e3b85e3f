"""An aiortc peer that negotiates only through Parley's `rtc_signal` relay, and media
tracks with a recognisable pattern (flat luma for video, a pure tone for audio) so a test
can tell which peer a received frame came from."""

from __future__ import annotations

import asyncio
import itertools
import math
from array import array
from typing import Any

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack
from av import AudioFrame, VideoFrame

from tests.clients import WAIT, Socket

VIDEO_WIDTH, VIDEO_HEIGHT = 320, 240


class FlatVideoTrack(VideoStreamTrack):
    """320x240 frames of one grey level (luma `luma`, neutral chroma)."""

    def __init__(self, luma: int) -> None:
        super().__init__()
        self.luma = luma

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = VideoFrame(width=VIDEO_WIDTH, height=VIDEO_HEIGHT, format="yuv420p")
        for plane, value in zip(frame.planes, (self.luma, 128, 128), strict=True):
            plane.update(bytes([value]) * plane.buffer_size)
        frame.pts, frame.time_base = pts, time_base
        return frame


class ToneAudioTrack(AudioStreamTrack):
    """A continuous sine tone of `frequency` Hz (8 kHz mono s16, 20 ms frames)."""

    def __init__(self, frequency: float, amplitude: int = 8000) -> None:
        super().__init__()
        self.frequency, self.amplitude = frequency, amplitude

    async def recv(self) -> AudioFrame:
        frame = await super().recv()  # timing, pts and an all-silent frame
        rate, start = frame.sample_rate, frame.pts
        step = 2 * math.pi * self.frequency / rate
        samples = array(
            "h", (int(self.amplitude * math.sin(step * (start + i))) for i in range(frame.samples))
        )
        frame.planes[0].update(samples.tobytes())
        return frame


def mean_luma(frame: VideoFrame) -> float:
    """Average of the Y plane, ignoring line padding."""
    plane = frame.planes[0]
    data = bytes(plane)
    total = sum(
        sum(data[row * plane.line_size : row * plane.line_size + plane.width])
        for row in range(plane.height)
    )
    return total / (plane.width * plane.height)


def first_channel(frame: AudioFrame) -> array[int]:
    """The samples of the first channel of a packed s16 frame."""
    assert frame.format.name == "s16", frame.format.name
    channels = len(frame.layout.channels)
    samples = array("h", bytes(frame.planes[0])[: frame.samples * channels * 2])
    return samples[::channels]


def rms(samples: array[int]) -> float:
    return math.sqrt(sum(s * s for s in samples) / len(samples)) if samples else 0.0


def zero_crossing_hz(samples: array[int], sample_rate: int) -> float:
    """A rough frequency estimate of a pure tone: sign changes per second / 2."""
    crossings = sum(1 for a, b in itertools.pairwise(samples) if (a < 0) != (b < 0))
    return crossings * sample_rate / (2 * len(samples))


class RtcPeer:
    """One side of one peer connection, signalled only through `rtc_signal`."""

    def __init__(self, sock: Socket, consultation_id: str, self_id: str, peer_id: str) -> None:
        self.sock = sock
        self.consultation_id = consultation_id
        self.self_id = self_id
        self.peer_id = peer_id
        # no STUN/TURN servers: host candidates are enough on one machine, and aiortc's
        # default (a public STUN server) would reach outside
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        loop = asyncio.get_running_loop()
        self.tracks: dict[str, asyncio.Future[MediaStreamTrack]] = {
            "audio": loop.create_future(),
            "video": loop.create_future(),
        }

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            future = self.tracks[track.kind]
            assert not future.done(), f"second remote {track.kind} track"
            future.set_result(track)

    def add_tracks(self, video_luma: int, tone_hz: float) -> None:
        self.pc.addTrack(ToneAudioTrack(tone_hz))
        self.pc.addTrack(FlatVideoTrack(video_luma))

    async def signal(self, **body: Any) -> None:
        """Send one `rtc_signal` to the peer; the ack must be ok."""
        payload = {"consultation_id": self.consultation_id, "to": self.peer_id, **body}
        await self.sock.ok("rtc_signal", payload)

    async def send_local_description(self) -> None:
        # aiortc has gathered every candidate by now: they are all in the SDP
        local = self.pc.localDescription
        await self.signal(description={"type": local.type, "sdp": local.sdp})
        await self.signal(end_of_candidates=True)

    async def next_signal(self) -> dict[str, Any]:
        """The next `rtc_signal` delivered to this socket; it must come from the peer."""
        message: dict[str, Any] = await self.sock.next("rtc_signal", WAIT)
        assert message["from"] == self.peer_id, message
        assert message["consultation_id"] == self.consultation_id, message
        return message

    async def receive_description(self, expected_type: str) -> RTCSessionDescription:
        """Receive the peer's description and then its end-of-candidates marker."""
        message = await self.next_signal()
        assert set(message) == {"consultation_id", "from", "description"}, message
        description = message["description"]
        assert description["type"] == expected_type, description["type"]
        end = await self.next_signal()
        assert end == {
            "consultation_id": self.consultation_id,
            "from": self.peer_id,
            "candidate": None,
        }, end
        return RTCSessionDescription(sdp=description["sdp"], type=description["type"])

    async def offer(self) -> None:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        await self.send_local_description()

    async def answer(self, offer: RTCSessionDescription, video_luma: int, tone_hz: float) -> None:
        """Take the peer's offer, attach our tracks to the transceivers it created, answer."""
        await self.pc.setRemoteDescription(offer)
        self.add_tracks(video_luma, tone_hz)
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        await self.send_local_description()

    async def remote_track(self, kind: str) -> MediaStreamTrack:
        return await self.tracks[kind]

    async def close(self) -> None:
        await self.pc.close()
