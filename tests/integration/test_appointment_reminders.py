"""Reminder mails, caught by a real SMTP server (aiosmtpd) on an ephemeral port: one mail
per booking that asked for it, at the configured time before the slot, with the calendar
file attached; afterwards the address is no longer stored. A mail server that does not
answer is tried a bounded number of times, then the address is deleted all the same."""

from __future__ import annotations

import asyncio
import email
import logging
import socket
from collections.abc import AsyncIterator
from datetime import timedelta
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP
from icalendar import Calendar
from sqlalchemy import select

from server.state import CORE
from storage.models import Booking
from tests.appointments import book, publish_slot
from tests.clients import WAIT
from tests.conftest import FakeClock
from tests.flows import login_advisor

LEAD = 60  # minutes before the slot


class Sink:
    """Keeps every mail it is given."""

    def __init__(self) -> None:
        self.mails: asyncio.Queue[tuple[list[str], Message]] = asyncio.Queue()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mails.put_nowait((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
async def smtp_sink() -> AsyncIterator[tuple[Sink, int]]:
    sink = Sink()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(sink), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield sink, port
    server.close()
    await server.wait_closed()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def settings_overrides(request: pytest.FixtureRequest, smtp_sink: tuple[Sink, int]) -> dict:
    dead = request.node.get_closest_marker("dead_smtp") is not None
    return {
        "smtp_host": "127.0.0.1",
        "smtp_port": closed_port() if dead else smtp_sink[1],
        "smtp_starttls": False,
        "smtp_from": "termine@parley.test",
        "appointment_reminder_minutes": LEAD,
        "appointment_reminder_attempts": 2,
        "appointment_reminder_interval_seconds": 0.05,
        "appointment_timezone": "Europe/Berlin",
    }


@pytest.fixture
def server_clock(clock: FakeClock) -> FakeClock:
    return clock


async def stored_address(server: Any, booking_id: str) -> bytes | None:
    async with server.app[CORE].db.reading() as s:
        b = await s.scalar(select(Booking).where(Booking.id == booking_id))
        assert b is not None
        return b.email_sealed


async def until_forgotten(server: Any, booking_id: str) -> None:
    async with asyncio.timeout(WAIT):
        while await stored_address(server, booking_id) is not None:
            await asyncio.sleep(0.05)


async def test_one_reminder_at_its_time_then_the_address_is_gone(
    server, seed_advisor, clock, smtp_sink
):
    sink, _ = smtp_sink
    seed = await seed_advisor()
    advisor = await login_advisor(server, seed, connect=False)
    _, body = await server.http().get(f"/api/teams/{seed['team_slug']}/slots")
    assert body["data"]["reminders"] is True  # the booking page offers them
    later = clock.now + timedelta(days=1)  # 2026-11-22 09:00 UTC = 10:00 in Berlin
    soon = clock.now + timedelta(minutes=30)  # its reminder is due at once
    later_slot = await publish_slot(advisor.http, later)
    soon_slot = await publish_slot(advisor.http, soon)
    mail = {"reminder": True, "email": "erika@example.org", "lang": "de"}
    status, answer = await book(server, later_slot["id"], **mail)
    assert status == 201, answer
    later_booking = answer["data"]["booking"]
    status, answer = await book(
        server, soon_slot["id"], reminder=True, email="max@example.org", lang="en"
    )
    assert status == 201, answer

    # the run that sends the due reminder looks at the other one too, and leaves it
    rcpt, message = await asyncio.wait_for(sink.mails.get(), WAIT)
    assert rcpt == ["max@example.org"]
    assert "Reminder" in message["Subject"]
    assert sink.mails.empty()
    assert await stored_address(server, later_booking["id"]) is not None

    clock.now = later - timedelta(minutes=LEAD)
    rcpt, message = await asyncio.wait_for(sink.mails.get(), WAIT)
    assert rcpt == ["erika@example.org"]
    assert message["From"] == "termine@parley.test"
    assert message["Subject"] == "Erinnerung: Ihre Videoberatung am 22.11.2026 um 10:00"
    text = message.get_payload()[0].get_payload(decode=True).decode()
    assert later_booking["url"] in text
    [attachment] = [part for part in message.walk() if part.get_content_type() == "text/calendar"]
    cal = Calendar.from_ical(attachment.get_payload(decode=True))
    [event] = cal.walk("VEVENT")
    assert event["DTSTART"].dt == later
    assert str(event["URL"]) == later_booking["url"]

    await until_forgotten(server, later_booking["id"])
    async with server.app[CORE].db.reading() as s:
        b = await s.scalar(select(Booking).where(Booking.id == later_booking["id"]))
        assert b.reminder_sent_at == later - timedelta(minutes=LEAD)


@pytest.mark.dead_smtp
async def test_an_unreachable_mail_server_is_tried_a_few_times(server, seed_advisor, clock, caplog):
    caplog.set_level(logging.INFO)
    advisor = await login_advisor(server, await seed_advisor(), connect=False)
    slot = await publish_slot(advisor.http, clock.now + timedelta(minutes=20))
    status, answer = await book(server, slot["id"], reminder=True, email="erika@example.org")
    assert status == 201, answer
    booking_id = answer["data"]["booking"]["id"]
    await until_forgotten(server, booking_id)
    async with server.app[CORE].db.reading() as s:
        b = await s.scalar(select(Booking).where(Booking.id == booking_id))
        assert (b.reminder_attempts, b.reminder_sent_at) == (2, None)
    failures = [r for r in caplog.records if "reminder failed" in r.getMessage()]
    assert len(failures) == 2
    assert "erika" not in caplog.text and "Erika" not in caplog.text
