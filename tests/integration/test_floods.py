"""Floods: one client sending 1,000 events a second, 200 sockets from one address, and
password and invite-link guessing. The limits engage with `limit_exceeded`, a flooding
connection is closed with a reason, and a quiet consultation keeps working throughout.
(How long the quiet consultation's round trips take during a flood is measured in
`python -m bench flood`, not here: no timing goals in tests.)"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import time
from typing import Any

import pytest
import socketio
from pycrdt import Doc

from tests.boards import add_element, edit
from tests.clients import WAIT, Socket
from tests.flows import admitted_pair, invite_consultation, login_advisor

FLOOD_EVENTS = 20_000  # a bound; the server closes the flooder long before


@pytest.fixture
def settings_overrides():
    # the test client is the proxy here, so X-Forwarded-For stands for other addresses
    return {"trusted_proxies": ["127.0.0.1/32"]}


async def quiet_chat(sender: Socket, receiver: Socket, cid: str, stop: asyncio.Event) -> int:
    """Chat in a consultation of its own until `stop`; every message is acknowledged and
    arrives. Returns how many were sent."""
    n = 0
    while not stop.is_set() or n < 5:
        n += 1
        ack = await sender.ok(
            "chat_send", {"consultation_id": cid, "client_id": f"quiet-{n:06d}", "body": f"q{n}"}
        )
        got = await receiver.until(
            "chat_message", lambda m, n=n: m["client_id"] == f"quiet-{n:06d}"
        )
        assert got["seq"] == ack["seq"]
        await asyncio.sleep(0.01)
    return n


async def test_a_flood_of_events_is_refused_and_its_connection_closed(server, seed_advisor):
    advisor, flooder, cid = await admitted_pair(server, seed_advisor)
    quiet_advisor, quiet_customer, quiet_cid = await admitted_pair(server, seed_advisor)
    doc_update = edit(Doc(), add_element("e1", kind="rect"))

    acks: list[dict[str, Any]] = []
    sent_chat: list[str] = []

    room = await advisor.sock.ok("room_join", {"consultation_id": cid})
    advisor_pid = room["self"]["id"]

    def payload(i: int) -> tuple[str, dict[str, Any]]:
        if i % 3 == 0:
            sent_chat.append(f"flood-{i:06d}")
            return "chat_send", {"consultation_id": cid, "client_id": sent_chat[-1], "body": "x"}
        if i % 3 == 1:
            signal = {"consultation_id": cid, "to": advisor_pid, "end_of_candidates": True}
            return "rtc_signal", signal
        return "board_update", {"consultation_id": cid, "update": doc_update}

    stop = asyncio.Event()
    quiet = asyncio.create_task(
        quiet_chat(quiet_customer.sock, quiet_advisor.sock, quiet_cid, stop)
    )
    try:
        # about 1,000 events a second, on schedule however slow a send is, until the
        # server closes the connection (at most FLOOD_EVENTS)
        started, i = time.perf_counter(), 0
        while flooder.sock.sio.connected and i < FLOOD_EVENTS:
            due = min(int((time.perf_counter() - started) * 1000), FLOOD_EVENTS)
            while i < due and flooder.sock.sio.connected:
                event, data = payload(i)
                i += 1
                try:
                    await flooder.sock.sio.emit(event, data, callback=acks.append)
                except socketio.exceptions.SocketIOError:
                    break
            await asyncio.sleep(0.002)
        closed = await flooder.sock.next("session_closed")
        assert closed == {"reason": "flood"}
    finally:
        stop.set()
        sent_quiet = await quiet
    assert sent_quiet >= 5

    codes = [a["error"]["code"] for a in acks if not a["ok"]]
    accepted = [a for a in acks if a["ok"]]
    assert codes and set(codes) == {"limit_exceeded"}, set(codes)
    assert accepted and len(accepted) + len(codes) <= i < FLOOD_EVENTS
    async with asyncio.timeout(WAIT):
        while flooder.sock.sio.connected:
            await asyncio.sleep(0.02)

    # the flood stored no chat message twice and nothing it was refused
    _, body = await advisor.http.get(f"/api/consultations/{cid}/chat?limit=500")
    stored = [m["client_id"] for m in body["data"]["messages"]]
    assert len(stored) == len(set(stored)) and set(stored) <= set(sent_chat)
    assert len(stored) < len(sent_chat)
    # the quiet consultation's record is complete and in order
    _status, body = await quiet_advisor.http.get(f"/api/consultations/{quiet_cid}/chat?limit=500")
    assert [m["client_id"] for m in body["data"]["messages"]] == [
        f"quiet-{n:06d}" for n in range(1, sent_quiet + 1)
    ]
    # the flooder may come back (its place is kept for the grace period), at a sane pace
    again = await server.socket(flooder.http)
    await again.ok("room_join", {"consultation_id": cid})
    await again.ok("chat_send", {"consultation_id": cid, "client_id": "after-flood", "body": "hi"})
    assert (await server.http().get("/healthz"))[0] == 200


async def connect_from(server, cookie: str, address: str | None) -> Socket:
    sock = Socket()
    headers = {"Cookie": cookie, "Origin": server.url}
    if address is not None:
        headers["X-Forwarded-For"] = address
    with contextlib.suppress(socketio.exceptions.ConnectionError):
        await sock.sio.connect(
            server.url, headers=headers, transports=["websocket"], wait_timeout=WAIT
        )
    return sock


async def test_two_hundred_sockets_from_one_address(server, seed_advisor):
    limit = server.settings.connections_per_address
    advisor = await login_advisor(server, await seed_advisor())  # one socket of its own
    cookie = advisor.http.cookie_header()
    socks: list[Socket] = []
    for _start in range(0, 200, 25):
        socks += await asyncio.gather(*(connect_from(server, cookie, None) for _ in range(25)))
    try:
        connected = [s for s in socks if s.sio.connected]
        refused = [s for s in socks if not s.sio.connected]
        assert len(connected) == limit - 1 and len(refused) == 200 - (limit - 1)
        assert {s.refusal["data"]["code"] for s in refused} == {"limit_exceeded"}
        # other addresses (behind the trusted proxy) are not affected
        elsewhere = await connect_from(server, cookie, "203.0.113.7")
        assert elsewhere.sio.connected
        await elsewhere.close()
        # one closed socket makes room for one more
        await connected[0].close()
        async with asyncio.timeout(WAIT):
            while True:
                late = await connect_from(server, cookie, None)
                if late.sio.connected:
                    break
                await asyncio.sleep(0.05)
        socks.append(late)
        assert (await advisor.sock.ok("dashboard_get")) is not None
    finally:
        await asyncio.gather(*(s.close() for s in socks if s.sio.connected))


async def post_from(http, path: str, body: Any, address: str) -> tuple[int, dict[str, Any]]:
    return await http.request("POST", path, body, headers={"X-Forwarded-For": address})


async def get_from(http, path: str, address: str) -> tuple[int, dict[str, Any]]:
    return await http.request("GET", path, headers={"X-Forwarded-For": address})


async def test_password_guessing_is_limited_per_address(server, seed_advisor):
    seed = await seed_advisor()
    http = server.http()
    wrong = {"username": seed["username"], "password": "wrong password"}
    right = {"username": seed["username"], "password": seed["password"]}
    for _ in range(server.settings.login_failures_per_minute):
        status, body = await post_from(http, "/api/auth/login", wrong, "198.51.100.1")
        assert (status, body["error"]["code"]) == (401, "invalid_credentials")
    for attempt in (wrong, right):  # now even the right password is refused from there
        status, body = await post_from(http, "/api/auth/login", attempt, "198.51.100.1")
        assert (status, body["error"]["code"]) == (429, "limit_exceeded")
    status, _ = await post_from(server.http(), "/api/auth/login", right, "198.51.100.2")
    assert status == 200


def guessed_token() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()


async def test_invite_guessing_is_limited_per_address(server, seed_advisor):
    advisor = await login_advisor(server, await seed_advisor())
    _, token = await invite_consultation(advisor)
    http = server.http()
    join = {
        "first_name": "Max",
        "last_name": "Muster",
        "notice_version": server.settings.notice_version,
    }
    limit = server.settings.token_failures_per_minute
    for n in range(limit):
        if n % 2:
            status, body = await get_from(http, f"/api/join/invite/{guessed_token()}", "192.0.2.9")
        else:
            status, body = await post_from(
                http, "/api/join", {**join, "invite": guessed_token()}, "192.0.2.9"
            )
        assert (status, body["error"]["code"]) == (404, "invite_invalid")
    status, body = await get_from(http, f"/api/join/invite/{token}", "192.0.2.9")
    assert (status, body["error"]["code"]) == (429, "limit_exceeded")
    status, body = await post_from(http, "/api/join", {**join, "invite": token}, "192.0.2.9")
    assert (status, body["error"]["code"]) == (429, "limit_exceeded")
    # the invite itself still works, from anywhere else; nobody joined from the guesser
    status, body = await post_from(
        server.http(), "/api/join", {**join, "invite": token}, "192.0.2.10"
    )
    assert status == 201
    dashboard = await advisor.sock.ok("dashboard_get")
    assert len(dashboard["consultations"][0]["waiting"]) == 1


@pytest.mark.parametrize("settings_overrides", [{"events_per_second": 2, "flood_refusals": 1000}])
async def test_the_event_rate_is_a_persons_not_a_sockets(server, seed_advisor):
    """A second tab or a reconnect gets no fresh burst: the bucket (2 a second, 4 at once)
    belongs to the account or participant, so a flooder cannot reset it by reconnecting."""
    advisor = await login_advisor(server, await seed_advisor())
    loop = asyncio.get_running_loop()

    async def burst(sock: Socket, n: int) -> int:
        """n events at once; how many were let through (not refused as too fast)."""
        acks = await asyncio.gather(*(sock.call("dashboard_get") for _ in range(n)))
        refused = [a for a in acks if not a["ok"]]
        assert all(a["error"]["code"] == "limit_exceeded" for a in refused), refused
        return n - len(refused)

    assert await burst(advisor.sock, 6) == 4  # the burst, and then refusals
    emptied = loop.time()
    second_tab = await server.socket(advisor.http)
    through = await burst(second_tab, 4)
    # only what refilled since (2 a second), not another burst of 4
    assert through <= 2 * (loop.time() - emptied) + 1, through
    await advisor.sock.close()
    reconnected = await server.socket(advisor.http)
    through = await burst(reconnected, 4)
    assert through <= 2 * (loop.time() - emptied) + 1, through
    await asyncio.sleep(1.0)  # at a person's pace it is served
    assert await burst(reconnected, 1) == 1
