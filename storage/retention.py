"""The retention job: anonymise IP addresses past their age, delete old connection
metadata, crypto-shred consultation content past its period. Idempotent; it works from
the clock it is given, so it catches up after downtime and tests can travel in time."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, stats
from storage.addresses import Anonymisation, anonymise
from storage.blobs import BlobStore
from storage.db import Database
from storage.models import AccessEntry, AuthSession, Consultation, ConsultationState
from storage.privacy import erase_consultation
from storage.vault import Vault

log = logging.getLogger(__name__)

FUTURE_SLACK = timedelta(minutes=5)  # entries "from the future" mean the clock jumped back
BATCH = 1000


@dataclass(frozen=True)
class Policy:
    ip_days: int = 30
    ip_mode: Anonymisation = "remove"
    access_days: int = 90
    content_days: int = 90


@dataclass
class Report:
    ips_anonymised: int = 0
    access_entries_deleted: int = 0
    consultations_erased: int = 0
    skipped: list[str] = field(default_factory=list)


def _ip_due(now: datetime, policy: Policy) -> ColumnElement[bool]:
    """Entries whose address must go: older than the limit, or stamped in the future (the
    clock jumped; their true age is unknown, so they do not get the benefit of the doubt)."""
    return (AccessEntry.ip_done.is_(False)) & or_(
        AccessEntry.at < now - timedelta(days=policy.ip_days), AccessEntry.at > now + FUTURE_SLACK
    )


async def _anonymise_ips(s: AsyncSession, now: datetime, policy: Policy) -> int:
    if policy.ip_mode == "remove":
        result = await s.execute(
            update(AccessEntry).where(_ip_due(now, policy)).values(ip=None, ip_done=True)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
    done = 0
    while True:
        rows = (
            await s.execute(
                select(AccessEntry.id, AccessEntry.ip).where(_ip_due(now, policy)).limit(BATCH)
            )
        ).all()
        for entry_id, ip in rows:
            await s.execute(
                update(AccessEntry)
                .where(AccessEntry.id == entry_id)
                .values(ip=anonymise(ip, "truncate"), ip_done=True)
            )
        done += len(rows)
        if len(rows) < BATCH:
            return done


async def run(
    db: Database, vault: Vault, blobs: BlobStore, policy: Policy, now: datetime
) -> Report:
    report = Report()
    async with db.session() as s:
        report.ips_anonymised = await _anonymise_ips(s, now, policy)
        result = await s.execute(
            delete(AccessEntry).where(AccessEntry.at < now - timedelta(days=policy.access_days))
        )
        report.access_entries_deleted = int(result.rowcount)  # type: ignore[attr-defined]
        await s.execute(delete(AuthSession).where(AuthSession.expires_at <= now))

    due = select(Consultation.id).where(
        Consultation.state == ConsultationState.ended,
        Consultation.ended_at < now - timedelta(days=policy.content_days),
        Consultation.erased_at.is_(None),
    )
    async with db.session() as s:
        ids = list((await s.scalars(due)).all())
    for consultation_id in ids:  # one unit of work each: a failure leaves the others done
        async with db.session() as s:
            c = await s.get(Consultation, consultation_id)
            if c is None:
                continue
            if c.restricted_at is not None or c.legal_hold:
                report.skipped.append(c.id)
                continue
            await stats.record(s, c)
            gone = await erase_consultation(s, vault, c.id, now)
        for blob_id in gone:
            await blobs.delete(blob_id)
        report.consultations_erased += 1

    async with db.session() as s:
        await audit.append(s, now, "system:retention", "retention_run", "", **asdict(report))
    await db.compact_log()
    log.info(
        "retention: %d addresses anonymised, %d access entries and %d consultations erased, "
        "%d skipped (restricted or on hold)",
        report.ips_anonymised,
        report.access_entries_deleted,
        report.consultations_erased,
        len(report.skipped),
    )
    return report
