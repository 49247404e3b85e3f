"""Calendar files (RFC 5545) for appointments, made with the `icalendar` package: it
escapes text (commas, semicolons, backslashes, newlines), folds long lines at 75 octets and
writes CRLF, which hand-written files routinely get wrong."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from icalendar import Calendar, Event

PRODID = "-//Parley//Appointments//EN"


@dataclass(frozen=True, slots=True)
class CalendarEntry:
    uid: str  # the same for the customer's and the advisor's copy of one appointment
    starts_at: datetime
    ends_at: datetime
    summary: str
    description: str
    url: str


def calendar_file(entry: CalendarEntry, now: datetime) -> bytes:
    """One VEVENT in a PUBLISH calendar; times in UTC, so every calendar shows them in its
    owner's time zone."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    event = Event()
    event.add("uid", entry.uid)
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", entry.starts_at.astimezone(UTC))
    event.add("dtend", entry.ends_at.astimezone(UTC))
    event.add("summary", entry.summary)
    event.add("description", entry.description)
    event.add("url", entry.url)
    event.add("location", entry.url)
    event.add("status", "CONFIRMED")
    event.add("transp", "OPAQUE")
    cal.add_component(event)
    return bytes(cal.to_ical())
