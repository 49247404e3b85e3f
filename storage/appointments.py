"""Queries of appointment slots and bookings. Like every repository, they never commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update

from storage.models import AppointmentSlot, Booking, SlotState
from storage.repositories import Repository, _rowcount

# a slot that still holds something for someone: offered or booked
LIVE = (SlotState.free, SlotState.booked)


class AppointmentRepository(Repository):
    async def add_slot(self, slot: AppointmentSlot) -> AppointmentSlot:
        self.session.add(slot)
        await self.session.flush()
        return slot

    async def slot(self, slot_id: str) -> AppointmentSlot | None:
        return await self.session.get(AppointmentSlot, slot_id)

    async def overlapping(self, advisor_id: str, starts_at: datetime, ends_at: datetime) -> int:
        """How many of the advisor's live slots overlap [starts_at, ends_at)."""
        stmt = select(AppointmentSlot.id).where(
            AppointmentSlot.advisor_id == advisor_id,
            AppointmentSlot.state.in_(LIVE),
            AppointmentSlot.starts_at < ends_at,
            AppointmentSlot.ends_at > starts_at,
        )
        return len((await self.session.scalars(stmt)).all())

    async def free_of_team(
        self, team_id: str, after: datetime, limit: int
    ) -> Sequence[AppointmentSlot]:
        stmt = (
            select(AppointmentSlot)
            .where(
                AppointmentSlot.team_id == team_id,
                AppointmentSlot.state == SlotState.free,
                AppointmentSlot.starts_at > after,
            )
            .order_by(AppointmentSlot.starts_at, AppointmentSlot.id)
            .limit(limit)
        )
        return (await self.session.scalars(stmt)).all()

    async def upcoming_of_advisor(
        self, advisor_id: str, now: datetime, limit: int
    ) -> Sequence[tuple[AppointmentSlot, Booking | None]]:
        """The advisor's offered and booked slots that have not ended, soonest first."""
        stmt = (
            select(AppointmentSlot, Booking)
            .outerjoin(Booking, Booking.slot_id == AppointmentSlot.id)
            .where(
                AppointmentSlot.advisor_id == advisor_id,
                AppointmentSlot.state.in_(LIVE),
                AppointmentSlot.ends_at > now,
            )
            .order_by(AppointmentSlot.starts_at, AppointmentSlot.id)
            .limit(limit)
        )
        return [(slot, booking) for slot, booking in (await self.session.execute(stmt)).all()]

    async def add_booking(self, booking: Booking) -> Booking:
        self.session.add(booking)
        await self.session.flush()
        return booking

    async def booking_of_slot(self, slot_id: str) -> Booking | None:
        return await self.session.scalar(select(Booking).where(Booking.slot_id == slot_id))

    async def bookings_of(self, consultation_id: str) -> Sequence[tuple[Booking, AppointmentSlot]]:
        stmt = (
            select(Booking, AppointmentSlot)
            .join(AppointmentSlot, AppointmentSlot.id == Booking.slot_id)
            .where(Booking.consultation_id == consultation_id)
        )
        return [(b, slot) for b, slot in (await self.session.execute(stmt)).all()]

    async def holding_addresses(self) -> Sequence[tuple[Booking, AppointmentSlot]]:
        """Bookings that still hold an e-mail address (a reminder is pending)."""
        stmt = (
            select(Booking, AppointmentSlot)
            .join(AppointmentSlot, AppointmentSlot.id == Booking.slot_id)
            .where(Booking.email_sealed.is_not(None))
            .order_by(AppointmentSlot.starts_at)
        )
        return [(b, slot) for b, slot in (await self.session.execute(stmt)).all()]


async def book_slot(repo: AppointmentRepository, slot_id: str, now: datetime) -> bool:
    """Mark a free, not yet started slot booked; False if it is not (any more): a
    conditional UPDATE, so two customers racing for one slot cannot both win."""
    stmt = (
        update(AppointmentSlot)
        .where(
            AppointmentSlot.id == slot_id,
            AppointmentSlot.state == SlotState.free,
            AppointmentSlot.starts_at > now,
        )
        .values(state=SlotState.booked)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(await repo.session.execute(stmt)) == 1


async def cancel_free_slot(repo: AppointmentRepository, slot_id: str) -> bool:
    """Withdraw a slot nobody booked; False if it is booked (or gone) by now."""
    stmt = (
        update(AppointmentSlot)
        .where(AppointmentSlot.id == slot_id, AppointmentSlot.state == SlotState.free)
        .values(state=SlotState.cancelled)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(await repo.session.execute(stmt)) == 1


async def forget_address(repo: AppointmentRepository, booking_id: str) -> None:
    await repo.session.execute(
        update(Booking)
        .where(Booking.id == booking_id)
        .values(email_sealed=None)
        .execution_options(synchronize_session=False)
    )
