"""Real WebRTC through Parley's signalling: two aiortc peers negotiate over the `rtc_signal`
relay alone and exchange audio and video; a removed participant can no longer signal."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.clients import Socket
from tests.flows import Advisor, Customer, invite_consultation, join_customer, login_advisor
from tests.rtc_peer import (
    VIDEO_HEIGHT,
    VIDEO_WIDTH,
    RtcPeer,
    first_channel,
    mean_luma,
    rms,
    zero_crossing_hz,
)

MEDIA_TIMEOUT = 20.0  # for all frames of both directions together
VIDEO_FRAMES = 5
AUDIO_FRAMES = 5  # audible ones; the first decoded frames may be silence
AUDIO_FRAMES_MAX = 250  # 5 s of 20 ms frames

# what each side sends, different so each side can tell its peer's frames from its own
CUSTOMER_LUMA, CUSTOMER_TONE_HZ = 200, 400.0
ADVISOR_LUMA, ADVISOR_TONE_HZ = 50, 1000.0


async def joined_pair(server: Any, seed_advisor: Any) -> tuple[Advisor, Customer, str, str]:
    """The steps of `flows.admitted_pair`, keeping the `room_join` answers: the advisor joins
    first, the customer last. Returns advisor, customer, consultation id, advisor's
    participant id."""
    advisor = await login_advisor(server, await seed_advisor())
    cid, token = await invite_consultation(advisor)
    customer = await join_customer(server, invite=token)
    ref = {"consultation_id": cid, "participant_id": customer.participant_id}
    await advisor.sock.ok("lobby_admit", ref)
    await customer.sock.until("lobby_state", lambda d: d["status"] == "admitted")
    advisor_room = await advisor.sock.ok("room_join", {"consultation_id": cid})
    advisor_id = advisor_room["self"]["id"]
    # admitted but not yet in the room: listed, not connected, not to be negotiated with
    waiting = [(p["id"], p["connected"]) for p in advisor_room["participants"]]
    assert waiting == [(customer.participant_id, False)]
    customer_room = await customer.sock.ok("room_join", {"consultation_id": cid})
    assert customer_room["self"]["id"] == customer.participant_id
    # the one who joins last learns who is there, and negotiates with each of them
    present = [(p["id"], p["connected"]) for p in customer_room["participants"]]
    assert present == [(advisor_id, True)]
    joined = await advisor.sock.next("participant_joined")
    assert joined["participant"]["id"] == customer.participant_id
    return advisor, customer, cid, advisor_id


async def expect_media(peer: RtcPeer, luma: int, tone_hz: float) -> None:
    """Receive video and audio frames from `peer`'s remote, with the remote's pattern."""

    async def video() -> None:
        track = await peer.remote_track("video")
        for _ in range(VIDEO_FRAMES):
            frame = await track.recv()
            assert frame.width > 0 and frame.height > 0
            assert (frame.width, frame.height) == (VIDEO_WIDTH, VIDEO_HEIGHT)
            assert abs(mean_luma(frame) - luma) < 16, (mean_luma(frame), luma)

    async def audio() -> None:
        track = await peer.remote_track("audio")
        audible = []
        for _ in range(AUDIO_FRAMES_MAX):
            frame = await track.recv()
            assert frame.sample_rate > 0 and frame.samples > 0
            samples = first_channel(frame)
            assert len(samples) == frame.samples
            if rms(samples) > 1500:
                audible.append((samples, frame.sample_rate))
                if len(audible) == AUDIO_FRAMES:
                    break
        assert len(audible) == AUDIO_FRAMES, f"only {len(audible)} audible audio frames"
        heard = sorted(zero_crossing_hz(s, rate) for s, rate in audible)[AUDIO_FRAMES // 2]
        assert abs(heard - tone_hz) < 0.15 * tone_hz, (heard, tone_hz)

    await asyncio.gather(video(), audio())


@pytest.mark.e2e
async def test_two_aiortc_peers_exchange_audio_and_video_through_rtc_signal(server, seed_advisor):
    advisor, customer, cid, advisor_id = await joined_pair(server, seed_advisor)
    caller = RtcPeer(customer.sock, cid, customer.participant_id, advisor_id)
    callee = RtcPeer(advisor.sock, cid, advisor_id, customer.participant_id)
    try:
        # the customer joined last, so it offers; the advisor answers the first rtc_signal
        caller.add_tracks(CUSTOMER_LUMA, CUSTOMER_TONE_HZ)
        await caller.offer()
        offer = await callee.receive_description("offer")
        assert offer.sdp == caller.pc.localDescription.sdp  # relayed unchanged
        assert "a=candidate:" in offer.sdp
        await callee.answer(offer, ADVISOR_LUMA, ADVISOR_TONE_HZ)
        answer = await caller.receive_description("answer")
        assert answer.sdp == callee.pc.localDescription.sdp
        await caller.pc.setRemoteDescription(answer)

        async with asyncio.timeout(MEDIA_TIMEOUT):
            await asyncio.gather(
                expect_media(callee, CUSTOMER_LUMA, CUSTOMER_TONE_HZ),  # advisor hears customer
                expect_media(caller, ADVISOR_LUMA, ADVISOR_TONE_HZ),  # customer hears advisor
            )
        assert caller.pc.connectionState == callee.pc.connectionState == "connected"
        # each side got exactly its peer's description and end-of-candidates, nothing else
        assert len(customer.sock.received("rtc_signal")) == 2
        assert len(advisor.sock.received("rtc_signal")) == 2
    finally:
        await asyncio.gather(caller.close(), callee.close())


CANDIDATE = {
    "candidate": "candidate:1 1 udp 2130706431 192.0.2.2 50000 typ host",
    "sdpMid": "0",
    "sdpMLineIndex": 0,
}


async def round_trip(sock: Socket, event: str) -> None:
    """An acknowledged call: anything the server sent this socket before it has arrived."""
    await sock.ok(event)


async def test_removed_participant_cannot_signal(server, seed_advisor):
    advisor, customer, cid, advisor_id = await joined_pair(server, seed_advisor)
    to_advisor = {"consultation_id": cid, "to": advisor_id, "candidate": CANDIDATE}
    to_customer = {"consultation_id": cid, "to": customer.participant_id, "candidate": CANDIDATE}

    # while both are in the room, the same messages are relayed
    await customer.sock.ok("rtc_signal", to_advisor)
    relayed = await advisor.sock.next("rtc_signal")
    assert relayed["from"] == customer.participant_id
    assert relayed["consultation_id"] == cid
    assert {k: relayed["candidate"][k] for k in CANDIDATE} == CANDIDATE
    await advisor.sock.ok("rtc_signal", to_customer)
    assert (await customer.sock.next("rtc_signal"))["from"] == advisor_id

    ref = {"consultation_id": cid, "participant_id": customer.participant_id}
    await advisor.sock.ok("participant_remove", ref)
    await customer.sock.until("lobby_state", lambda d: d["status"] == "removed")
    await advisor.sock.until("participant_left", lambda d: d["reason"] == "removed")

    for body in (to_advisor, {"consultation_id": cid, "to": advisor_id, "end_of_candidates": True}):
        refused = await customer.sock.call("rtc_signal", body)
        assert refused["ok"] is False, refused
        assert refused["error"]["code"] == "not_authorised", refused
    # the refusal was answered after any relay would have been emitted; the advisor's own
    # acknowledged call is answered after anything emitted to the advisor before it
    await round_trip(advisor.sock, "dashboard_get")
    assert len(advisor.sock.received("rtc_signal")) == 1

    # nor can the advisor signal the removed customer
    refused = await advisor.sock.call("rtc_signal", to_customer)
    assert refused["ok"] is False and refused["error"]["code"] == "not_authorised", refused
    await round_trip(customer.sock, "lobby_status")
    assert len(customer.sock.received("rtc_signal")) == 1
