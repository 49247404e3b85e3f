"""What ops see: the health of every live consultation as metadata only (state, times,
counts, each connection's path and quality) — never names, chat, files or whiteboard."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from sqlalchemy import select

from signaling.core import Core, iso, joined_participant
from signaling.errors import LimitExceeded
from signaling.protocol import QualityReport
from storage.models import Consultation, ConsultationState, Participant, ParticipantStatus, Team

OPS_ROOM = "ops"
REPORT_INTERVAL = 2.0  # seconds between quality reports a browser may send


class Ops:
    def __init__(self, core: Core) -> None:
        self.core = core
        self._last_report: dict[str, float] = {}  # sid -> monotonic time

    def report(self, sid: str, report: QualityReport) -> dict[str, Any]:
        """Keep a participant's latest connection-quality report (rate-limited)."""
        pid = joined_participant(self.core, sid, report.consultation_id)
        now = time.monotonic()
        if now - self._last_report.get(sid, -REPORT_INTERVAL) < REPORT_INTERVAL * 0.9:
            raise LimitExceeded(f"send at most one quality report every {REPORT_INTERVAL:g} s")
        self._last_report[sid] = now
        self.core.presence.quality[pid] = (now, [p.model_dump() for p in report.peers])
        return {}

    def forget(self, sid: str) -> None:
        self._last_report.pop(sid, None)

    def paths(self) -> Counter[str]:
        """How many reported peer connections go which way (direct, stun, relay)."""
        return Counter(
            str(peer["path"])
            for _, peers in self.core.presence.quality.values()
            for peer in peers
            if peer.get("ice_state") in ("connected", "completed")
        )

    async def snapshot(self) -> dict[str, Any]:
        core = self.core
        now = core.clock()
        async with core.db.reading() as s:
            live = (
                await s.scalars(
                    select(Consultation).where(Consultation.state != ConsultationState.ended)
                )
            ).all()
            people = (
                (
                    await s.scalars(
                        select(Participant).where(
                            Participant.consultation_id.in_([c.id for c in live]),
                            Participant.status.in_(
                                [ParticipantStatus.waiting, ParticipantStatus.admitted]
                            ),
                        )
                    )
                ).all()
                if live
                else []
            )
            teams = {t.id: t.slug for t in (await s.scalars(select(Team))).all()}
        by_consultation: dict[str, list[Participant]] = {}
        for p in people:
            by_consultation.setdefault(p.consultation_id, []).append(p)
        consultations, queues = [], Counter[str]()
        longest: dict[str, float] = {}
        for c in live:
            mine = by_consultation.get(c.id, [])
            waiting = [p for p in mine if p.status == ParticipantStatus.waiting]
            admitted = [p for p in mine if p.status == ParticipantStatus.admitted]
            waits = [(now - p.waiting_since).total_seconds() for p in waiting if p.waiting_since]
            if c.advisor_id is None:
                queues[c.team_id] += len(waiting)
                longest[c.team_id] = max([longest.get(c.team_id, 0.0), *waits])
            consultations.append(
                {
                    "id": c.id,
                    "team": teams.get(c.team_id, ""),
                    "kind": str(c.kind),
                    "state": str(c.state),
                    "started_at": iso(c.started_at),
                    "duration_seconds": int((now - c.started_at).total_seconds())
                    if c.started_at
                    else 0,
                    "waiting": len(waiting),
                    "longest_wait_seconds": int(max(waits, default=0)),
                    "participants": dict(Counter(str(p.role) for p in admitted)),
                    "connections": [self._health(c.id, p) for p in admitted],
                }
            )
        return {
            "at": iso(now),
            "consultations": consultations,
            "queues": [
                {
                    "team": teams.get(t, ""),
                    "waiting": n,
                    "longest_wait_seconds": int(longest.get(t, 0)),
                }
                for t, n in sorted(queues.items())
            ],
            "totals": {
                "live": sum(1 for c in live if c.state == ConsultationState.active),
                "waiting": sum(1 for p in people if p.status == ParticipantStatus.waiting),
                "connected_sockets": len(core.presence),
            },
        }

    def _health(self, consultation_id: str, p: Participant) -> dict[str, Any]:
        presence = self.core.presence
        report = presence.quality.get(p.id)
        return {
            "role": str(p.role),
            "connected": presence.in_room(consultation_id, p.id),
            "peers": [
                {k: v for k, v in peer.items() if k != "to"}
                for peer in (report[1] if report else [])
            ],
            "report_age_seconds": round(time.monotonic() - report[0], 1) if report else None,
        }
