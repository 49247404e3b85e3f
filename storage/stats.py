"""Anonymous usage statistics: one row per ended consultation, and aggregates for ops that
hide any group smaller than a minimum size."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    ChatMessage,
    Consultation,
    ConsultationKind,
    ConsultationStats,
    MessageKind,
    Participant,
    ParticipantRole,
)

FEATURES = ("video", "audio", "screen", "chat", "files", "whiteboard")


def with_feature(features: str, feature: str) -> str:
    return ",".join(sorted({f for f in features.split(",") if f} | {feature}))


async def record(s: AsyncSession, c: Consultation) -> ConsultationStats | None:
    """Write the consultation's statistics once (when it ends, or before retention erases
    it); None if they were written already."""
    if c.stats_recorded or c.ended_at is None:
        return None
    c.stats_recorded = True
    if c.started_at is None:
        return None  # it never began (turned away from the queue, or nobody came)
    people = (await s.scalars(select(Participant).where(Participant.consultation_id == c.id))).all()
    counted = [p for p in people if p.admitted_at is not None]
    customers = [p for p in counted if p.role == ParticipantRole.customer]
    started = c.started_at
    waits = [
        (p.admitted_at - p.waiting_since).total_seconds()
        for p in customers
        if p.admitted_at and p.waiting_since
    ]
    if c.kind == ConsultationKind.instant and started is not None:
        waits.append((started - c.created_at).total_seconds())
    count = select(func.count()).select_from(ChatMessage).where(ChatMessage.consultation_id == c.id)
    texts = int(await s.scalar(count.where(ChatMessage.kind == MessageKind.text)) or 0)
    files = int(await s.scalar(count.where(ChatMessage.kind == MessageKind.file)) or 0)
    stats = ConsultationStats(
        team_id=c.team_id,
        kind=str(c.kind),
        started_at=started,
        ended_at=c.ended_at,
        duration_seconds=int((c.ended_at - started).total_seconds()) if started else 0,
        waiting_seconds=int(min(waits)) if waits else None,
        customers=len(customers),
        advisors=len(counted) - len(customers),
        features=c.features,
        chat_messages=texts,
        files=files,
    )
    s.add(stats)
    return stats


@dataclass(frozen=True)
class Group:
    day: date
    team_id: str
    consultations: int
    suppressed: bool  # fewer than the minimum group size: no figures shown
    duration_avg: float | None = None
    duration_p90: float | None = None
    waiting_avg: float | None = None
    waiting_p90: float | None = None


def _p90(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return float(ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)])


def _avg(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


async def aggregate(
    s: AsyncSession, start: datetime, end: datetime, team_id: str | None, min_group: int
) -> list[Group]:
    """Per day (of the end, UTC) and team: count, average and 90th percentile of duration
    and waiting time; groups below `min_group` show only that they are small."""
    stmt = select(ConsultationStats).where(
        ConsultationStats.ended_at >= start, ConsultationStats.ended_at < end
    )
    if team_id is not None:
        stmt = stmt.where(ConsultationStats.team_id == team_id)
    groups: dict[tuple[date, str], list[ConsultationStats]] = defaultdict(list)
    for row in (await s.scalars(stmt)).all():
        groups[(row.ended_at.date(), row.team_id)].append(row)
    out = []
    for (day, team), rows in sorted(groups.items()):
        if len(rows) < min_group:
            out.append(Group(day, team, len(rows), True))
            continue
        durations = [float(r.duration_seconds) for r in rows]
        waits = [float(r.waiting_seconds) for r in rows if r.waiting_seconds is not None]
        out.append(
            Group(
                day,
                team,
                len(rows),
                False,
                _avg(durations),
                _p90(durations),
                _avg(waits),
                _p90(waits),
            )
        )
    return out
