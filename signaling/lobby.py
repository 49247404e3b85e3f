"""Getting in: a customer joins by name (instant queue or invite lobby); advisors see the
queue and their lobbies live and pick up, admit or turn away."""

from __future__ import annotations

import asyncio
import functools
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from signaling import rules
from signaling.core import (
    Core,
    actor_name,
    announce_lobby,
    consultation_view,
    lobby_of,
    queue_of,
    seal_name,
    tell_customer,
)
from signaling.errors import (
    AppointmentPassed,
    Busy,
    InvalidPayload,
    InvalidState,
    InviteExpired,
    InviteInvalid,
    InviteNotOpen,
    NotFound,
)
from signaling.protocol import JoinBody, ParticipantRef
from signaling.rules import Actor
from storage import audit
from storage.models import (
    Consultation,
    ConsultationKind,
    ConsultationState,
    InviteLink,
    Participant,
    ParticipantRole,
    ParticipantStatus,
    new_id,
)
from storage.repositories import (
    Admissions,
    ConsultationRepository,
    InviteRepository,
    ParticipantRepository,
    QueueEntry,
    move_participant,
    move_participant_sync,
)
from storage.tokens import hash_token, new_token
from storage.vault import PARTICIPANT_NAME

# How many customers' joins one node works on at once. The rest wait their turn here, in
# order of arrival, rather than in the database's queue of writers: there they would stand
# in front of every pickup, admission and chat write of the customers already in, and a
# burst of joins would hold up everyone (issue 8's join storm: 14 of 1,000 admitted).
JOINS_AT_ONCE = 4
# A join that found no turn within `Limits.join_wait_seconds` is answered `busy` with this
# hint, not kept waiting for as long as the storm lasts; it has changed nothing.
BUSY_RETRY_SECONDS = 3


class Joined(NamedTuple):
    """A customer who has just joined: they wait in the consultation's lobby or the team's
    queue."""

    participant_id: str
    consultation_id: str
    team_id: str


class Lobby:
    def __init__(self, core: Core) -> None:
        self.core = core
        self.gate = asyncio.Semaphore(JOINS_AT_ONCE)  # the joins' turns (tests hold it)

    async def valid_invite(
        self, invite_repo: InviteRepository, token: str, *, early: bool = False
    ) -> InviteLink:
        """The invite behind a token, if it lets someone in now (or, with `early`, will)."""
        invite = await invite_repo.by_token_hash(hash_token(token))
        if invite is None or invite.revoked_at is not None:
            raise InviteInvalid("this invite link is not valid; ask your advisor for a new one")
        now = self.core.clock()
        if invite.expires_at <= now:
            if invite.not_before is not None:
                raise AppointmentPassed("this appointment has passed; please book a new one")
            raise InviteExpired("this invite link has expired; ask your advisor for a new one")
        if not early and invite.not_before is not None and now < invite.not_before:
            raise InviteNotOpen(
                f"this appointment's lobby opens at {invite.not_before.isoformat()}; "
                "please come back then"
            )
        return invite

    async def join(self, body: JoinBody) -> tuple[Joined, str]:
        """Create a waiting customer; return them and their session token (the only copy)."""
        try:
            async with asyncio.timeout(self.core.limits.join_wait_seconds):
                await self.gate.acquire()  # returns at once, without a timer, when free
        except TimeoutError:
            raise Busy(
                "many customers are joining right now; please try again in a few seconds",
                retry_after=BUSY_RETRY_SECONDS,
            ) from None
        try:
            return await self._join(body)
        finally:
            self.gate.release()

    async def _join(self, body: JoinBody) -> tuple[Joined, str]:
        core = self.core
        if body.notice_version != core.notice_version:
            raise InvalidPayload("notice_version: the privacy notice has changed, please reload")
        now = core.clock()
        token = new_token()
        if body.team is not None:
            joined = await core.db.run_writing(
                functools.partial(self._enter_queue, body, body.team, hash_token(token), now)
            )
            core.queues.changed(core, joined.team_id)
            return joined, token
        async with core.db.session() as s:
            assert body.invite is not None  # the model guarantees one of the two
            consultations = ConsultationRepository(s)
            invite = await self.valid_invite(InviteRepository(s), body.invite)
            consultation = await consultations.get(invite.consultation_id, for_update=True)
            if consultation is None:
                raise InviteInvalid("this invite link is not valid")
            rules.check_open(consultation.state)
            waiting = await ParticipantRepository(s).count(
                consultation.id, ParticipantStatus.waiting
            )
            rules.check_lobby_room(waiting, core.limits.lobby_size)
            if consultation.state == ConsultationState.waiting:
                consultation.state = ConsultationState.lobby
            participant = Participant(
                **self._customer(body, consultation.id, hash_token(token), now),
                name_sealed=b"",
            )
            dek = await core.vault.dek(s, consultation.id)
            seal_name(core, dek, participant, f"{body.first_name} {body.last_name}")
            await ParticipantRepository(s).add(participant)
            acknowledged = self._acknowledged(participant.id, consultation.id)
            await audit.append(s, now, *acknowledged, version=body.notice_version)
        await announce_lobby(core, consultation)
        return Joined(participant.id, consultation.id, consultation.team_id), token

    def _enter_queue(
        self, body: JoinBody, slug: str, token_hash: str, now: datetime, conn: Connection
    ) -> Joined:
        """A customer into a team's instant queue, as one unit of work of Core statements
        (`run_writing`): the join storm's hot path, where the ORM's session and its trips
        through SQLAlchemy's asyncio layer cost more than the statements (docs/benchmarks.md)."""
        core = self.core
        queue = Admissions(conn)
        team_id = queue.team_id(slug)
        if team_id is None:
            raise NotFound("no such team")
        rules.check_lobby_room(queue.count(team_id), core.limits.queue_size, "queue")
        consultation_id = new_id()
        queue.add_consultation(
            {
                "id": consultation_id,
                "team_id": team_id,
                "kind": ConsultationKind.instant,
                "state": ConsultationState.waiting,
                "created_at": now,
            }
        )
        dek = core.vault.create_sync(conn, consultation_id, now)
        customer = self._customer(body, consultation_id, token_hash, now)
        name = f"{body.first_name} {body.last_name}"
        customer["name_sealed"] = core.vault.seal_text(
            dek, consultation_id, PARTICIPANT_NAME, customer["id"], name
        )
        queue.add_participant(customer)
        acknowledged = self._acknowledged(customer["id"], consultation_id)
        audit.append_sync(conn, now, *acknowledged, version=body.notice_version)
        return Joined(customer["id"], consultation_id, team_id)

    @staticmethod
    def _customer(
        body: JoinBody, consultation_id: str, token_hash: str, now: datetime
    ) -> dict[str, Any]:
        """A waiting customer's columns, but for the sealed name."""
        return {
            "id": new_id(),
            "consultation_id": consultation_id,
            "role": ParticipantRole.customer,
            "status": ParticipantStatus.waiting,
            "session_token_hash": token_hash,
            "notice_version": body.notice_version,
            "notice_acknowledged_at": now,
            "created_at": now,
            "waiting_since": now,
        }

    @staticmethod
    def _acknowledged(participant_id: str, consultation_id: str) -> tuple[str, str, str]:
        """Actor, action and subject of the audit entry of a customer's acknowledging the
        privacy notice as they join."""
        customer, consultation = f"customer:{participant_id}", f"consultation:{consultation_id}"
        return customer, "privacy_notice_acknowledged", consultation

    async def status(self, actor: Actor) -> dict[str, Any]:
        assert actor.participant_id is not None
        assert actor.consultation_id is not None
        pid, cid = actor.participant_id, actor.consultation_id
        found = await self.core.db.run_reading(lambda conn: Admissions(conn).standing(pid, cid))
        if found is None:
            raise NotFound("no such participant")
        status, state = found
        shown = "ended" if state == ConsultationState.ended else str(status)
        return {
            "consultation_id": actor.consultation_id,
            "participant_id": actor.participant_id,
            "status": shown,
        }

    async def pickup(self, actor: Actor, consultation_id: str) -> dict[str, Any]:
        core = self.core
        now = core.clock()
        claim = functools.partial(self._claim, actor, consultation_id, now)
        team_id, customer = await core.db.run_writing(claim)
        if customer.waiting_since is not None:
            core.observer.waited((now - customer.waiting_since).total_seconds())
        core.queues.changed(core, team_id)
        await tell_customer(core, customer, "admitted")
        return {"consultation_id": consultation_id}

    @staticmethod
    def _claim(
        actor: Actor, consultation_id: str, now: datetime, conn: Connection
    ) -> tuple[str, QueueEntry]:
        """`pickup`'s unit of work, Core statements on a plain connection (`run_writing`), as
        `_enter_queue`'s: the team and the customer picked up."""
        queue = Admissions(conn)
        c = queue.claimable(consultation_id)
        if c is None:
            rules.unknown(rules.check_team_advisor, actor, "")
        rules.check_team_advisor(actor, c.team_id)
        rules.check_open(c.state)
        assert actor.account_id is not None
        customer = c.customer
        if customer is None or not queue.claim(consultation_id, actor.account_id, now):
            raise InvalidState("this customer has already been picked up")
        waiting, admitted = ParticipantStatus.waiting, ParticipantStatus.admitted
        move_participant_sync(conn, customer.id, waiting, admitted, admitted_at=now)
        subject = f"participant:{customer.id}"
        details = {"consultation": consultation_id, "via": "queue"}
        audit.append_sync(conn, now, actor_name(actor), "admitted", subject, **details)
        return c.team_id, customer

    async def _waiting_customer(
        self, s: AsyncSession, actor: Actor, ref: ParticipantRef
    ) -> tuple[Consultation, Participant]:
        c = await ConsultationRepository(s).get(ref.consultation_id)
        if c is None:
            rules.unknown(rules.check_owner, actor, None)
        if c.advisor_id is None:
            rules.check_team_advisor(actor, c.team_id)
        else:
            rules.check_owner(actor, c.advisor_id)
        rules.check_open(c.state)
        p = await ParticipantRepository(s).get(ref.participant_id)
        if p is None or p.consultation_id != c.id:
            raise NotFound("no such participant in this consultation")
        return c, p

    async def admit(self, actor: Actor, ref: ParticipantRef) -> dict[str, Any]:
        core = self.core
        async with core.db.session() as s:
            c, p = await self._waiting_customer(s, actor, ref)
            rules.check_owner(actor, c.advisor_id)
            rules.check_participant_transition(p.status, ParticipantStatus.admitted)
            participants = ParticipantRepository(s)
            admitted = await participants.count(c.id, ParticipantStatus.admitted)
            rules.check_capacity(admitted, core.limits.participants_per_consultation)
            now = core.clock()
            if not await move_participant(
                s, p.id, ParticipantStatus.waiting, ParticipantStatus.admitted, admitted_at=now
            ):
                raise InvalidState("this customer is no longer waiting")
            c.state = ConsultationState(rules.next_consultation_state(c.state, "active"))
            c.started_at = c.started_at or now
            if p.waiting_since is not None:
                core.observer.waited((now - p.waiting_since).total_seconds())
            await audit.append(
                s, now, actor_name(actor), "admitted", f"participant:{p.id}", consultation=c.id
            )
        await announce_lobby(core, c)
        await tell_customer(core, p, "admitted")
        return {}

    async def refuse(self, actor: Actor, ref: ParticipantRef) -> dict[str, Any]:
        core = self.core
        async with core.db.session() as s:
            c, p = await self._waiting_customer(s, actor, ref)
            rules.check_participant_transition(p.status, ParticipantStatus.refused)
            now = core.clock()
            if not await move_participant(
                s, p.id, ParticipantStatus.waiting, ParticipantStatus.refused, left_at=now
            ):
                raise InvalidState("this customer is no longer waiting")
            if c.kind == ConsultationKind.instant and c.advisor_id is None:
                # a turned-away queue entry has nothing left to become
                c.state = ConsultationState.ended
                c.ended_at = now
            await audit.append(
                s, now, actor_name(actor), "refused", f"participant:{p.id}", consultation=c.id
            )
        await announce_lobby(core, c)
        await tell_customer(core, p, "refused")
        return {}

    async def dashboard(self, actor: Actor) -> dict[str, Any]:
        assert actor.account_id is not None and actor.team_id is not None
        queue, waiting = await queue_of(self.core, actor.team_id)
        async with self.core.db.reading() as s:
            own = await ConsultationRepository(s).of_advisor(actor.account_id)
            invites = await InviteRepository(s).of_consultations([c.id for c in own])
        consultations = []
        for c in own:
            view = consultation_view(c, [i for i in invites if i.consultation_id == c.id])
            live = c.state != ConsultationState.ended
            view["waiting"] = await lobby_of(self.core, c.id) if live else []
            consultations.append(view)
        return {"queue": queue, "queue_waiting": waiting, "consultations": consultations}
