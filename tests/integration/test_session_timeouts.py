"""Session timeouts, travelling in time with the server's FakeClock.

Advisor and ops sessions: an idle timeout that slides with every use (HTTP or socket event),
recorded in the database at most once a minute, and the absolute expiry set at login.
Guest (customer) sessions: they let a dropped customer rejoin, so they end a short time
after their consultation ended and at an absolute maximum after joining. A socket whose
session ended is told `session_closed` ("expired") and disconnected, at its next event or
by the periodic sweep."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from server.state import CORE
from storage.models import AuthSession
from tests.clients import WAIT
from tests.flows import invite_consultation, join_customer, login_advisor

pytestmark = pytest.mark.parametrize(
    "settings_overrides",
    [
        {
            "session_idle_minutes": 60,
            "advisor_session_hours": 3,
            "guest_session_hours": 4,
            "guest_session_after_end_minutes": 10,
            "session_sweep_seconds": 0.05,
        }
    ],
)


@pytest.fixture
def server_clock(clock):
    return clock


async def signed_in(http) -> bool:
    status, body = await http.get("/api/session")
    assert status == 200, body
    return body["data"]["account"] is not None


async def guest_known(http) -> bool:
    status, body = await http.get("/api/session")
    assert status == 200, body
    return body["data"]["guest"] is not None


async def last_seen(server):
    async with server.app[CORE].db.reading() as s:
        return (await s.scalars(select(AuthSession.last_seen_at))).all()


async def test_an_unused_advisor_session_ends_after_the_idle_time(
    server, seed_advisor, clock, settings_overrides
):
    adv = await login_advisor(server, await seed_advisor(), connect=False)
    clock.advance(minutes=59)
    assert await signed_in(adv.http)  # a use: the idle time starts again
    clock.advance(minutes=59)
    assert await signed_in(adv.http)
    clock.advance(minutes=60, seconds=1)
    assert not await signed_in(adv.http)
    # the next login clears ended sessions out of the table
    await login_advisor(server, await seed_advisor(), connect=False)
    assert len(await last_seen(server)) == 1


async def test_use_is_recorded_at_most_once_a_minute(
    server, seed_advisor, clock, settings_overrides
):
    adv = await login_advisor(server, await seed_advisor(), connect=False)
    for _ in range(5):
        clock.advance(seconds=10)
        assert await signed_in(adv.http)
    assert await last_seen(server) == [None]  # 50 s after login: nothing written
    clock.advance(seconds=20)
    assert await signed_in(adv.http)
    first = clock()
    assert await last_seen(server) == [first]
    clock.advance(seconds=30)
    assert await signed_in(adv.http)
    assert await last_seen(server) == [first]


async def test_a_used_advisor_session_still_ends_at_its_absolute_expiry(
    server, seed_advisor, clock, settings_overrides
):
    adv = await login_advisor(server, await seed_advisor(), connect=False)
    for _ in range(5):  # used every 35 minutes for 2 h 55 min
        clock.advance(minutes=35)
        assert await signed_in(adv.http)
    clock.advance(minutes=5, seconds=1)  # 3 h after login
    assert not await signed_in(adv.http)


async def test_socket_events_count_as_use_and_an_expired_socket_is_closed_at_its_next_event(
    server, seed_advisor, clock, settings_overrides
):
    adv = await login_advisor(server, await seed_advisor())
    for _ in range(3):  # only socket events, every 50 minutes
        clock.advance(minutes=50)
        await adv.sock.ok("dashboard_get")
    assert await signed_in(adv.http)
    clock.advance(minutes=60, seconds=1)
    # the sweep may close the socket before or while the event is handled: accept both
    ack = await adv.sock.call_unless_closed("dashboard_get")
    if ack is not None:
        assert ack["ok"] is False and ack["error"]["code"] == "not_authenticated", ack
    closed = await adv.sock.next("session_closed")
    assert closed == {"reason": "expired"}
    assert not await signed_in(adv.http)


async def test_the_sweep_closes_an_idle_advisors_socket(
    server, seed_advisor, clock, settings_overrides
):
    adv = await login_advisor(server, await seed_advisor())
    clock.advance(minutes=60, seconds=1)
    assert await adv.sock.next("session_closed") == {"reason": "expired"}
    await asyncio.wait_for(adv.sock.closed.wait(), WAIT)
    assert not adv.sock.sio.connected


async def test_a_guest_session_ends_shortly_after_its_consultation(
    server, seed_advisor, clock, settings_overrides
):
    adv = await login_advisor(server, await seed_advisor())
    cid, token = await invite_consultation(adv)
    customer = await join_customer(server, invite=token)
    clock.advance(minutes=30)
    assert await guest_known(customer.http)
    status, body = await adv.http.post(f"/api/consultations/{cid}/end")
    assert status == 200, body
    clock.advance(minutes=9)
    assert await guest_known(customer.http)  # a customer may still see the end of it
    clock.advance(minutes=1, seconds=1)
    assert not await guest_known(customer.http)
    closed = await customer.sock.until("session_closed", lambda d: d["reason"] == "expired")
    assert closed == {"reason": "expired"}


async def test_a_guest_session_has_an_absolute_maximum_and_its_socket_is_swept(
    server, seed_advisor, clock, settings_overrides
):
    seed = await seed_advisor()
    customer = await join_customer(server, team=seed["team_slug"])  # waits in the queue
    clock.advance(hours=3, minutes=59)
    assert await guest_known(customer.http)
    await customer.sock.ok("lobby_status")
    assert customer.sock.received("session_closed") == []
    clock.advance(minutes=1, seconds=1)
    assert await customer.sock.next("session_closed") == {"reason": "expired"}
    assert not await guest_known(customer.http)
    # and the same cookie cannot open a new socket
    with pytest.raises(Exception):  # noqa: B017 - python-socketio's ConnectionError
        await server.socket(customer.http)
