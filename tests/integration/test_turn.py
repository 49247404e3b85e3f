"""TURN with a real coturn: Parley hands an admitted participant short-lived TURN REST API
credentials in the `room_join` answer; two aiortc peers that may use relay candidates only
(iceTransportPolicy "relay") take them, negotiate through `rtc_signal` alone and hear and see
each other through coturn. coturn refuses expired and forged credentials, and a customer
still in the lobby gets none."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aioice import stun
from aioice.turn import create_turn_endpoint
from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
)
from aiortc.rtcicetransport import RTCIceTransport

from signaling.turn import turn_credentials
from tests.clients import WAIT, Socket
from tests.coturn import Coturn, running_coturn
from tests.flows import Advisor, Customer, invite_consultation, join_customer, login_advisor
from tests.integration.test_webrtc import (
    ADVISOR_LUMA,
    ADVISOR_TONE_HZ,
    CUSTOMER_LUMA,
    CUSTOMER_TONE_HZ,
    MEDIA_TIMEOUT,
    expect_media,
)
from tests.rtc_peer import RtcPeer

TTL = 600  # turn_ttl_seconds for these tests, not the default, to see that it is used


@pytest.fixture
def coturn(tmp_path: Path) -> Iterator[Coturn]:
    with running_coturn(tmp_path / "coturn") as turn:
        yield turn
        # shown by pytest only when the test failed
        print(f"coturn log ({turn.log_path}), last lines:\n{turn.log_tail()}")


@pytest.fixture
def settings_overrides(coturn: Coturn) -> dict[str, Any]:
    """Parley and coturn share the secret, as in docker-compose.yml."""
    return {"turn_urls": [coturn.url], "turn_secret": coturn.secret, "turn_ttl_seconds": TTL}


# --- helpers ------------------------------------------------------------------------------


def hmac_password(secret: str, username: str) -> str:
    """What coturn computes for `use-auth-secret`, written out here independently."""
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def expiry_of(username: str) -> datetime:
    expiry, _, _ = username.partition(":")
    return datetime.fromtimestamp(int(expiry), UTC)


def turn_entry(ack: dict[str, Any]) -> dict[str, Any]:
    """The one TURN server of a `room_join` answer (these tests configure no STUN)."""
    (server,) = ack["ice_servers"]
    assert set(server) == {"urls", "username", "credential"}, server
    return server


def check_credentials(
    server: dict[str, Any], participant_id: str, secret: str, issued: tuple[datetime, datetime]
) -> None:
    """Username "<expiry>:<participant id>", expiry TTL after the join (between the moments
    around it, to the second), password the HMAC of the username under the shared secret."""
    expiry, _, user = server["username"].partition(":")
    assert user == participant_id, server["username"]
    earliest, latest = (moment + timedelta(seconds=TTL) for moment in issued)
    assert int(earliest.timestamp()) <= int(expiry) <= int(latest.timestamp()), (
        expiry_of(server["username"]),
        issued,
    )
    assert server["credential"] == hmac_password(secret, server["username"])


def rtc_ice_servers(servers: list[dict[str, Any]]) -> list[RTCIceServer]:
    return [
        RTCIceServer(
            urls=server["urls"],
            username=server.get("username"),
            credential=server.get("credential"),
        )
        for server in servers
    ]


def relay_only(servers: list[dict[str, Any]]) -> RTCConfiguration:
    # aiortc wants the enum: the string "relay" is not looked up
    return RTCConfiguration(
        iceServers=rtc_ice_servers(servers), iceTransportPolicy=RTCIceTransportPolicy.RELAY
    )


class RelayPeer(RtcPeer):
    """An `RtcPeer` whose connection has the given ICE servers and may use relay candidates
    only (`RtcPeer` itself uses none, host candidates being enough on one machine)."""

    def __init__(
        self,
        sock: Socket,
        consultation_id: str,
        self_id: str,
        peer_id: str,
        servers: list[dict[str, Any]],
    ) -> None:
        super().__init__(sock, consultation_id, self_id, peer_id)
        # the base class's connection has done nothing yet; take its track handler over
        (on_track,) = self.pc.listeners("track")
        self.pc = RTCPeerConnection(relay_only(servers))
        self.pc.on("track", on_track)


def candidate_lines(sdp: str) -> list[list[str]]:
    """`a=candidate:<foundation> <component> <transport> <priority> <address> <port> typ
    <type> ...` lines of a description, split into fields."""
    return [line.split() for line in sdp.splitlines() if line.startswith("a=candidate:")]


def assert_relay_candidates_only(sdp: str, coturn: Coturn) -> None:
    lines = candidate_lines(sdp)
    assert lines, f"no candidates at all:\n{sdp}"
    for fields in lines:
        assert fields[6:8] == ["typ", "relay"], " ".join(fields)
        # allocated by this coturn: its relay address and port range
        assert fields[4] == coturn.host and int(fields[5]) in coturn.relay_ports, fields


def ice_transports(pc: RTCPeerConnection) -> list[RTCIceTransport]:
    found: list[RTCIceTransport] = []
    for transceiver in pc.getTransceivers():
        ice = transceiver.sender.transport.transport
        if ice not in found:
            found.append(ice)
    return found


async def joined_pair_with_acks(
    server: Any, seed_advisor: Any
) -> tuple[Advisor, Customer, str, dict[str, Any], dict[str, Any], tuple[datetime, datetime]]:
    """The steps of `flows.admitted_pair`, keeping both `room_join` answers and the moments
    around the two joins. The customer joins last."""
    advisor = await login_advisor(server, await seed_advisor())
    cid, token = await invite_consultation(advisor)
    customer = await join_customer(server, invite=token)
    ref = {"consultation_id": cid, "participant_id": customer.participant_id}
    await advisor.sock.ok("lobby_admit", ref)
    await customer.sock.until("lobby_state", lambda d: d["status"] == "admitted")
    before = datetime.now(UTC)
    advisor_ack = await advisor.sock.ok("room_join", {"consultation_id": cid})
    customer_ack = await customer.sock.ok("room_join", {"consultation_id": cid})
    after = datetime.now(UTC)
    assert [p["id"] for p in customer_ack["participants"]] == [advisor_ack["self"]["id"]]
    await advisor.sock.until(
        "participant_joined", lambda d: d["participant"]["id"] == customer.participant_id
    )
    return advisor, customer, cid, advisor_ack, customer_ack, (before, after)


class Allocation(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)


async def allocate(coturn: Coturn, username: str, password: str) -> tuple[str, int]:
    """A TURN allocation on coturn (aioice's TURN client over UDP); its relayed address.
    The allocation is deleted again before this returns."""
    async with asyncio.timeout(WAIT):
        transport, allocation = await create_turn_endpoint(
            Allocation, coturn.address, username, password
        )
        try:
            relayed = transport.get_extra_info("sockname")
            assert relayed is not None
            return relayed[0], relayed[1]
        finally:
            transport.close()  # a REFRESH with lifetime 0, then the socket is closed
            await allocation.lost


async def assert_refused(coturn: Coturn, username: str, password: str) -> None:
    with pytest.raises(stun.TransactionFailed) as refused:
        await allocate(coturn, username, password)
    assert refused.value.response.attributes["ERROR-CODE"][0] == 401, refused.value


# --- relayed media ------------------------------------------------------------------------


@pytest.mark.e2e
async def test_two_peers_relay_audio_and_video_through_coturn(server, seed_advisor, coturn):
    advisor, customer, cid, advisor_ack, customer_ack, issued = await joined_pair_with_acks(
        server, seed_advisor
    )
    advisor_id = advisor_ack["self"]["id"]
    # each participant got its own credentials for this coturn, valid TTL from the join
    for ack, participant_id in ((advisor_ack, advisor_id), (customer_ack, customer.participant_id)):
        entry = turn_entry(ack)
        assert entry["urls"] == [coturn.url]
        check_credentials(entry, participant_id, coturn.secret, issued)

    caller = RelayPeer(
        customer.sock, cid, customer.participant_id, advisor_id, customer_ack["ice_servers"]
    )
    callee = RelayPeer(
        advisor.sock, cid, advisor_id, customer.participant_id, advisor_ack["ice_servers"]
    )
    try:
        # every step is bounded: a signal by WAIT, gathering by aioice's own 5 s
        caller.add_tracks(CUSTOMER_LUMA, CUSTOMER_TONE_HZ)
        await caller.offer()
        offer = await callee.receive_description("offer")
        assert offer.sdp == caller.pc.localDescription.sdp  # relayed unchanged
        assert_relay_candidates_only(offer.sdp, coturn)
        await callee.answer(offer, ADVISOR_LUMA, ADVISOR_TONE_HZ)
        answer = await caller.receive_description("answer")
        assert answer.sdp == callee.pc.localDescription.sdp
        assert_relay_candidates_only(answer.sdp, coturn)
        await caller.pc.setRemoteDescription(answer)

        async with asyncio.timeout(MEDIA_TIMEOUT):
            await asyncio.gather(
                expect_media(callee, CUSTOMER_LUMA, CUSTOMER_TONE_HZ),  # advisor hears customer
                expect_media(caller, ADVISOR_LUMA, ADVISOR_TONE_HZ),  # customer hears advisor
            )
        assert caller.pc.connectionState == callee.pc.connectionState == "connected"
        # the only candidates either side had, local or remote, were coturn relays, so the
        # pair the media flowed over was relay to relay
        for pc in (caller.pc, callee.pc):
            transports = ice_transports(pc)
            assert len(transports) == 1  # bundled
            (ice,) = transports
            assert ice.state == "completed", ice.state
            local = ice.iceGatherer.getLocalCandidates()
            remote = ice.getRemoteCandidates()
            assert local and remote
            assert {c.type for c in local} == {c.type for c in remote} == {"relay"}
        # negotiation went through Parley's relay alone: a description and end-of-candidates
        assert len(customer.sock.received("rtc_signal")) == 2
        assert len(advisor.sock.received("rtc_signal")) == 2
    finally:
        await asyncio.gather(caller.close(), callee.close())


# --- refusals -----------------------------------------------------------------------------

Forge = Callable[[str, str, str, str], tuple[str, str]]


def expired(secret: str, user: str, username: str, password: str) -> tuple[str, str]:
    """Correctly signed, but the expiry was 10 minutes ago."""
    return turn_credentials(secret, user, datetime.now(UTC) - timedelta(minutes=10))


def forged_password(secret: str, user: str, username: str, password: str) -> tuple[str, str]:
    """The genuine username with a password that is not its HMAC."""
    return username, base64.b64encode(secrets.token_bytes(20)).decode()


def other_secret(secret: str, user: str, username: str, password: str) -> tuple[str, str]:
    """Signed, but with a secret other than the one coturn and Parley share."""
    return username, hmac_password(secrets.token_hex(32), username)


def extended(secret: str, user: str, username: str, password: str) -> tuple[str, str]:
    """The genuine password with the expiry pushed a day further."""
    later = int(expiry_of(username).timestamp()) + 86400
    return f"{later}:{user}", password


@pytest.mark.e2e
@pytest.mark.parametrize("forge", [expired, forged_password, other_secret, extended])
async def test_coturn_refuses_expired_and_forged_credentials(
    server, seed_advisor, coturn, forge: Forge
):
    _, customer, _, _, customer_ack, _ = await joined_pair_with_acks(server, seed_advisor)
    genuine = turn_entry(customer_ack)
    # control: the credentials Parley issued do get an allocation on coturn's relay range
    host, port = await allocate(coturn, genuine["username"], genuine["credential"])
    assert host == coturn.host and port in coturn.relay_ports

    username, password = forge(
        coturn.secret, customer.participant_id, genuine["username"], genuine["credential"]
    )
    assert (username, password) != (genuine["username"], genuine["credential"])
    await assert_refused(coturn, username, password)

    # a browser-like peer with relay policy then has no candidate to offer at all
    bad = [{"urls": genuine["urls"], "username": username, "credential": password}]
    pc = RTCPeerConnection(relay_only(bad))
    try:
        pc.addTransceiver("audio")
        async with asyncio.timeout(WAIT):
            await pc.setLocalDescription(await pc.createOffer())
        assert candidate_lines(pc.localDescription.sdp) == [], pc.localDescription.sdp
    finally:
        await pc.close()


# --- who gets credentials, and for how long --------------------------------------------------


class TestIssue:
    """Parley's side alone: no coturn is needed, so these run on a clock the test moves."""

    SECRET = "issue-test-secret"

    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {
            "turn_urls": ["turn:turn.parley.test:3478?transport=udp"],
            "turn_secret": self.SECRET,
            "turn_ttl_seconds": TTL,
        }

    @pytest.fixture
    def server_clock(self, clock):
        return clock

    async def test_a_customer_in_the_lobby_gets_no_ice_servers(self, server, seed_advisor):
        advisor = await login_advisor(server, await seed_advisor())
        cid, token = await invite_consultation(advisor)
        customer = await join_customer(server, invite=token)

        refused = await customer.sock.call("room_join", {"consultation_id": cid})
        assert refused["ok"] is False, refused
        assert refused["error"]["code"] == "not_authorised", refused
        assert "ice_servers" not in json.dumps(refused)
        # nothing the waiting customer has been sent names a TURN server or credentials
        status, lobby = await customer.http.get("/api/session")
        assert status == 200, lobby
        seen = json.dumps([customer.sock.log, lobby])
        for needle in ("ice_servers", "turn:", "turn.parley.test", "credential"):
            assert needle not in seen, needle

        # once admitted, the same call carries them
        ref = {"consultation_id": cid, "participant_id": customer.participant_id}
        await advisor.sock.ok("lobby_admit", ref)
        await customer.sock.until("lobby_state", lambda d: d["status"] == "admitted")
        joined = await customer.sock.ok("room_join", {"consultation_id": cid})
        assert turn_entry(joined)["username"].endswith(f":{customer.participant_id}")

    async def test_credentials_expire_ttl_seconds_after_issue(self, server, seed_advisor, clock):
        advisor = await login_advisor(server, await seed_advisor())
        cid, token = await invite_consultation(advisor)
        customer = await join_customer(server, invite=token)
        ref = {"consultation_id": cid, "participant_id": customer.participant_id}
        await advisor.sock.ok("lobby_admit", ref)
        await customer.sock.until("lobby_state", lambda d: d["status"] == "admitted")

        clock.advance(minutes=3)
        issued_at = clock.now
        ack = await customer.sock.ok("room_join", {"consultation_id": cid})
        entry = turn_entry(ack)
        assert entry["urls"] == ["turn:turn.parley.test:3478?transport=udp"]
        check_credentials(entry, customer.participant_id, self.SECRET, (issued_at, issued_at))
        assert expiry_of(entry["username"]) == issued_at + timedelta(seconds=TTL)

        # joining again later (a reload, a reconnect) issues fresh ones, from that moment
        clock.advance(minutes=25)
        again = turn_entry(await customer.sock.ok("room_join", {"consultation_id": cid}))
        assert expiry_of(again["username"]) == clock.now + timedelta(seconds=TTL)
        assert again["credential"] == hmac_password(self.SECRET, again["username"])
        assert again["credential"] != entry["credential"]
