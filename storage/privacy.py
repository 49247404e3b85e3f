"""Data-subject rights as data operations: export, rectify, erase, restrict. They run in the
caller's unit of work; blobs to delete are returned and deleted by the caller after commit."""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pycrdt import Doc, Map, merge_updates
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    AppointmentSlot,
    BoardSnapshot,
    BoardUpdate,
    Booking,
    ChatMessage,
    Consultation,
    InviteLink,
    Participant,
    StoredFile,
)
from storage.vault import (
    BOARD_SNAPSHOT,
    BOARD_UPDATE,
    BOOKING_EMAIL,
    BOOKING_NAME,
    CHAT_BODY,
    FILE_NAME,
    PARTICIPANT_NAME,
    Vault,
)

log = logging.getLogger(__name__)

# The whiteboard document's root maps as the browser writes them (client/src/protocol/
# board.ts): "elements" (element id -> Excalidraw element) and "view" (the presented page).
BOARD_MAPS = ("elements", "view")


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


async def stored_board(s: AsyncSession, vault: Vault, dek: bytes, consultation_id: str) -> bytes:
    """The whole stored whiteboard as one Yjs update (snapshot and updates merged without
    loss); b"" if nothing was ever drawn."""
    parts = []
    snap = await s.get(BoardSnapshot, consultation_id)
    if snap is not None:
        parts.append(
            vault.open_bytes(
                dek, consultation_id, BOARD_SNAPSHOT, str(snap.upto_seq), snap.data_sealed
            )
        )
    rows = await s.scalars(
        select(BoardUpdate)
        .where(BoardUpdate.consultation_id == consultation_id)
        .order_by(BoardUpdate.seq)
    )
    for r in rows:
        parts.append(
            vault.open_bytes(dek, consultation_id, BOARD_UPDATE, str(r.seq), r.data_sealed)
        )
    if not parts:
        return b""
    return parts[0] if len(parts) == 1 else merge_updates(*parts)


def board_entry(update: bytes) -> dict[str, Any]:
    """The whiteboard for people and for programs: its root maps as JSON, and the complete
    Yjs update (any Yjs library rebuilds the document from it)."""
    document: dict[str, Any] = {}
    if update:
        doc: Doc[Any] = Doc()
        try:
            doc.apply_update(update)
            for name in BOARD_MAPS:
                document[name] = doc.get(name, type=Map).to_py()
        except Exception:
            log.exception("whiteboard could not be read as JSON; the Yjs update is exported")
    return {
        "format": "yjs-update-v1",
        "document": document,
        "yjs_update_base64": base64.b64encode(update).decode("ascii"),
    }


async def bookings_entry(
    s: AsyncSession, vault: Vault, dek: bytes, consultation_id: str
) -> list[dict[str, Any]]:
    """The appointment the consultation was booked for: when, by what name, and the e-mail
    address while it is still held (until the reminder is sent or the appointment is over)."""
    stmt = (
        select(Booking, AppointmentSlot)
        .join(AppointmentSlot, AppointmentSlot.id == Booking.slot_id)
        .where(Booking.consultation_id == consultation_id)
    )
    entries = []
    for b, slot in (await s.execute(stmt)).all():
        email = None
        if b.email_sealed is not None:
            email = vault.open_text(dek, consultation_id, BOOKING_EMAIL, b.id, b.email_sealed)
        entries.append(
            {
                "booking_id": b.id,
                "name": vault.open_text(dek, consultation_id, BOOKING_NAME, b.id, b.name_sealed),
                "email": email,
                "reminder": b.reminder,
                "reminder_sent_at": _iso(b.reminder_sent_at),
                "starts_at": _iso(slot.starts_at),
                "ends_at": _iso(slot.ends_at),
                "booked_at": _iso(b.created_at),
                "privacy_notice": {
                    "version": b.notice_version,
                    "acknowledged_at": _iso(b.created_at),
                },
            }
        )
    return entries


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
        # one shared document that cannot be split by author: everyone's export holds it
        # whole, as each participant saw it in the room
        "whiteboard": board_entry(await stored_board(s, vault, dek, c.id)),
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
        "appointments": await bookings_entry(s, vault, dek, c.id),
        "chat_messages": messages,
        "files": [_file_entry(f, name) for f, name in files],
        "whiteboard": board_entry(await stored_board(s, vault, dek, c.id)),
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
    for model in (
        ChatMessage,
        StoredFile,
        BoardUpdate,
        BoardSnapshot,
        Participant,
        InviteLink,
        Booking,
    ):
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
