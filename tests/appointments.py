"""Steps of the appointment flows, shared by the integration and browser tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.clients import Http


async def publish_slot(http: Http, starts_at: datetime, minutes: int = 30) -> dict[str, Any]:
    status, body = await http.post(
        "/api/appointments/slots",
        {"starts_at": starts_at.isoformat(), "duration_minutes": minutes},
    )
    assert status == 201, body
    return body["data"]["slot"]


def booking_body(server: Any, slot_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "slot_id": slot_id,
        "first_name": "Erika",
        "last_name": "Mustermann",
        "notice_version": server.settings.notice_version,
        **extra,
    }


async def book(server: Any, slot_id: str, **extra: Any) -> tuple[int, dict[str, Any]]:
    return await server.http().post("/api/bookings", booking_body(server, slot_id, **extra))
