"""Group commit of chat messages. Every message is sealed and stored before its sender is
answered, but messages that arrive while a write is in flight wait and are then stored
together in ONE transaction: one idempotency lookup, one statement that reserves the
sequence numbers of every consultation in the batch (counted by the database, so several
nodes never collide and numbers stay gap-free), one insert. On SQLite that is one writer
turn for the whole batch instead of one per message. A message that cannot be stored
(restricted consultation, erased key) fails alone; if the batch as a whole fails, its
messages are written one by one, so only the culprit is refused."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError as DuplicateRow
from sqlalchemy.ext.asyncio import AsyncSession

from signaling.core import Core
from signaling.errors import NotReady, Restricted
from signaling.protocol import ChatSend
from storage.models import ChatMessage, MessageKind, new_id
from storage.repositories import ChatRepository, ConsultationRepository
from storage.stats import with_feature
from storage.vault import CHAT_BODY, KeyShredded

log = logging.getLogger(__name__)

Key = tuple[str, str, str]  # consultation id, sender id, client id


@dataclass(frozen=True, slots=True)
class Stored:
    message: ChatMessage
    fresh: bool  # False: the client id was stored before (a resend), nothing new to deliver


@dataclass(slots=True)
class Pending:
    msg: ChatSend
    sender_id: str
    done: asyncio.Future[Stored] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    @property
    def key(self) -> Key:
        return (self.msg.consultation_id, self.sender_id, self.msg.client_id)

    def settle(self, outcome: Stored | BaseException) -> None:
        if self.done.done():  # the sender went away (cancelled); the message stays stored
            return
        if isinstance(outcome, BaseException):
            self.done.set_exception(outcome)
        else:
            self.done.set_result(outcome)


class ChatStore:
    """Queues validated messages and writes them in batches, one batch at a time."""

    def __init__(self, core: Core, max_batch: int = 200) -> None:
        self.core = core
        self.max_batch = max_batch
        self._queue: list[Pending] = []
        self._writer: asyncio.Task[None] | None = None
        self._closed = False

    async def store(self, msg: ChatSend, sender_id: str) -> Stored:
        """Store a message (validated, its sender in the room) and wait for the commit."""
        if self._closed:
            raise NotReady("the server is shutting down")
        pending = Pending(msg, sender_id)
        self._queue.append(pending)
        if self._writer is None:
            self._writer = asyncio.create_task(self._drain())
        return await pending.done

    async def close(self) -> None:
        """Finish what is queued, then refuse new messages."""
        self._closed = True
        if self._writer is not None:
            await asyncio.shield(self._writer)

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch = self._queue[: self.max_batch]
                del self._queue[: self.max_batch]
                await self._write(batch)
        except BaseException as exc:  # cancelled: nobody waits in vain
            for pending in self._queue:
                pending.settle(exc)
            self._queue.clear()
            raise
        finally:
            self._writer = None

    async def _write(self, batch: list[Pending]) -> None:
        try:
            outcomes = await self._commit(batch)
        except asyncio.CancelledError:
            for pending in batch:
                pending.settle(NotReady("the server is shutting down"))
            raise
        except Exception as exc:
            if len(batch) > 1:
                if not isinstance(exc, DuplicateRow):
                    log.warning(
                        "a batch of %d chat messages failed; writing them one by one",
                        len(batch),
                        exc_info=True,
                    )
                for pending in batch:  # so that only the culprit is refused
                    await self._write([pending])
                return
            if not isinstance(exc, DuplicateRow):
                batch[0].settle(exc)
                return
            # the same resend raced itself (on another node); the first one won: answer it
            try:
                outcomes = await self._commit(batch)
            except Exception as again:
                batch[0].settle(again)
                return
        for pending, outcome in zip(batch, outcomes, strict=True):
            pending.settle(outcome)

    async def _commit(self, batch: list[Pending]) -> list[Stored | Exception]:
        """Store a batch in one transaction; the outcome of each message, in order."""
        core = self.core
        outcomes: list[Stored | Exception | None] = [None] * len(batch)
        keys = [pending.key for pending in batch]
        first: dict[Key, int] = {}  # where a key occurs first in the batch
        async with core.db.session() as s:
            chat = ChatRepository(s)
            known = {
                (m.consultation_id, m.sender_id, m.client_id): m
                for m in await chat.by_client_ids(sorted(set(keys)))
            }
            new: list[int] = []
            for i, key in enumerate(keys):
                if key in known:
                    outcomes[i] = Stored(known[key], False)
                elif key not in first:
                    first[key] = i
                    new.append(i)
            deks = await self._deks(s, {keys[i][0] for i in new})
            counts = Counter(keys[i][0] for i in new if isinstance(deks[keys[i][0]], bytes))
            last = await chat.reserve_seqs(counts)
            seqs = {cid: last[cid] - counts[cid] for cid in last}  # numbers used so far
            rows = []
            for i in new:
                cid = keys[i][0]
                dek = deks[cid]
                if not isinstance(dek, bytes):
                    outcomes[i] = KeyShredded(str(dek))
                elif cid not in seqs:
                    outcomes[i] = Restricted(
                        "this consultation is restricted: nothing can be added to it"
                    )
                else:
                    seqs[cid] += 1
                    message = self._message(batch[i], seqs[cid], dek)
                    rows.append(row_of(message))
                    outcomes[i] = Stored(message, True)
            await chat.add_many(rows)
            marked = await self._mark_chat(s, list(seqs))
        for cid in marked:
            core.features_seen.setdefault(cid, set()).add("chat")
        for i, key in enumerate(keys):  # a client id twice in one batch: stored once
            if outcomes[i] is None:
                earlier = outcomes[first[key]]
                outcomes[i] = (
                    Stored(earlier.message, False) if isinstance(earlier, Stored) else earlier
                )
        return [outcome for outcome in outcomes if outcome is not None]

    async def _deks(
        self, s: AsyncSession, consultation_ids: set[str]
    ) -> dict[str, bytes | KeyShredded]:
        deks: dict[str, bytes | KeyShredded] = {}
        for cid in sorted(consultation_ids):
            try:
                deks[cid] = await self.core.vault.dek(s, cid)
            except KeyShredded as exc:
                deks[cid] = exc
        return deks

    def _message(self, pending: Pending, seq: int, dek: bytes) -> ChatMessage:
        core, msg = self.core, pending.msg
        message = ChatMessage(
            id=new_id(),
            consultation_id=msg.consultation_id,
            seq=seq,
            sender_id=pending.sender_id,
            client_id=msg.client_id,
            kind=MessageKind.text,
            file_id=None,
            created_at=core.clock(),
        )
        message.body_sealed = core.vault.seal_text(
            dek, msg.consultation_id, CHAT_BODY, message.id, msg.body
        )
        return message

    async def _mark_chat(self, s: AsyncSession, consultation_ids: list[str]) -> list[str]:
        """Note chat as used (anonymous statistics) in the consultations that got their
        first message from this node, in the batch's transaction; their ids."""
        seen = self.core.features_seen
        todo = sorted(c for c in consultation_ids if "chat" not in seen.get(c, ()))
        if not todo:
            return []
        consultations = ConsultationRepository(s)
        for cid, features in (await consultations.features_of(todo)).items():
            if "chat" not in features.split(","):
                await consultations.set_features(cid, with_feature(features, "chat"))
        return todo


def row_of(m: ChatMessage) -> dict[str, object]:
    return {
        "id": m.id,
        "consultation_id": m.consultation_id,
        "seq": m.seq,
        "sender_id": m.sender_id,
        "client_id": m.client_id,
        "kind": m.kind,
        "body_sealed": m.body_sealed,
        "file_id": m.file_id,
        "created_at": m.created_at,
    }
