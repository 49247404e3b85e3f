"""File exchange rules: who may upload, download and delete; a file becomes visible (and
is announced in the chat, with a sequence number) only once all of it is stored."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from signaling import rules
from signaling.chat import KIND as CHAT_KIND
from signaling.chat import file_view, message_view
from signaling.core import Core, check_unrestricted, mark_feature, names_of
from signaling.errors import InvalidState, NotAuthorised, NotFound, Restricted
from signaling.ports import consultation_room
from signaling.rules import Actor
from storage.blobs import BlobStore
from storage.models import (
    ChatMessage,
    Consultation,
    ConsultationState,
    FileState,
    MessageKind,
    Participant,
    ParticipantStatus,
    StoredFile,
    new_id,
)
from storage.repositories import (
    ChatRepository,
    ConsultationRepository,
    FileRepository,
    ParticipantRepository,
)
from storage.vault import FILE_NAME as NAME

log = logging.getLogger(__name__)


class Files:
    def __init__(self, core: Core, blobs: BlobStore) -> None:
        self.core = core
        self.blobs = blobs

    async def _member(self, s: AsyncSession, actor: Actor, c: Consultation) -> Participant | None:
        """The actor's admitted participant record in `c` (None for its owning advisor who
        has not joined the room); refuses everybody else."""
        participants = ParticipantRepository(s)
        if actor.is_advisor:
            rules.check_owner(actor, c.advisor_id)
            assert actor.account_id is not None
            return await participants.advisor_in(c.id, actor.account_id)
        rules.check_own_consultation(actor, c.id)
        p = await participants.get(actor.participant_id or "")
        if p is None or p.status != ParticipantStatus.admitted:
            raise NotAuthorised("you are not admitted to this consultation")
        return p

    async def _consultation(
        self, s: AsyncSession, actor: Actor, consultation_id: str
    ) -> Consultation:
        """The consultation if the actor is its advisor or one of its customers; an id
        nobody issued gets the refusal a foreign one gets, before anything is told."""
        c = await ConsultationRepository(s).get(consultation_id) if consultation_id else None
        if actor.is_advisor:
            rules.check_owner(actor, c.advisor_id if c else None)
        else:
            rules.check_own_consultation(actor, c.id if c else "")
        assert c is not None  # both checks refuse a missing consultation
        return c

    async def uploader(self, actor: Actor, consultation_id: str) -> Participant:
        async with self.core.db.reading() as s:
            c = await self._consultation(s, actor, consultation_id)
            rules.check_open(c.state)
            check_unrestricted(c)
            if c.state != ConsultationState.active:
                raise InvalidState("files can be shared once the consultation has started")
            p = await self._member(s, actor, c)
        if p is None or p.status != ParticipantStatus.admitted:
            raise NotAuthorised("join the consultation's room to share files")
        return p

    async def begin(self, uploader: Participant, name: str, content_type: str) -> StoredFile:
        core = self.core
        async with core.db.session() as s:
            stored = StoredFile(
                id=new_id(),
                consultation_id=uploader.consultation_id,
                uploader_id=uploader.id,
                content_type=content_type,
                size=0,
                state=FileState.uploading,
                created_at=core.clock(),
            )
            dek = await core.vault.dek(s, stored.consultation_id)
            stored.name_sealed = core.vault.seal_text(
                dek, stored.consultation_id, NAME, stored.id, name
            )
            return await FileRepository(s).add(stored)

    async def dek(self, consultation_id: str) -> bytes:
        async with self.core.db.reading() as s:
            return await self.core.vault.dek(s, consultation_id)

    async def finish(self, stored: StoredFile, name: str, size: int, chunks: int) -> dict[str, Any]:
        """Make a fully stored file visible and announce it in the chat."""
        core = self.core
        cid = stored.consultation_id
        async with core.db.session() as s:
            row = await FileRepository(s).get(stored.id)
            assert row is not None
            row.state, row.size, row.chunk_count = FileState.ready, size, chunks
            chat = ChatRepository(s)
            seq = await chat.next_seq(cid)
            if seq is None:
                raise Restricted("this consultation is restricted: nothing can be added to it")
            message = ChatMessage(
                id=new_id(),
                consultation_id=cid,
                seq=seq,
                sender_id=stored.uploader_id,
                client_id=f"file-{stored.id}",
                kind=MessageKind.file,
                file_id=stored.id,
                created_at=core.clock(),
            )
            dek = await core.vault.dek(s, cid)
            message.body_sealed = core.vault.seal_text(dek, cid, CHAT_KIND, message.id, "")
            await chat.add(message)
            uploader = await ParticipantRepository(s).get(stored.uploader_id)
            assert uploader is not None
            sender = (await names_of(core, s, [uploader]))[uploader.id]
        await mark_feature(core, cid, "files")
        core.observer.uploaded(size)
        view = message_view(message, "", uploader.id, sender, row, name)
        await core.notifier.emit("chat_message", view, consultation_room(cid))
        return {"file": file_view(row, name), "seq": message.seq}

    async def abort(self, stored: StoredFile) -> None:
        """Remove every trace of an upload that did not finish."""
        await self.blobs.delete(stored.id)
        async with self.core.db.session() as s:
            row = await FileRepository(s).get(stored.id)
            if row is not None and row.state == FileState.uploading:
                await s.delete(row)

    async def readable(self, actor: Actor, file_id: str) -> tuple[StoredFile, bytes, str]:
        """A ready file the actor may download, its data key and its name."""
        async with self.core.db.reading() as s:
            stored = await FileRepository(s).get(file_id)
            c = await self._consultation(s, actor, stored.consultation_id if stored else "")
            if stored is None or stored.state != FileState.ready:
                raise NotFound("no such file")
            if not actor.is_advisor:
                rules.check_open(c.state)
            check_unrestricted(c)
            await self._member(s, actor, c)
            dek = await self.core.vault.dek(s, c.id)
        name = self.core.vault.open_text(dek, c.id, NAME, stored.id, stored.name_sealed)
        return stored, dek, name

    async def remove(self, actor: Actor, file_id: str) -> dict[str, Any]:
        """The uploader or the consultation's advisor deletes a file."""
        async with self.core.db.session() as s:
            stored = await FileRepository(s).get(file_id)
            c = await self._consultation(s, actor, stored.consultation_id if stored else "")
            me = await self._member(s, actor, c)
            if stored is None or stored.state != FileState.ready:
                raise NotFound("no such file")
            if not actor.is_advisor and (me is None or me.id != stored.uploader_id):
                raise NotAuthorised("only the uploader or the advisor may delete a file")
            stored.state = FileState.deleted
        await self.blobs.delete(file_id)
        data = {"consultation_id": c.id, "file_id": file_id}
        await self.core.notifier.emit("file_deleted", data, consultation_room(c.id))
        return {}

    async def listing(self, actor: Actor, consultation_id: str) -> dict[str, Any]:
        async with self.core.db.reading() as s:
            c = await self._consultation(s, actor, consultation_id)
            await self._member(s, actor, c)
            check_unrestricted(c)
            files = await FileRepository(s).of_consultation(c.id)
            dek = await self.core.vault.dek(s, c.id) if files else b""
        vault = self.core.vault
        return {
            "files": [
                file_view(f, vault.open_text(dek, c.id, NAME, f.id, f.name_sealed)) for f in files
            ]
        }

    async def sweep(self, before: datetime | None) -> int:
        """Remove uploads that never finished because their node died: those begun before
        `before`, or every one when `before` is None (only right at start-up on a database
        this process alone uses, where any unfinished upload died with the last process)."""
        async with self.core.db.session() as s:
            stale = list(await FileRepository(s).unfinished(before))
        for stored in stale:
            await self.abort(stored)
        if stale:
            log.info("removed %d unfinished uploads", len(stale))
        return len(stale)
