"""Chat: every message is sealed and stored before it is acknowledged, numbered by the
database per consultation, and idempotent by the sender's client id; a client that comes
back asks for what came after the last number it saw."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from signaling.chat_store import ChatStore
from signaling.core import (
    Core,
    check_unrestricted,
    iso,
    joined_participant,
    names_of,
)
from signaling.errors import ContentErased, InvalidPayload, NotFound
from signaling.ports import consultation_room
from signaling.protocol import ChatHistory, ChatSend
from storage.models import ChatMessage, StoredFile
from storage.repositories import (
    ChatRepository,
    ConsultationRepository,
    FileRepository,
    ParticipantRepository,
)
from storage.vault import CHAT_BODY, FILE_NAME

KIND = CHAT_BODY


class Chat:
    def __init__(self, core: Core) -> None:
        self.core = core
        self.store = ChatStore(core)

    async def send(self, sid: str, msg: ChatSend) -> dict[str, Any]:
        """Validate, then store with whatever else is being sent (group commit); deliver
        and answer once the batch is committed."""
        core = self.core
        pid = joined_participant(core, sid, msg.consultation_id)
        limit = core.limits.chat_max_chars
        if len(msg.body) > limit:
            raise InvalidPayload(f"body: at most {limit} characters")
        stored = await self.store.store(msg, pid)
        m = stored.message
        if stored.fresh:  # no await between the commit and this emit: delivered in order
            view = message_view(m, msg.body, pid, core.presence.members[pid].name)
            await core.notifier.emit("chat_message", view, consultation_room(msg.consultation_id))
        return {"seq": m.seq, "id": m.id, "created_at": iso(m.created_at)}

    async def close(self) -> None:
        await self.store.close()

    async def history(self, sid: str, query: ChatHistory) -> dict[str, Any]:
        joined_participant(self.core, sid, query.consultation_id)
        return await self.transcript(query.consultation_id, query.after_seq, query.limit)

    async def transcript(self, consultation_id: str, after_seq: int, limit: int) -> dict[str, Any]:
        """Messages after `after_seq`, oldest first, opened; `more` if the limit cut them."""
        async with self.core.db.reading() as s:
            c = await ConsultationRepository(s).get(consultation_id)
            if c is None:
                raise NotFound("no such consultation")
            if c.erased_at is not None:
                raise ContentErased("this consultation's content has been erased")
            check_unrestricted(c)
            rows = await ChatRepository(s).after(consultation_id, after_seq, limit + 1)
            views = await self._views(s, consultation_id, rows[:limit])
        return {"messages": views, "more": len(rows) > limit}

    async def _views(
        self, s: AsyncSession, consultation_id: str, rows: Sequence[ChatMessage]
    ) -> list[dict[str, Any]]:
        core = self.core
        if not rows:
            return []
        dek = await core.vault.dek(s, consultation_id)
        people = await ParticipantRepository(s).of_consultation(consultation_id)
        names = await names_of(core, s, people)
        files = FileRepository(s)
        views = []
        for m in rows:
            body = core.vault.open_text(dek, consultation_id, KIND, m.id, m.body_sealed)
            stored = await files.get(m.file_id) if m.file_id else None
            views.append(
                message_view(
                    m,
                    body,
                    m.sender_id,
                    names.get(m.sender_id, ""),
                    stored,
                    file_name(core, dek, stored),
                )
            )
        return views


def file_name(core: Core, dek: bytes, stored: StoredFile | None) -> str | None:
    if stored is None:
        return None
    return core.vault.open_text(
        dek, stored.consultation_id, FILE_NAME, stored.id, stored.name_sealed
    )


def message_view(
    m: ChatMessage,
    body: str,
    sender_id: str,
    sender_name: str,
    stored: StoredFile | None = None,
    stored_name: str | None = None,
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "consultation_id": m.consultation_id,
        "seq": m.seq,
        "id": m.id,
        "client_id": m.client_id,
        "from": sender_id,
        "name": sender_name,
        "kind": str(m.kind),
        "body": body,
        "created_at": iso(m.created_at),
    }
    if stored is not None:
        view["file"] = file_view(stored, stored_name or "")
    return view


def file_view(stored: StoredFile, name: str) -> dict[str, Any]:
    return {
        "id": stored.id,
        "name": name,
        "size": stored.size,
        "content_type": stored.content_type,
        "deleted": str(stored.state) == "deleted",
    }
