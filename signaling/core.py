"""The consultation core's shared context and the views it sends on the wire."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from signaling.ports import Notifier, account_room, participant_room, team_room
from signaling.presence import Presence
from storage.clock import Clock
from storage.db import Database
from storage.models import Consultation, InviteLink, Participant, ParticipantStatus
from storage.repositories import ConsultationRepository, ParticipantRepository


@dataclass(frozen=True, slots=True)
class Limits:
    participants_per_consultation: int = 6
    lobby_size: int = 20
    queue_size: int = 50
    grace_seconds: float = 60.0
    invite_hours: int = 7 * 24
    advisor_session_hours: int = 12


@dataclass(slots=True)
class Core:
    db: Database
    notifier: Notifier
    presence: Presence
    limits: Limits
    clock: Clock
    notice_version: str
    public_url: str = ""


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def participant_view(p: Participant, presence: Presence) -> dict[str, Any]:
    media = presence.media.get(p.id)
    return {
        "id": p.id,
        "role": str(p.role),
        "name": p.name,
        "audio": media.audio if media else False,
        "video": media.video if media else False,
        "connected": presence.in_room(p.consultation_id, p.id),
    }


def lobby_entry(p: Participant) -> dict[str, Any]:
    return {"participant_id": p.id, "name": p.name, "waiting_since": iso(p.waiting_since)}


def invite_view(i: InviteLink, url: str | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": i.id,
        "expires_at": iso(i.expires_at),
        "revoked": i.revoked_at is not None,
    }
    if url is not None:
        view["url"] = url
    return view


def consultation_view(c: Consultation, invites: list[InviteLink] | None = None) -> dict[str, Any]:
    return {
        "id": c.id,
        "kind": str(c.kind),
        "state": str(c.state),
        "title": c.title,
        "created_at": iso(c.created_at),
        "ended_at": iso(c.ended_at),
        "invites": [invite_view(i) for i in invites or []],
    }


async def announce_queue(core: Core, team_id: str) -> None:
    async with core.db.session() as s:
        rows = await ConsultationRepository(s).queue(team_id)
    queue = [{"consultation_id": c.id, **lobby_entry(p)} for c, p in rows]
    await core.notifier.emit(
        "queue_updated", {"team_id": team_id, "queue": queue}, team_room(team_id)
    )


async def lobby_of(core: Core, consultation_id: str) -> list[dict[str, Any]]:
    async with core.db.session() as s:
        waiting = await ParticipantRepository(s).of_consultation(
            consultation_id, [ParticipantStatus.waiting]
        )
    return [lobby_entry(p) for p in waiting]


async def announce_lobby(core: Core, c: Consultation) -> None:
    """Tell whoever watches this consultation's waiting customers: its advisor, or the team
    while it is an unclaimed instant consultation."""
    if c.advisor_id is None:
        await announce_queue(core, c.team_id)
        return
    data = {"consultation_id": c.id, "waiting": await lobby_of(core, c.id)}
    await core.notifier.emit("lobby_updated", data, account_room(c.advisor_id))


async def tell_customer(core: Core, p: Participant, status: str) -> None:
    data = {"consultation_id": p.consultation_id, "participant_id": p.id, "status": status}
    await core.notifier.emit("lobby_state", data, participant_room(p.id))
