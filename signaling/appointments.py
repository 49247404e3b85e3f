"""Appointments: advisors offer slots, customers book one by name. A booking is an invite
consultation whose link opens shortly before the slot and expires some time after it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from signaling import rules
from signaling.calendar import CalendarEntry, calendar_file
from signaling.core import Core, iso
from signaling.errors import InvalidPayload, InvalidState, InviteInvalid, NotFound, SlotTaken
from signaling.lobby import Lobby
from signaling.protocol import BookBody, CreateSlotBody
from signaling.rules import Actor
from storage import audit
from storage.appointments import (
    AppointmentRepository,
    book_slot,
    cancel_free_slot,
    forget_address,
)
from storage.models import (
    AppointmentSlot,
    Booking,
    Consultation,
    ConsultationKind,
    ConsultationState,
    InviteLink,
    SlotState,
    new_id,
)
from storage.repositories import ConsultationRepository, InviteRepository, TeamRepository
from storage.tokens import hash_token, new_token
from storage.vault import BOOKING_EMAIL, BOOKING_LINK, BOOKING_NAME

log = logging.getLogger(__name__)

SLOTS_SHOWN = 200  # free slots a booking page lists, soonest first
UPCOMING_SHOWN = 200
BOOK_AHEAD = timedelta(days=366)  # how far ahead a slot may be offered


@dataclass(frozen=True, slots=True)
class Policy:
    early_minutes: int = 10  # the lobby opens this long before the slot
    late_minutes: int = 60  # the link expires this long after the slot's end
    reminder_minutes: int = 60  # the reminder goes out this long before the slot
    reminder_attempts: int = 3
    reminders: bool = False  # an SMTP server is configured
    product: str = "Parley"  # the brand name, in calendar entries and mails


@dataclass(frozen=True, slots=True)
class Reminder:
    """A reminder to send: the only place an e-mail address is ever opened."""

    booking_id: str
    email: str
    lang: str
    starts_at: datetime
    ends_at: datetime
    link: str
    calendar: bytes


def slot_view(slot: AppointmentSlot) -> dict[str, Any]:
    return {"id": slot.id, "starts_at": iso(slot.starts_at), "ends_at": iso(slot.ends_at)}


def customer_calendar_url(base: str, token: str) -> str:
    return f"{base}/api/bookings/{token}/calendar.ics"


class Appointments:
    def __init__(self, core: Core, lobby: Lobby, policy: Policy) -> None:
        self.core = core
        self.lobby = lobby
        self.policy = policy

    # -- the advisor ---------------------------------------------------------------------

    async def create_slot(self, actor: Actor, body: CreateSlotBody) -> dict[str, Any]:
        if not actor.is_advisor or actor.account_id is None or actor.team_id is None:
            raise InvalidState("only an advisor of a team offers appointments")
        now = self.core.clock()
        starts_at = body.starts_at.astimezone(now.tzinfo)
        ends_at = starts_at + timedelta(minutes=body.duration_minutes)
        if starts_at <= now:
            raise InvalidPayload("starts_at: choose a time in the future")
        if starts_at > now + BOOK_AHEAD:
            raise InvalidPayload("starts_at: choose a time within the next year")
        async with self.core.db.session() as s:
            repo = AppointmentRepository(s)
            if await repo.overlapping(actor.account_id, starts_at, ends_at):
                raise InvalidState("this time overlaps another of your slots; choose another")
            slot = await repo.add_slot(
                AppointmentSlot(
                    team_id=actor.team_id,
                    advisor_id=actor.account_id,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    state=SlotState.free,
                    created_at=now,
                )
            )
        return {"slot": {**slot_view(slot), "state": str(slot.state), "booking": None}}

    async def _own_slot(self, s: AsyncSession, actor: Actor, slot_id: str) -> AppointmentSlot:
        """The actor's slot. An id nobody issued gets the refusal another advisor's slot
        gets, so nobody learns whether a slot exists by asking for it; only the advisor
        who offered a slot is told it was withdrawn."""
        slot = await AppointmentRepository(s).slot(slot_id)
        if slot is None:
            rules.unknown(rules.check_owner, actor, None)
        rules.check_owner(actor, slot.advisor_id)
        if slot.state == SlotState.cancelled:
            raise NotFound("no such slot")
        return slot

    async def cancel_slot(self, actor: Actor, slot_id: str) -> dict[str, Any]:
        async with self.core.db.session() as s:
            await self._own_slot(s, actor, slot_id)
            if not await cancel_free_slot(AppointmentRepository(s), slot_id):
                raise InvalidState("this slot has been booked; end the consultation to call it off")
        return {}

    async def upcoming(self, actor: Actor) -> dict[str, Any]:
        """The advisor's slots that have not ended, with who booked them."""
        if not actor.is_advisor or actor.account_id is None:
            raise InvalidState("only advisors have appointments")
        async with self.core.db.reading() as s:
            rows = await AppointmentRepository(s).upcoming_of_advisor(
                actor.account_id, self.core.clock(), UPCOMING_SHOWN
            )
            out = []
            for slot, booking in rows:
                view: dict[str, Any] = {**slot_view(slot), "state": str(slot.state)}
                view["booking"] = None if booking is None else await self._booking_view(s, booking)
                out.append(view)
        return {"appointments": out}

    async def _booking_view(self, s: AsyncSession, b: Booking) -> dict[str, Any]:
        vault, cid = self.core.vault, b.consultation_id
        dek = await vault.dek(s, cid)
        return {
            "id": b.id,
            "consultation_id": cid,
            "name": vault.open_text(dek, cid, BOOKING_NAME, b.id, b.name_sealed),
            "url": vault.open_text(dek, cid, BOOKING_LINK, b.id, b.link_sealed),
            "reminder": b.reminder,
        }

    async def advisor_calendar(self, actor: Actor, slot_id: str, base: str) -> bytes:
        """The advisor's calendar file: the room link, and the customer's link to pass on;
        no customer name (calendars are often synchronised to services outside the
        business)."""
        async with self.core.db.reading() as s:
            slot = await self._own_slot(s, actor, slot_id)
            booking = await AppointmentRepository(s).booking_of_slot(slot.id)
            if booking is None:
                raise NotFound("this slot has not been booked")
            link = (await self._booking_view(s, booking))["url"]
        room = f"{base}/room/{booking.consultation_id}"
        entry = CalendarEntry(
            uid=f"{booking.id}@parley",
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            summary=f"{self.policy.product}: video consultation (appointment)",
            description=f"Your room: {room}\nThe customer's link: {link}",
            url=room,
        )
        return calendar_file(entry, self.core.clock())

    # -- the customer --------------------------------------------------------------------

    async def free_slots(self, slug: str) -> dict[str, Any]:
        async with self.core.db.reading() as s:
            team = await TeamRepository(s).by_slug(slug)
            if team is None:
                raise NotFound("no such team")
            slots = await AppointmentRepository(s).free_of_team(
                team.id, self.core.clock(), SLOTS_SHOWN
            )
        return {
            "team": {"slug": team.slug, "name": team.name},
            "slots": [slot_view(slot) for slot in slots],
            "reminders": self.policy.reminders,
        }

    async def book(self, body: BookBody, base: str) -> dict[str, Any]:
        core, policy = self.core, self.policy
        if body.notice_version != core.notice_version:
            raise InvalidPayload("notice_version: the privacy notice has changed, please reload")
        if body.reminder and not policy.reminders:
            raise InvalidPayload("reminder: this service sends no reminder mails")
        now = core.clock()
        token = new_token()
        link = f"{base}/i/{token}"
        async with core.db.session() as s:
            repo = AppointmentRepository(s)
            slot = await repo.slot(body.slot_id)
            if slot is None:
                raise NotFound("no such slot")
            if not await book_slot(repo, slot.id, now):
                raise SlotTaken("this time is no longer free; please choose another one")
            c = await ConsultationRepository(s).add(
                Consultation(
                    team_id=slot.team_id,
                    advisor_id=slot.advisor_id,
                    kind=ConsultationKind.invite,
                    state=ConsultationState.waiting,
                    created_at=now,
                )
            )
            dek = await core.vault.create(s, c.id, now)
            opens_at = slot.starts_at - timedelta(minutes=policy.early_minutes)
            await InviteRepository(s).add(
                InviteLink(
                    consultation_id=c.id,
                    token_hash=hash_token(token),
                    created_by=slot.advisor_id,
                    created_at=now,
                    not_before=opens_at,
                    expires_at=slot.ends_at + timedelta(minutes=policy.late_minutes),
                )
            )
            b = Booking(id=new_id(), slot_id=slot.id, consultation_id=c.id)
            seal = core.vault.seal_text
            b.name_sealed = seal(
                dek, c.id, BOOKING_NAME, b.id, f"{body.first_name} {body.last_name}"
            )
            b.link_sealed = seal(dek, c.id, BOOKING_LINK, b.id, link)
            if body.email is not None:
                b.email_sealed = seal(dek, c.id, BOOKING_EMAIL, b.id, body.email)
            b.reminder, b.lang = body.reminder, body.lang
            b.notice_version, b.created_at = body.notice_version, now
            await repo.add_booking(b)
            await audit.append(
                s,
                now,
                f"customer:booking:{b.id}",
                "privacy_notice_acknowledged",
                f"consultation:{c.id}",
                version=body.notice_version,
            )
        log.info("slot booked slot=%s consultation=%s", slot.id, c.id)
        return {
            "booking": {
                "id": b.id,
                "starts_at": iso(slot.starts_at),
                "ends_at": iso(slot.ends_at),
                "opens_at": iso(opens_at),
                "url": link,
                "calendar_url": customer_calendar_url(base, token),
                "reminder": b.reminder,
            }
        }

    def customer_entry(self, b: Booking, slot: AppointmentSlot, link: str) -> CalendarEntry:
        """The customer's calendar entry: the link, and not their own name (it adds nothing
        and calendars travel)."""
        return CalendarEntry(
            uid=f"{b.id}@parley",
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            summary=f"{self.policy.product}: video consultation",
            description=(
                f"Join the video consultation: {link}\n"
                f"Zur Videoberatung: {link}\n"
                f"The link opens {self.policy.early_minutes} minutes before the appointment."
            ),
            url=link,
        )

    async def customer_calendar(self, token: str) -> bytes:
        async with self.core.db.reading() as s:
            invite = await InviteRepository(s).by_token_hash(hash_token(token))
            if invite is None or invite.revoked_at is not None:
                raise InviteInvalid("this appointment link is not valid")
            rows = await AppointmentRepository(s).bookings_of(invite.consultation_id)
            if not rows:
                raise InviteInvalid("this link does not belong to an appointment")
            b, slot = rows[0]
            link = (await self._booking_view(s, b))["url"]
        return calendar_file(self.customer_entry(b, slot, link), self.core.clock())

    # -- reminders -----------------------------------------------------------------------

    async def due_reminders(self) -> list[Reminder]:
        """Reminders due now. Addresses that can no longer serve a reminder (the
        appointment has begun, or it was cancelled) are deleted on the way."""
        core, now = self.core, self.core.clock()
        lead = timedelta(minutes=self.policy.reminder_minutes)
        due: list[Reminder] = []
        async with core.db.session() as s:
            repo = AppointmentRepository(s)
            for b, slot in await repo.holding_addresses():
                if slot.starts_at <= now or not b.reminder or slot.state != SlotState.booked:
                    await forget_address(repo, b.id)
                    log.info("reminder address deleted unsent booking=%s", b.id)
                    continue
                if slot.starts_at - lead > now or b.email_sealed is None:
                    continue
                cid = b.consultation_id
                dek = await core.vault.dek(s, cid)
                link = core.vault.open_text(dek, cid, BOOKING_LINK, b.id, b.link_sealed)
                due.append(
                    Reminder(
                        booking_id=b.id,
                        email=core.vault.open_text(dek, cid, BOOKING_EMAIL, b.id, b.email_sealed),
                        lang=b.lang,
                        starts_at=slot.starts_at,
                        ends_at=slot.ends_at,
                        link=link,
                        calendar=calendar_file(self.customer_entry(b, slot, link), now),
                    )
                )
        return due

    async def reminder_sent(self, booking_id: str) -> None:
        """The reminder went out: the address has done its job and is deleted."""
        async with self.core.db.session() as s:
            b = await s.get(Booking, booking_id)
            if b is not None:
                b.email_sealed, b.reminder_sent_at = None, self.core.clock()

    async def reminder_failed(self, booking_id: str) -> bool:
        """Count a failed attempt; after the last one the address is deleted. True if the
        reminder will be tried again."""
        async with self.core.db.session() as s:
            b = await s.get(Booking, booking_id)
            if b is None:
                return False
            b.reminder_attempts += 1
            if b.reminder_attempts < self.policy.reminder_attempts:
                return True
            await forget_address(AppointmentRepository(s), booking_id)
            return False
