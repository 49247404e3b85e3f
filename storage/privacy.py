"""Data-subject rights as data operations: export, rectify, erase, restrict. They run in the
caller's unit of work; blobs to delete are returned and deleted by the caller after commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    ChatMessage,
    Consultation,
    InviteLink,
    Participant,
    StoredFile,
)
from storage.vault import CHAT_BODY, FILE_NAME, PARTICIPANT_NAME, Vault


class Gone(LookupError):
    """No such participant or consultation (or it was erased)."""


async def _participant(s: AsyncSession, participant_id: str) -> Participant:
    p = await s.get(Participant, participant_id)
    if p is None:
        raise Gone("no such participant")
    return p


async def _consultation(s: AsyncSession, consultation_id: str) -> Consultation:
    c = await s.get(Consultation, consultation_id)
    if c is None or c.erased_at is not None:
        raise Gone("no such consultation")
    return c


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _consultation_facts(c: Consultation) -> dict[str, Any]:
    return {
        "id": c.id,
        "kind": str(c.kind),
        "state": str(c.state),
        "title": c.title,
        "created_at": _iso(c.created_at),
        "started_at": _iso(c.started_at),
        "ended_at": _iso(c.ended_at),
        "restricted": c.restricted_at is not None,
    }


async def _person(s: AsyncSession, vault: Vault, dek: bytes, p: Participant) -> dict[str, Any]:
    return {
        "participant_id": p.id,
        "name": vault.open_text(dek, p.consultation_id, PARTICIPANT_NAME, p.id, p.name_sealed),
        "role": str(p.role),
        "status": str(p.status),
        "joined_at": _iso(p.created_at),
        "admitted_at": _iso(p.admitted_at),
        "left_at": _iso(p.left_at),
        "privacy_notice": {
            "version": p.notice_version,
            "acknowledged_at": _iso(p.notice_acknowledged_at),
        },
    }


async def _messages_and_files(
    s: AsyncSession, vault: Vault, dek: bytes, c: Consultation, senders: Sequence[str] | None
) -> tuple[list[dict[str, Any]], list[tuple[StoredFile, str]]]:
    stmt = select(ChatMessage).where(ChatMessage.consultation_id == c.id)
    if senders is not None:
        stmt = stmt.where(ChatMessage.sender_id.in_(senders))
    messages = []
    for m in (await s.scalars(stmt.order_by(ChatMessage.seq))).all():
        messages.append(
            {
                "seq": m.seq,
                "from": m.sender_id,
                "at": _iso(m.created_at),
                "kind": str(m.kind),
                "body": vault.open_text(dek, c.id, CHAT_BODY, m.id, m.body_sealed),
                "file_id": m.file_id,
            }
        )
    stmt_f = select(StoredFile).where(
        StoredFile.consultation_id == c.id, StoredFile.state == "ready"
    )
    if senders is not None:
        stmt_f = stmt_f.where(StoredFile.uploader_id.in_(senders))
    files = [
        (f, vault.open_text(dek, c.id, FILE_NAME, f.id, f.name_sealed))
        for f in (await s.scalars(stmt_f.order_by(StoredFile.created_at))).all()
    ]
    return messages, files


def _file_entry(f: StoredFile, name: str) -> dict[str, Any]:
    return {
        "id": f.id,
        "name": name,
        "size": f.size,
        "content_type": f.content_type,
        "uploaded_by": f.uploader_id,
        "in_archive": f"files/{f.id}-{name}",
    }


async def export_participant(
    s: AsyncSession, vault: Vault, participant_id: str, now: datetime
) -> tuple[dict[str, Any], list[tuple[StoredFile, str]]]:
    """What Parley holds about one participant, and nothing about anyone else: their
    record, their own messages and their own files."""
    p = await _participant(s, participant_id)
    c = await _consultation(s, p.consultation_id)
    dek = await vault.dek(s, c.id)
    messages, files = await _messages_and_files(s, vault, dek, c, [p.id])
    document = {
        "format": "parley-export/1",
        "exported_at": _iso(now),
        "subject": await _person(s, vault, dek, p),
        "consultation": _consultation_facts(c),
        "chat_messages": messages,
        "files": [_file_entry(f, name) for f, name in files],
    }
    return document, files


async def export_consultation(
    s: AsyncSession, vault: Vault, consultation_id: str, now: datetime
) -> tuple[dict[str, Any], list[tuple[StoredFile, str]]]:
    c = await _consultation(s, consultation_id)
    dek = await vault.dek(s, c.id)
    people = (await s.scalars(select(Participant).where(Participant.consultation_id == c.id))).all()
    messages, files = await _messages_and_files(s, vault, dek, c, None)
    document = {
        "format": "parley-export/1",
        "exported_at": _iso(now),
        "consultation": _consultation_facts(c),
        "participants": [await _person(s, vault, dek, p) for p in people],
        "chat_messages": messages,
        "files": [_file_entry(f, name) for f, name in files],
    }
    return document, files


async def rectify_name(s: AsyncSession, vault: Vault, participant_id: str, name: str) -> None:
    p = await _participant(s, participant_id)
    dek = await vault.dek(s, p.consultation_id)
    p.name_sealed = vault.seal_text(dek, p.consultation_id, PARTICIPANT_NAME, p.id, name)


async def erase_participant(s: AsyncSession, participant_id: str) -> list[str]:
    """Delete a participant, their messages and their files; return the blobs to delete."""
    p = await _participant(s, participant_id)
    blobs = list(
        (await s.scalars(select(StoredFile.id).where(StoredFile.uploader_id == p.id))).all()
    )
    await s.execute(delete(ChatMessage).where(ChatMessage.sender_id == p.id))
    await s.execute(delete(StoredFile).where(StoredFile.uploader_id == p.id))
    await s.execute(delete(Participant).where(Participant.id == p.id))
    return blobs


async def erase_consultation(
    s: AsyncSession, vault: Vault, consultation_id: str, now: datetime
) -> list[str]:
    """Crypto-shred a consultation and delete its content rows; keep a bare row that says it
    was erased. Return the blobs to delete."""
    c = await _consultation(s, consultation_id)
    await vault.shred(s, c.id)
    blobs = list(
        (await s.scalars(select(StoredFile.id).where(StoredFile.consultation_id == c.id))).all()
    )
    for model in (ChatMessage, StoredFile, Participant, InviteLink):
        await s.execute(delete(model).where(model.consultation_id == c.id))
    c.erased_at, c.title = now, ""
    return blobs


async def set_restriction(
    s: AsyncSession, consultation_id: str, restricted: bool, now: datetime
) -> None:
    c = await _consultation(s, consultation_id)
    c.restricted_at = now if restricted else None


async def set_legal_hold(s: AsyncSession, consultation_id: str, held: bool) -> None:
    c = await _consultation(s, consultation_id)
    c.legal_hold = held


async def consultation_of(s: AsyncSession, participant_id: str) -> str:
    return (await _participant(s, participant_id)).consultation_id
