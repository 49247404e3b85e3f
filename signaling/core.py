"""The consultation core's shared context and the views it sends on the wire."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from signaling.errors import (
    ContentErased,
    IntegrityFailure,
    NotAuthorised,
    ParleyError,
    Restricted,
    StorageUnavailable,
)
from signaling.identity import SessionPolicy
from signaling.ports import (
    Cluster,
    Notifier,
    Observer,
    SingleNode,
    Unobserved,
    account_room,
    participant_room,
    team_room,
)
from signaling.presence import Presence
from signaling.rules import Actor
from signaling.turn import IceConfig
from storage.clock import Clock
from storage.crypto import IntegrityError
from storage.db import Database, unavailable
from storage.models import Consultation, InviteLink, Participant, ParticipantStatus
from storage.repositories import Admissions, ConsultationRepository, ParticipantRepository
from storage.stats import with_feature
from storage.vault import PARTICIPANT_NAME, KeyShredded, Vault

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Limits:
    participants_per_consultation: int = 6
    chat_max_chars: int = 4000
    upload_max_bytes: int = 25 * 1024 * 1024
    lobby_size: int = 20
    queue_size: int = 50
    # the longest-waiting customers a queue announcement names (the rest are counted): an
    # announcement goes to the team after joins and pickups, so it stays this small
    queue_shown: int = 50
    # a team's queue is announced at most once in this many seconds; the changes made
    # meanwhile are in the next announcement (`QueueAnnouncements`)
    queue_announce_gap: float = 0.25
    join_wait_seconds: float = 10.0
    grace_seconds: float = 60.0
    invite_hours: int = 7 * 24
    advisor_session_hours: int = 12
    board_update_max_bytes: int = 256 * 1024
    board_awareness_max_bytes: int = 8 * 1024
    board_updates_per_second: float = 50.0  # per connection, bursts of twice as many
    board_awareness_per_second: float = 30.0
    board_compact_updates: int = 500  # fold the log into the snapshot after this many
    board_compact_bytes: int = 4 * 1024 * 1024  # ... or this many bytes of updates
    # every Socket.IO event of one connection, whatever it is (bursts of twice as many)
    events_per_second: float = 100.0
    # refused events a connection may pile up (refilled at events_per_second) before it
    # is closed as a flood
    flood_refusals: int = 300
    connections_per_address: int = 100


@dataclass(slots=True)
class Core:
    db: Database
    notifier: Notifier
    presence: Presence
    limits: Limits
    clock: Clock
    vault: Vault
    notice_version: str
    public_url: str = ""
    sessions: SessionPolicy = field(default_factory=SessionPolicy)
    ice: IceConfig = field(default_factory=IceConfig)
    observer: Observer = field(default_factory=Unobserved)
    cluster: Cluster = field(default_factory=SingleNode)
    # features already recorded per live consultation, so each is written once
    features_seen: dict[str, set[str]] = field(default_factory=dict)
    # the teams' queue announcements (`QueueAnnouncements`, defined below)
    queues: QueueAnnouncements = field(default_factory=lambda: QueueAnnouncements())


def actor_name(actor: Actor) -> str:
    """Who did it, for the audit log: a role and an id, never a name."""
    if actor.kind == "customer":
        return f"customer:{actor.participant_id}"
    return f"{actor.kind}:{actor.account_id}"


async def mark_feature(core: Core, consultation_id: str, feature: str) -> None:
    """Note that a feature was used in a consultation (for the anonymous statistics)."""
    seen = core.features_seen.setdefault(consultation_id, set())
    if feature in seen:
        return
    seen.add(feature)
    async with core.db.session() as s:
        c = await ConsultationRepository(s).get(consultation_id, for_update=True)
        if c is not None:
            c.features = with_feature(c.features, feature)


def check_unrestricted(c: Consultation) -> None:
    if c.restricted_at is not None:
        raise Restricted("this consultation's content is restricted and cannot be used now")


def seal_name(core: Core, dek: bytes, p: Participant, name: str) -> None:
    p.name_sealed = core.vault.seal_text(dek, p.consultation_id, PARTICIPANT_NAME, p.id, name)


class Listed(Protocol):
    """A participant as lobby and queue views read one: a `Participant` or a queue entry."""

    @property
    def id(self) -> str: ...
    @property
    def consultation_id(self) -> str: ...
    @property
    def name_sealed(self) -> bytes: ...
    @property
    def waiting_since(self) -> datetime | None: ...


async def names_of(core: Core, s: AsyncSession, people: Sequence[Listed]) -> dict[str, str]:
    """Open the sealed names of participants (of any consultations)."""
    return {p.id: _open_name(core, await core.vault.dek(s, p.consultation_id), p) for p in people}


def names_of_sync(core: Core, conn: Connection, people: Sequence[Listed]) -> dict[str, str]:
    """`names_of` on a synchronous connection (`Database.run_reading`)."""
    return {p.id: _open_name(core, core.vault.dek_sync(conn, p.consultation_id), p) for p in people}


def _open_name(core: Core, dek: bytes, p: Listed) -> str:
    return core.vault.open_text(dek, p.consultation_id, PARTICIPANT_NAME, p.id, p.name_sealed)


def storage_refusal(exc: Exception) -> ParleyError | None:
    """What a storage-layer failure means to a client, for the adapters; None if it is a
    plain bug (answered `internal_error`)."""
    if isinstance(exc, KeyShredded):
        return ContentErased("this consultation's content has been erased")
    if isinstance(exc, IntegrityError):
        log.error("stored ciphertext failed authentication: %s", exc)
        return IntegrityFailure("stored data failed its integrity check and was not used")
    if unavailable(exc):
        # a full, read-only or vanished disk or database: the write did not happen
        log.error("storage failed: %s", type(exc).__name__)
        return StorageUnavailable("the server could not store this just now; try again later")
    return None


def joined_participant(core: Core, sid: str, consultation_id: str) -> str:
    """The participant this socket is in the consultation's room as, or a refusal."""
    pid = core.presence.participant_in(sid, consultation_id)
    if pid is None:
        raise NotAuthorised("you are not in this consultation's room")
    return pid


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def participant_view(
    consultation_id: str, participant_id: str, role: str, name: str, presence: Presence
) -> dict[str, Any]:
    media = presence.media_of(participant_id)
    return {
        "id": participant_id,
        "role": role,
        "name": name,
        "audio": media.audio if media else False,
        "video": media.video if media else False,
        "connected": presence.in_room(consultation_id, participant_id),
    }


def member_view(consultation_id: str, participant_id: str, presence: Presence) -> dict[str, Any]:
    """The view of a participant who has joined the room (presence knows their name)."""
    member = presence.member_of(participant_id)
    assert member is not None, "member_view is for participants who have joined"
    return participant_view(consultation_id, participant_id, member.role, member.name, presence)


def lobby_entry(p: Listed, name: str) -> dict[str, Any]:
    return {"participant_id": p.id, "name": name, "waiting_since": iso(p.waiting_since)}


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
        "restricted": c.restricted_at is not None,
        "erased": c.erased_at is not None,
        "invites": [invite_view(i) for i in invites or []],
    }


async def queue_of(core: Core, team_id: str) -> tuple[list[dict[str, Any]], int]:
    """A team's instant queue as advisors see it: the longest-waiting `queue_shown`
    customers, longest waiting first, and how many wait in all. Every join and pickup
    announces it, so it is read as one plain unit (`run_reading`)."""
    return await core.db.run_reading(functools.partial(_read_queue, core, team_id))


def _read_queue(core: Core, team_id: str, conn: Connection) -> tuple[list[dict[str, Any]], int]:
    queue = Admissions(conn).queue(team_id, core.limits.queue_shown)
    names = names_of_sync(core, conn, queue.entries)
    shown = [
        {"consultation_id": e.consultation_id, **lobby_entry(e, names[e.id])} for e in queue.entries
    ]
    return shown, queue.waiting


async def announce_queue(core: Core, team_id: str) -> None:
    queue, waiting = await queue_of(core, team_id)
    data = {"team_id": team_id, "queue": queue, "waiting": waiting}
    await core.notifier.emit("queue_updated", data, team_room(team_id))


class QueueAnnouncements:
    """A team's queue announced to its advisors after it changed, in the background, at
    most once every `Limits.queue_announce_gap` seconds per team: a change in a quiet
    moment is announced at once, the changes made while an announcement is read and sent
    or within the gap after it fold into one more, read at the end of the gap. Every join
    and pickup changes the queue, and announcing each one (a read of the queue, its names
    opened, sent to every advisor of the team) was about a quarter of a join storm's CPU
    (docs/benchmarks.md, S5). A join or pickup no longer waits for its announcement."""

    def __init__(self) -> None:
        self._again: set[str] = set()  # teams changed since their announcement was read
        self._announcing: dict[str, asyncio.Task[None]] = {}
        self._closed = False

    def changed(self, core: Core, team_id: str) -> None:
        if self._closed:  # the server is stopping
            return
        self._again.add(team_id)
        if team_id not in self._announcing:
            task = asyncio.create_task(self._announce(core, team_id))
            self._announcing[team_id] = task

    async def _announce(self, core: Core, team_id: str) -> None:
        try:
            while team_id in self._again:
                self._again.discard(team_id)
                try:
                    await announce_queue(core, team_id)
                except Exception as exc:  # the next change tries again
                    if storage_refusal(exc) is None:  # which logs a storage failure
                        log.exception("announcing a queue failed team=%s", team_id)
                await asyncio.sleep(core.limits.queue_announce_gap)
        finally:
            del self._announcing[team_id]

    async def close(self) -> None:
        """Stop announcing (the server is stopping; its sockets are closing)."""
        self._closed = True
        tasks = list(self._announcing.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._again.clear()


async def lobby_of(core: Core, consultation_id: str) -> list[dict[str, Any]]:
    async with core.db.reading() as s:
        waiting = await ParticipantRepository(s).of_consultation(
            consultation_id, [ParticipantStatus.waiting]
        )
        names = await names_of(core, s, waiting)
    return [lobby_entry(p, names[p.id]) for p in waiting]


async def announce_lobby(core: Core, c: Consultation) -> None:
    """Tell whoever watches this consultation's waiting customers: its advisor, or the team
    while it is an unclaimed instant consultation."""
    if c.advisor_id is None:
        core.queues.changed(core, c.team_id)
        return
    data = {"consultation_id": c.id, "waiting": await lobby_of(core, c.id)}
    await core.notifier.emit("lobby_updated", data, account_room(c.advisor_id))


async def tell_customer(core: Core, p: Listed, status: str) -> None:
    data = {"consultation_id": p.consultation_id, "participant_id": p.id, "status": status}
    await core.notifier.emit("lobby_state", data, participant_room(p.id))
