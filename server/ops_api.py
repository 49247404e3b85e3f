"""Ops: the live overview pushed over Socket.IO, and the history of ended consultations as
metadata (no names, no content)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any

from aiohttp import web
from pydantic import ConfigDict
from sqlalchemy import func, select

from server.privacy_api import ops_only
from server.state import CORE, OPS
from server.web_helpers import envelope
from signaling.core import iso
from signaling.errors import NotFound
from signaling.ops import OPS_ROOM, REPORT_INTERVAL
from signaling.protocol import Payload, Slug, parse
from storage.models import Consultation, ConsultationState, Participant, Team
from storage.repositories import TeamRepository

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
PUSH_INTERVAL = REPORT_INTERVAL


async def push_loop(app: web.Application) -> None:
    """Every couple of seconds, while any ops account is connected, send the overview."""
    core, ops = app[CORE], app[OPS]
    while True:
        await asyncio.sleep(PUSH_INTERVAL)
        if not core.presence.watching("ops"):
            continue
        try:
            await core.notifier.emit("ops_snapshot", await ops.snapshot(), OPS_ROOM)
        except Exception:
            log.exception("the ops overview could not be sent")


class HistoryQuery(Payload):
    model_config = ConfigDict(extra="forbid", strict=False, frozen=True)
    day: date | None = None
    team: Slug | None = None


@routes.get("/api/ops/consultations")
async def history(request: web.Request) -> web.Response:
    """Ended consultations of one day (default today, UTC), optionally of one team."""
    await ops_only(request)
    query = parse(HistoryQuery, dict(request.query))
    core = request.app[CORE]
    day = query.day or core.clock().date()
    start = datetime.combine(day, datetime.min.time(), UTC)
    async with core.db.reading() as s:
        stmt = (
            select(Consultation, Team.slug)
            .join(Team, Team.id == Consultation.team_id)
            .where(
                Consultation.state == ConsultationState.ended,
                Consultation.ended_at >= start,
                Consultation.ended_at < start + timedelta(days=1),
            )
            .order_by(Consultation.ended_at)
        )
        if query.team is not None:
            if await TeamRepository(s).by_slug(query.team) is None:
                raise NotFound(f"no team with slug {query.team!r}")
            stmt = stmt.where(Team.slug == query.team)
        rows = (await s.execute(stmt)).all()
        counts = (
            dict(
                (
                    await s.execute(
                        select(Participant.consultation_id, func.count())
                        .where(
                            Participant.consultation_id.in_([c.id for c, _ in rows]),
                            Participant.admitted_at.is_not(None),
                        )
                        .group_by(Participant.consultation_id)
                    )
                ).all()
            )
            if rows
            else {}
        )
    items: list[dict[str, Any]] = [
        {
            "id": c.id,
            "team": slug,
            "kind": str(c.kind),
            "started_at": iso(c.started_at),
            "ended_at": iso(c.ended_at),
            "duration_seconds": int((c.ended_at - c.started_at).total_seconds())
            if c.started_at and c.ended_at
            else 0,
            "participants": counts.get(c.id, 0),
            "features": [f for f in c.features.split(",") if f],
        }
        for c, slug in rows
    ]
    return envelope({"day": day.isoformat(), "consultations": items})
