"""Reminder mails, sent with the standard library's smtplib in a worker thread.

A reminder is a handful of mails a minute at most; smtplib covers STARTTLS and login, is
in every Python, and a thread keeps the event loop free while it talks to the server."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from server.config import Settings
from signaling.appointments import Reminder

SUBJECT = {
    "de": "Erinnerung: Ihre Videoberatung am {day} um {time}",
    "en": "Reminder: your video consultation on {day} at {time}",
}
BODY = {
    "de": (
        "Guten Tag,\n\n"
        "Ihre Videoberatung bei {product} beginnt am {day} um {time} ({zone}).\n\n"
        "Zur Videoberatung: {link}\n\n"
        "Der Link öffnet den Warteraum {early} Minuten vor dem Termin. Den Termin finden Sie "
        "auch in der angehängten Kalenderdatei.\n\n"
        "Ihre E-Mail-Adresse wurde nur für diese Erinnerung gespeichert und ist jetzt "
        "gelöscht.\n"
    ),
    "en": (
        "Hello,\n\n"
        "Your video consultation with {product} begins on {day} at {time} ({zone}).\n\n"
        "Join it here: {link}\n\n"
        "The link opens the waiting room {early} minutes before the appointment. The "
        "appointment is also in the attached calendar file.\n\n"
        "Your e-mail address was kept only for this reminder and has now been deleted.\n"
    ),
}


def reminder_message(settings: Settings, reminder: Reminder) -> EmailMessage:
    lang = reminder.lang if reminder.lang in SUBJECT else "de"
    zone = ZoneInfo(settings.appointment_timezone)
    local = reminder.starts_at.astimezone(zone)
    day = local.strftime("%d.%m.%Y" if lang == "de" else "%Y-%m-%d")
    facts = {
        "day": day,
        "time": local.strftime("%H:%M"),
        "zone": settings.appointment_timezone,
        "link": reminder.link,
        "product": settings.brand_name,
        "early": settings.appointment_early_minutes,
    }
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = reminder.email
    message["Subject"] = SUBJECT[lang].format(**facts)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(BODY[lang].format(**facts))
    message.add_attachment(
        reminder.calendar, maintype="text", subtype="calendar", filename="appointment.ics"
    )
    return message


def _send(settings: Settings, message: EmailMessage) -> None:
    assert settings.smtp_host is not None
    with smtplib.SMTP(
        settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds
    ) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user and settings.smtp_password is not None:
            smtp.login(settings.smtp_user, settings.smtp_password.get_secret_value())
        smtp.send_message(message)


async def send(settings: Settings, message: EmailMessage) -> None:
    await asyncio.to_thread(_send, settings, message)
