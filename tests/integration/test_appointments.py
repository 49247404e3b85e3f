"""Appointments: an advisor publishes slots, a customer books one by name; a slot is
booked once however many try at the same time; the calendar files say when and where; the
link lets the customer into the lobby only from shortly before the slot until after it
(the server's clock is travelled); the booking is in the export and goes with erasure."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from datetime import UTC, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from server.state import CORE
from storage.models import Booking, Participant
from tests.appointments import book, booking_body, publish_slot
from tests.conftest import FakeClock
from tests.flows import join_customer, login_advisor, token_of

EARLY = 10  # PARLEY_APPOINTMENT_EARLY_MINUTES's default
LATE = 60


@pytest.fixture
def server_clock(clock: FakeClock) -> FakeClock:
    return clock


async def get_raw(http, path):
    async with http.session.get(http.base + path) as resp:
        return resp.status, resp.headers.get("Content-Type", ""), await resp.read()


def event_of(data: bytes):
    cal = Calendar.from_ical(data)
    events = cal.walk("VEVENT")
    assert len(events) == 1
    return cal, events[0]


async def test_publish_book_and_the_slot_is_gone(server, seed_advisor, clock):
    seed = await seed_advisor()
    advisor = await login_advisor(server, seed, connect=False)
    starts = clock.now + timedelta(days=1)
    slot = await publish_slot(advisor.http, starts)
    assert slot["state"] == "free"

    public = server.http()
    status, body = await public.get(f"/api/teams/{seed['team_slug']}/slots")
    assert status == 200, body
    assert [s["id"] for s in body["data"]["slots"]] == [slot["id"]]
    assert body["data"]["reminders"] is False  # no SMTP server configured
    assert body["data"]["notice"]["version"] == server.settings.notice_version

    status, body = await book(server, slot["id"])
    assert status == 201, body
    booking = body["data"]["booking"]
    assert booking["url"].startswith(server.url + "/i/")
    assert booking["opens_at"] == (starts - timedelta(minutes=EARLY)).isoformat()

    _, body = await public.get(f"/api/teams/{seed['team_slug']}/slots")
    assert body["data"]["slots"] == []  # booked slots are not offered, and carry no names
    status, body = await book(server, slot["id"])
    assert (status, body["error"]["code"]) == (409, "slot_taken")

    status, body = await advisor.http.get("/api/appointments")
    assert status == 200, body
    [listed] = body["data"]["appointments"]
    assert listed["state"] == "booked"
    assert listed["booking"]["name"] == "Erika Mustermann"
    assert listed["booking"]["url"] == booking["url"]


async def test_concurrent_bookings_of_one_slot_let_exactly_one_win(server, seed_advisor, clock):
    advisor = await login_advisor(server, await seed_advisor(), connect=False)
    slot = await publish_slot(advisor.http, clock.now + timedelta(hours=3))
    answers = await asyncio.gather(*(book(server, slot["id"]) for _ in range(8)))
    statuses = sorted(status for status, _ in answers)
    assert statuses == [201] + [409] * 7, answers
    assert {b["error"]["code"] for s, b in answers if s == 409} == {"slot_taken"}
    async with server.app[CORE].db.reading() as s:
        assert await s.scalar(select(func.count()).select_from(Booking)) == 1


async def test_bad_slots_and_bookings_are_refused(server, seed_advisor, clock):
    advisor = await login_advisor(server, await seed_advisor(), connect=False)
    stranger = server.http()
    starts = clock.now + timedelta(days=2)
    body = {"starts_at": starts.isoformat(), "duration_minutes": 30}
    status, answer = await stranger.post("/api/appointments/slots", body)
    assert (status, answer["error"]["code"]) == (401, "not_authenticated")
    status, answer = await advisor.http.post("/api/appointments/slots", body, csrf=False)
    assert (status, answer["error"]["code"]) == (403, "csrf_failed")
    for bad in (
        {"starts_at": (clock.now - timedelta(minutes=1)).isoformat(), "duration_minutes": 30},
        {"starts_at": starts.replace(tzinfo=None).isoformat(), "duration_minutes": 30},
        {"starts_at": starts.isoformat(), "duration_minutes": 2},
        {"starts_at": "tomorrow", "duration_minutes": 30},
    ):
        status, answer = await advisor.http.post("/api/appointments/slots", bad)
        assert (status, answer["error"]["code"]) == (400, "invalid_payload"), bad
    slot = await publish_slot(advisor.http, starts)
    status, answer = await advisor.http.post(
        "/api/appointments/slots",
        {"starts_at": (starts + timedelta(minutes=15)).isoformat(), "duration_minutes": 30},
    )
    assert (status, answer["error"]["code"]) == (409, "invalid_state")  # overlaps

    for extra in (
        {"first_name": "<script>"},
        {"email": "erika@example.com"},  # an address only with a reminder
        {"reminder": True, "email": "erika@example.com"},  # no SMTP: no reminders
        {"reminder": True},
        {"notice_version": "old"},
    ):
        status, answer = await book(server, slot["id"], **extra)
        assert (status, answer["error"]["code"]) == (400, "invalid_payload"), extra
    status, answer = await book(server, "0" * 32)
    assert (status, answer["error"]["code"]) == (404, "not_found")

    # a free slot can be withdrawn, a booked one cannot
    other = await publish_slot(advisor.http, starts + timedelta(hours=1))
    status, _ = await advisor.http.request("DELETE", f"/api/appointments/slots/{other['id']}")
    assert status == 200
    status, answer = await book(server, other["id"])
    assert (status, answer["error"]["code"]) == (409, "slot_taken")
    assert (await book(server, slot["id"]))[0] == 201
    status, answer = await advisor.http.request("DELETE", f"/api/appointments/slots/{slot['id']}")
    assert (status, answer["error"]["code"]) == (409, "invalid_state")
    # another advisor's slot is not theirs to touch
    colleague = await login_advisor(server, await seed_advisor(), connect=False)
    status, answer = await colleague.http.request("DELETE", f"/api/appointments/slots/{slot['id']}")
    assert (status, answer["error"]["code"]) == (403, "not_authorised")
    # and an id nobody issued gets the very same answer: no way to probe for slots
    missing = await colleague.http.request("DELETE", f"/api/appointments/slots/{'0' * 32}")
    assert missing == (status, answer)


async def test_calendar_files(server, seed_advisor, clock):
    advisor = await login_advisor(server, await seed_advisor(), connect=False)
    starts = (clock.now + timedelta(days=1)).replace(hour=14, minute=0)
    slot = await publish_slot(advisor.http, starts.astimezone(UTC), minutes=45)
    _, body = await book(server, slot["id"], first_name="Zoë", last_name="O'Brien-Müller")
    booking = body["data"]["booking"]

    status, ctype, data = await get_raw(server.http(), booking["calendar_url"].split(server.url)[1])
    assert status == 200
    assert ctype.split(";")[0] == "text/calendar"
    assert b"\r\n" in data  # RFC 5545 lines end in CRLF
    cal, event = event_of(data)
    assert str(cal["VERSION"]) == "2.0" and cal.get("PRODID")
    assert event["DTSTART"].dt == starts.astimezone(UTC)
    assert event["DTEND"].dt == starts.astimezone(UTC) + timedelta(minutes=45)
    assert event["DTSTART"].dt.tzinfo is not None and b"DTSTART:" in data and b"Z\r\n" in data
    assert event["DTSTAMP"].dt == clock.now
    assert str(event["URL"]) == booking["url"]
    assert booking["url"] in str(event["DESCRIPTION"])
    assert "O'Brien" not in data.decode() and "Zoë" not in data.decode()  # no name in it
    uid = str(event["UID"])

    status, ctype, data = await get_raw(
        advisor.http, f"/api/appointments/slots/{slot['id']}/calendar.ics"
    )
    assert (status, ctype.split(";")[0]) == (200, "text/calendar")
    _, advisor_event = event_of(data)
    assert str(advisor_event["UID"]) == uid  # one appointment, the same entry
    assert advisor_event["DTSTART"].dt == starts.astimezone(UTC)
    assert booking["url"] in str(advisor_event["DESCRIPTION"])
    assert "/room/" in str(advisor_event["URL"])

    status, _, _ = await get_raw(server.http(), "/api/bookings/" + "x" * 40 + "/calendar.ics")
    assert status == 404
    status, _, _ = await get_raw(
        server.http(), f"/api/appointments/slots/{slot['id']}/calendar.ics"
    )
    assert status == 401


async def test_the_link_opens_shortly_before_and_closes_after(server, seed_advisor, clock):
    seed = await seed_advisor()
    advisor = await login_advisor(server, seed, connect=False)
    starts = clock.now + timedelta(days=1)
    slot = await publish_slot(advisor.http, starts, minutes=30)
    _, body = await book(server, slot["id"])
    token = token_of(body["data"]["booking"]["url"])
    http = server.http()
    join = {
        "invite": token,
        "first_name": "Erika",
        "last_name": "Mustermann",
        "notice_version": server.settings.notice_version,
    }

    status, facts = await http.get(f"/api/join/invite/{token}")
    assert status == 200, facts
    appointment = facts["data"]["appointment"]
    assert appointment["open"] is False
    assert appointment["opens_at"] == (starts - timedelta(minutes=EARLY)).isoformat()
    status, answer = await http.post("/api/join", join)
    assert (status, answer["error"]["code"]) == (409, "invite_not_open")

    clock.now = starts - timedelta(minutes=EARLY, seconds=1)
    status, answer = await http.post("/api/join", join)
    assert (status, answer["error"]["code"]) == (409, "invite_not_open")

    clock.now = starts - timedelta(minutes=EARLY)
    _, facts = await http.get(f"/api/join/invite/{token}")
    assert facts["data"]["appointment"]["open"] is True
    advisor = await login_advisor(server, seed)  # the session of yesterday has expired
    customer = await join_customer(server, invite=token)
    await advisor.sock.ok(
        "lobby_admit",
        {"consultation_id": customer.consultation_id, "participant_id": customer.participant_id},
    )
    await customer.sock.until("lobby_state", lambda d: d["status"] == "admitted")

    clock.now = starts + timedelta(minutes=30 + LATE)
    status, answer = await server.http().get(f"/api/join/invite/{token}")
    assert (status, answer["error"]["code"]) == (410, "appointment_passed")
    status, answer = await server.http().post("/api/join", join)
    assert (status, answer["error"]["code"]) == (410, "appointment_passed")


async def test_export_and_erasure_cover_the_booking(server, seed_advisor, clock):
    advisor = await login_advisor(server, await seed_advisor(), connect=False)
    slot = await publish_slot(advisor.http, clock.now + timedelta(hours=2))
    await book(server, slot["id"], first_name="Quokka", last_name="Bookerin")
    _, body = await advisor.http.get("/api/appointments")
    cid = body["data"]["appointments"][0]["booking"]["consultation_id"]

    async with advisor.http.session.get(
        advisor.http.base + f"/api/consultations/{cid}/export"
    ) as resp:
        assert resp.status == 200
        archive = zipfile.ZipFile(io.BytesIO(await resp.read()))
    document = json.loads(archive.read("export.json"))
    [entry] = document["appointments"]
    assert entry["name"] == "Quokka Bookerin"
    assert entry["email"] is None and entry["reminder"] is False
    assert entry["starts_at"] == slot["starts_at"]

    assert (await advisor.http.post(f"/api/consultations/{cid}/end"))[0] == 200
    status, answer = await advisor.http.post(f"/api/consultations/{cid}/erase")
    assert status == 200, answer
    async with server.app[CORE].db.reading() as s:
        assert await s.scalar(select(func.count()).select_from(Booking)) == 0
        assert await s.scalar(select(func.count()).select_from(Participant)) == 0
    _, body = await advisor.http.get("/api/appointments")
    assert body["data"]["appointments"][0]["booking"] is None


async def test_booking_body_matches_join_validation(server):
    # the same name rules as /api/join: NFC-normalised, letters and a few marks only
    body = booking_body(server, "0" * 32, first_name="  Ren\u0065\u0301e ", last_name="Ørsted")
    status, answer = await server.http().post("/api/bookings", body)
    assert (status, answer["error"]["code"]) == (404, "not_found")  # the names passed
