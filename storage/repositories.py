"""Typed repositories: every query lives here. They take a session and never commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Result, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Account,
    AuthSession,
    ChatMessage,
    Consultation,
    ConsultationKind,
    ConsultationState,
    FileState,
    InviteLink,
    Participant,
    ParticipantRole,
    ParticipantStatus,
    StoredFile,
    Team,
)


class Repository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def flush(self) -> None:
        await self.session.flush()


class TeamRepository(Repository):
    async def get(self, team_id: str) -> Team | None:
        return await self.session.get(Team, team_id)

    async def by_slug(self, slug: str) -> Team | None:
        return await self.session.scalar(select(Team).where(Team.slug == slug))

    async def add(self, team: Team) -> Team:
        self.session.add(team)
        await self.session.flush()
        return team


class AccountRepository(Repository):
    async def get(self, account_id: str) -> Account | None:
        return await self.session.get(Account, account_id)

    async def by_username(self, username: str) -> Account | None:
        return await self.session.scalar(select(Account).where(Account.username == username))

    async def add(self, account: Account) -> Account:
        self.session.add(account)
        await self.session.flush()
        return account


class AuthSessionRepository(Repository):
    async def add(self, auth_session: AuthSession) -> None:
        self.session.add(auth_session)
        await self.session.flush()

    async def account_for(self, token_hash: str, now: datetime) -> Account | None:
        stmt = (
            select(Account)
            .join(AuthSession, AuthSession.account_id == Account.id)
            .where(
                AuthSession.token_hash == token_hash,
                AuthSession.expires_at > now,
                Account.disabled.is_(False),
            )
        )
        return await self.session.scalar(stmt)

    async def remove(self, token_hash: str) -> None:
        await self.session.execute(delete(AuthSession).where(AuthSession.token_hash == token_hash))

    async def remove_expired(self, now: datetime) -> None:
        await self.session.execute(delete(AuthSession).where(AuthSession.expires_at <= now))


class ConsultationRepository(Repository):
    async def get(self, consultation_id: str, *, for_update: bool = False) -> Consultation | None:
        stmt = select(Consultation).where(Consultation.id == consultation_id)
        if for_update:
            stmt = stmt.with_for_update()
        return await self.session.scalar(stmt)

    async def add(self, consultation: Consultation) -> Consultation:
        self.session.add(consultation)
        await self.session.flush()
        return consultation

    async def of_advisor(self, advisor_id: str, limit: int = 50) -> Sequence[Consultation]:
        stmt = (
            select(Consultation)
            .where(Consultation.advisor_id == advisor_id)
            .order_by(Consultation.created_at.desc())
            .limit(limit)
        )
        return (await self.session.scalars(stmt)).all()

    async def count_queue(self, team_id: str) -> int:
        stmt = select(func.count()).where(
            Consultation.team_id == team_id,
            Consultation.kind == ConsultationKind.instant,
            Consultation.state == ConsultationState.waiting,
        )
        return int(await self.session.scalar(stmt) or 0)

    async def queue(self, team_id: str) -> Sequence[tuple[Consultation, Participant]]:
        """The team's instant queue: waiting instant consultations with their customer."""
        stmt = (
            select(Consultation, Participant)
            .join(Participant, Participant.consultation_id == Consultation.id)
            .where(
                Consultation.team_id == team_id,
                Consultation.kind == ConsultationKind.instant,
                Consultation.state == ConsultationState.waiting,
                Participant.status == ParticipantStatus.waiting,
            )
            .order_by(Participant.waiting_since, Participant.id)
        )
        return [(c, p) for c, p in (await self.session.execute(stmt)).all()]


class ParticipantRepository(Repository):
    async def get(self, participant_id: str) -> Participant | None:
        return await self.session.get(Participant, participant_id)

    async def by_session(self, token_hash: str) -> Participant | None:
        stmt = select(Participant).where(Participant.session_token_hash == token_hash)
        return await self.session.scalar(stmt)

    async def by_receipt(self, token_hash: str) -> Participant | None:
        stmt = select(Participant).where(Participant.receipt_token_hash == token_hash)
        return await self.session.scalar(stmt)

    async def add(self, participant: Participant) -> Participant:
        self.session.add(participant)
        await self.session.flush()
        return participant

    async def of_consultation(
        self, consultation_id: str, statuses: Sequence[ParticipantStatus] | None = None
    ) -> Sequence[Participant]:
        stmt = select(Participant).where(Participant.consultation_id == consultation_id)
        if statuses is not None:
            stmt = stmt.where(Participant.status.in_(statuses))
        stmt = stmt.order_by(Participant.waiting_since, Participant.created_at, Participant.id)
        return (await self.session.scalars(stmt)).all()

    async def count(self, consultation_id: str, status: ParticipantStatus) -> int:
        stmt = select(func.count()).where(
            Participant.consultation_id == consultation_id, Participant.status == status
        )
        return int(await self.session.scalar(stmt) or 0)

    async def advisor_in(self, consultation_id: str, account_id: str) -> Participant | None:
        stmt = select(Participant).where(
            Participant.consultation_id == consultation_id,
            Participant.account_id == account_id,
            Participant.role == ParticipantRole.advisor,
        )
        return await self.session.scalar(stmt)


class InviteRepository(Repository):
    async def add(self, invite: InviteLink) -> InviteLink:
        self.session.add(invite)
        await self.session.flush()
        return invite

    async def get(self, invite_id: str) -> InviteLink | None:
        return await self.session.get(InviteLink, invite_id)

    async def by_token_hash(self, token_hash: str) -> InviteLink | None:
        stmt = select(InviteLink).where(InviteLink.token_hash == token_hash)
        return await self.session.scalar(stmt)

    async def of_consultations(self, consultation_ids: Sequence[str]) -> Sequence[InviteLink]:
        if not consultation_ids:
            return []
        stmt = (
            select(InviteLink)
            .where(InviteLink.consultation_id.in_(consultation_ids))
            .order_by(InviteLink.created_at)
        )
        return (await self.session.scalars(stmt)).all()


def _rowcount(result: Result[Any]) -> int:
    return cast("CursorResult[Any]", result).rowcount


async def claim_instant(
    session: AsyncSession, consultation_id: str, advisor_id: str, now: datetime
) -> bool:
    """Give an unclaimed waiting instant consultation to an advisor; False if someone else
    was first (a conditional UPDATE, so two advisors racing cannot both win)."""
    stmt = (
        update(Consultation)
        .where(
            Consultation.id == consultation_id,
            Consultation.kind == ConsultationKind.instant,
            Consultation.state == ConsultationState.waiting,
            Consultation.advisor_id.is_(None),
        )
        .values(advisor_id=advisor_id, state=ConsultationState.active, started_at=now)
    )
    return _rowcount(await session.execute(stmt)) == 1


async def move_participant(
    session: AsyncSession,
    participant_id: str,
    expected: ParticipantStatus,
    target: ParticipantStatus,
    **values: object,
) -> bool:
    """Change a participant's status only if it still is `expected` (compare and set)."""
    stmt = (
        update(Participant)
        .where(Participant.id == participant_id, Participant.status == expected)
        .values(status=target, **values)
        .execution_options(synchronize_session="fetch")
    )
    return _rowcount(await session.execute(stmt)) == 1


class ChatRepository(Repository):
    async def next_seq(self, consultation_id: str) -> int | None:
        """The consultation's next chat sequence number, counted in the database so every
        node and every concurrent writer gets a distinct, gap-free number; None when the
        consultation is restricted (nothing new may be added to it)."""
        stmt = (
            update(Consultation)
            .where(Consultation.id == consultation_id, Consultation.restricted_at.is_(None))
            .values(chat_seq=Consultation.chat_seq + 1)
            .returning(Consultation.chat_seq)
        )
        seq = (await self.session.execute(stmt)).scalar_one_or_none()
        return None if seq is None else int(seq)

    async def by_client_id(
        self, consultation_id: str, sender_id: str, client_id: str
    ) -> ChatMessage | None:
        stmt = select(ChatMessage).where(
            ChatMessage.consultation_id == consultation_id,
            ChatMessage.sender_id == sender_id,
            ChatMessage.client_id == client_id,
        )
        return await self.session.scalar(stmt)

    async def add(self, message: ChatMessage) -> ChatMessage:
        self.session.add(message)
        await self.session.flush()
        return message

    async def after(self, consultation_id: str, seq: int, limit: int) -> Sequence[ChatMessage]:
        stmt = (
            select(ChatMessage)
            .where(ChatMessage.consultation_id == consultation_id, ChatMessage.seq > seq)
            .order_by(ChatMessage.seq)
            .limit(limit)
        )
        return (await self.session.scalars(stmt)).all()


class FileRepository(Repository):
    async def get(self, file_id: str) -> StoredFile | None:
        return await self.session.get(StoredFile, file_id)

    async def add(self, stored: StoredFile) -> StoredFile:
        self.session.add(stored)
        await self.session.flush()
        return stored

    async def of_consultation(self, consultation_id: str) -> Sequence[StoredFile]:
        stmt = (
            select(StoredFile)
            .where(
                StoredFile.consultation_id == consultation_id,
                StoredFile.state == FileState.ready,
            )
            .order_by(StoredFile.created_at)
        )
        return (await self.session.scalars(stmt)).all()

    async def unfinished(self, before: datetime) -> Sequence[StoredFile]:
        """Uploads that never finished (a node died mid-upload)."""
        stmt = select(StoredFile).where(
            StoredFile.state == FileState.uploading, StoredFile.created_at < before
        )
        return (await self.session.scalars(stmt)).all()
