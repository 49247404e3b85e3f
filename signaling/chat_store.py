"""Group commit of chat messages. Every message is sealed and stored before its sender is
answered, but messages that arrive while a write is in flight wait and are then stored
together in ONE transaction: one idempotency lookup, one statement that reserves the
sequence numbers of every consultation in the batch (counted by the database, so several
nodes never collide and numbers stay gap-free), one insert. On SQLite that is one writer
turn for the whole batch instead of one per message. A message that cannot be stored
(restricted consultation, erased key) fails alone; if the batch as a whole fails, its
messages are written one by one, so only the culprit is refused."""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError as DuplicateRow

from signaling.core import Core
from signaling.errors import Restricted
from signaling.group_commit import GroupCommit
from signaling.protocol import ChatSend
from storage.models import ChatMessage, MessageKind, new_id
from storage.repositories import ChatLog
from storage.stats import with_feature
from storage.vault import CHAT_BODY, KeyShredded

Key = tuple[str, str, str]  # consultation id, sender id, client id


@dataclass(frozen=True, slots=True)
class Stored:
    message: ChatMessage
    fresh: bool  # False: the client id was stored before (a resend), nothing new to deliver


@dataclass(frozen=True, slots=True)
class Pending:
    msg: ChatSend
    sender_id: str

    @property
    def key(self) -> Key:
        return (self.msg.consultation_id, self.sender_id, self.msg.client_id)


class ChatStore:
    """Validated messages, written in batches (signaling.group_commit)."""

    def __init__(self, core: Core, max_batch: int = 200) -> None:
        self.core = core
        self._batches: GroupCommit[Pending, Stored] = GroupCommit(
            "chat messages", self._commit_or_retry, max_batch, expected=(DuplicateRow,)
        )

    async def store(self, msg: ChatSend, sender_id: str) -> Stored:
        """Store a message (validated, its sender in the room) and wait for the commit."""
        return await self._batches.submit(Pending(msg, sender_id))

    async def close(self) -> None:
        """Finish what is queued, then refuse new messages."""
        await self._batches.close()

    async def _commit_or_retry(self, batch: list[Pending]) -> list[Stored | Exception]:
        try:
            return await self._commit(batch)
        except DuplicateRow:
            if len(batch) > 1:
                raise  # written again one by one
            # the same resend raced itself (on another node); the first one won: answer it
            return await self._commit(batch)

    async def _commit(self, batch: list[Pending]) -> list[Stored | Exception]:
        """Store a batch in one transaction, in one trip to the database (`run_writing`);
        the outcome of each message, in order."""
        seen = self.core.features_seen
        unmarked = {cid for cid in {p.key[0] for p in batch} if "chat" not in seen.get(cid, ())}
        written, marked = await self.core.db.run_writing(
            functools.partial(self._write, batch, unmarked)
        )
        for cid in marked:
            seen.setdefault(cid, set()).add("chat")
        return written

    def _write(
        self, batch: list[Pending], unmarked: set[str], conn: Connection
    ) -> tuple[list[Stored | Exception], list[str]]:
        """`_commit`'s transaction, on SQLite in the database's writer thread: the outcomes,
        and the consultations now marked as having used the chat."""
        outcomes: list[Stored | Exception | None] = [None] * len(batch)
        keys = [pending.key for pending in batch]
        first: dict[Key, int] = {}  # where a key occurs first in the batch
        chat = ChatLog(conn)
        known = {
            (m.consultation_id, m.sender_id, m.client_id): m
            for m in chat.by_client_ids(sorted(set(keys)))
        }
        new: list[int] = []
        for i, key in enumerate(keys):
            if key in known:
                outcomes[i] = Stored(known[key], False)
            elif key not in first:
                first[key] = i
                new.append(i)
        deks = self._deks(conn, {keys[i][0] for i in new})
        counts = Counter(keys[i][0] for i in new if isinstance(deks[keys[i][0]], bytes))
        last = chat.reserve_seqs(counts)
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
        chat.add_many(rows)
        marked = self._mark_chat(chat, sorted(unmarked & seqs.keys()))
        for i, key in enumerate(keys):  # a client id twice in one batch: stored once
            if outcomes[i] is None:
                earlier = outcomes[first[key]]
                outcomes[i] = (
                    Stored(earlier.message, False) if isinstance(earlier, Stored) else earlier
                )
        return [outcome for outcome in outcomes if outcome is not None], marked

    def _deks(self, conn: Connection, consultation_ids: set[str]) -> dict[str, bytes | KeyShredded]:
        deks: dict[str, bytes | KeyShredded] = {}
        for cid in sorted(consultation_ids):
            try:
                deks[cid] = self.core.vault.dek_sync(conn, cid)
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

    @staticmethod
    def _mark_chat(chat: ChatLog, todo: list[str]) -> list[str]:
        """Note chat as used (anonymous statistics) in the consultations that got their
        first message from this node, in the batch's transaction; their ids."""
        if not todo:
            return []
        for cid, features in chat.features_of(todo).items():
            if "chat" not in features.split(","):
                chat.set_features(cid, with_feature(features, "chat"))
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
