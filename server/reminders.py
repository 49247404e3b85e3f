"""The reminder job: every interval, send the reminders that are due (with the calendar
file attached), then delete the address. Failures are logged without personal data and
tried again at the next interval, a bounded number of times."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from server.config import Settings
from server.mail import reminder_message, send
from server.state import APPOINTMENTS
from storage.clock import pause

log = logging.getLogger(__name__)


async def send_due(app: web.Application, settings: Settings) -> int:
    """Send what is due now; the number sent."""
    appointments = app[APPOINTMENTS]
    sent = 0
    for reminder in await appointments.due_reminders():
        try:
            await send(settings, reminder_message(settings, reminder))
        except Exception as exc:
            # the exception's text may quote the address: only its type is logged
            again = await appointments.reminder_failed(reminder.booking_id)
            log.warning(
                "reminder failed booking=%s error=%s; %s",
                reminder.booking_id,
                type(exc).__name__,
                "tried again later" if again else "given up, the address is deleted",
            )
            continue
        await appointments.reminder_sent(reminder.booking_id)
        log.info("reminder sent booking=%s", reminder.booking_id)
        sent += 1
    return sent


async def reminder_loop(app: web.Application, settings: Settings, stop: asyncio.Event) -> None:
    """Until `stop`: a run never is cut off halfway."""
    while not stop.is_set():
        try:
            await send_due(app, settings)
        except Exception:
            log.exception("the reminder run failed; it is tried again at the next interval")
        await pause(stop, settings.appointment_reminder_interval_seconds)
