"""The whiteboard room: one Yjs document per live consultation in this process, loaded
from storage on first use, kept current by every update that is stored, and dropped when
the last participant has left. The document is opaque: clearing the board, presenting a
PDF page or switching the main screen are ordinary edits by the browsers.

Every update is checked, stored (sealed) and applied before it is acknowledged and relayed;
storage numbers the updates, so a node can catch up with what others stored (the CRDT makes
the order of application irrelevant and applying an update twice harmless)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from pycrdt import Doc

from signaling import yjs
from signaling.board_store import BoardStore, Stored
from signaling.core import Core, joined_participant, mark_feature
from signaling.errors import (
    ContentErased,
    InvalidPayload,
    LimitExceeded,
    PayloadTooLarge,
    Restricted,
)
from signaling.limits import Bucket
from signaling.ports import consultation_room
from signaling.protocol import BoardAwareness, BoardLock, BoardSync, BoardUpdate
from signaling.rules import Actor
from storage.vault import KeyShredded

# How many boards this node compacts at once. Boards filled at one pace reach the
# compaction threshold together, and a compaction's merge holds the GIL (pycrdt) and its
# read turns the stored updates into objects on the event loop: twenty at once held every
# board's updates for half a second (issue 8's S10). One at a time, the loop keeps
# relaying between them.
COMPACTIONS_AT_ONCE = 1

log = logging.getLogger(__name__)


@dataclass(slots=True)
class LiveBoard:
    doc: Doc[Any]
    # every update numbered up to here is in `doc`, and those in `beyond` too
    applied_upto: int = 0
    beyond: set[int] = field(default_factory=set)
    restricted: bool = False
    locked: bool = False
    # stored since the last compaction this process started
    updates_since: int = 0
    bytes_since: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def take(self, stored: Stored) -> None:
        """Apply what storage holds beyond what this document has seen."""
        if stored.snapshot is not None:
            yjs.apply(self.doc, stored.snapshot)
            self.seen_through(stored.snapshot_upto)
        for seq, update in stored.updates:
            if seq > self.applied_upto and seq not in self.beyond:
                yjs.apply(self.doc, update)
                self.seen(seq)
        self.restricted, self.locked = stored.restricted, stored.locked

    def seen(self, seq: int) -> None:
        self.beyond.add(seq)
        while self.applied_upto + 1 in self.beyond:
            self.applied_upto += 1
            self.beyond.discard(self.applied_upto)

    def seen_through(self, seq: int) -> None:
        if seq > self.applied_upto:
            self.applied_upto = seq
            self.beyond = {n for n in self.beyond if n > seq}
        self.seen(seq)


class Boards:
    def __init__(self, core: Core, store: BoardStore) -> None:
        self.core = core
        self.store = store
        self.live: dict[str, LiveBoard] = {}
        self._compacting: dict[str, asyncio.Task[None]] = {}
        self._compaction_turns = asyncio.Semaphore(COMPACTIONS_AT_ONCE)
        self._updates = Bucket(core.limits.board_updates_per_second)
        self._awareness = Bucket(core.limits.board_awareness_per_second)

    async def close(self) -> None:
        """Store what is queued, and let running compactions finish (they are one
        transaction each)."""
        await self.store.close()
        await asyncio.gather(*self._compacting.values(), return_exceptions=True)
        self._compacting.clear()
        self.live.clear()

    async def _board(self, consultation_id: str, *, refresh: bool) -> LiveBoard:
        """The live document, loaded on first use; with `refresh`, caught up with what
        other nodes stored meanwhile."""
        board = self.live.get(consultation_id)
        if board is None:
            board = self.live.setdefault(consultation_id, LiveBoard(Doc()))
            refresh = True
        if refresh:
            async with board.lock:
                try:
                    board.take(await self.store.read(consultation_id, board.applied_upto))
                except KeyShredded:
                    self.live.pop(consultation_id, None)
                    raise ContentErased("this consultation's content has been erased") from None
                except yjs.NotYjs:
                    self.live.pop(consultation_id, None)
                    raise
        return board

    # -- events ---------------------------------------------------------------------------

    async def sync(self, sid: str, msg: BoardSync) -> dict[str, Any]:
        joined_participant(self.core, sid, msg.consultation_id)
        board = await self._board(msg.consultation_id, refresh=True)
        if board.restricted:
            raise Restricted("this consultation's content is restricted and cannot be used now")
        try:
            update = yjs.diff(board.doc, msg.state_vector)
        except yjs.NotYjs:
            raise InvalidPayload("state_vector: not a Yjs state vector") from None
        return {"update": update, "state_vector": board.doc.get_state(), "locked": board.locked}

    async def update(self, sid: str, msg: BoardUpdate) -> dict[str, Any]:
        core, cid = self.core, msg.consultation_id
        pid = joined_participant(core, sid, cid)
        limit = core.limits.board_update_max_bytes
        if len(msg.update) > limit:
            raise PayloadTooLarge(f"update: at most {limit} bytes")
        if not self._updates.take(sid):
            raise LimitExceeded("too many whiteboard updates; slow down")
        try:
            yjs.check_update(msg.update)
        except yjs.NotYjs:
            raise InvalidPayload("update: not a Yjs update") from None
        board = await self._board(cid, refresh=False)
        if msg.update == yjs.EMPTY_UPDATE:
            return {}
        customer = core.presence.members[pid].role != "advisor"
        try:
            seq = await self.store.append(cid, msg.update, customer=customer)
        except Restricted:
            board.restricted = True
            raise
        try:
            yjs.apply(board.doc, msg.update)
        except yjs.NotYjs:
            await self.store.discard(cid, seq)
            self.live.pop(cid, None)  # reload from storage next time
            raise InvalidPayload("update: not a Yjs update") from None
        board.seen(seq)
        data = {"consultation_id": cid, "from": pid, "update": msg.update}
        await core.notifier.emit("board_update", data, consultation_room(cid), skip_sid=sid)
        await mark_feature(core, cid, "whiteboard")
        board.updates_since += 1
        board.bytes_since += len(msg.update)
        if (
            board.updates_since >= core.limits.board_compact_updates
            or board.bytes_since >= core.limits.board_compact_bytes
        ):
            self.compact_soon(cid)
        return {}

    async def awareness(self, sid: str, msg: BoardAwareness) -> dict[str, Any]:
        core, cid = self.core, msg.consultation_id
        pid = joined_participant(core, sid, cid)
        limit = core.limits.board_awareness_max_bytes
        if len(msg.update) > limit:
            raise PayloadTooLarge(f"update: at most {limit} bytes")
        if not self._awareness.take(sid):
            raise LimitExceeded("too many awareness updates; slow down")
        try:
            yjs.check_awareness(msg.update)
        except yjs.NotYjs:
            raise InvalidPayload("update: not a y-protocols awareness update") from None
        board = await self._board(cid, refresh=False)
        if board.restricted:
            raise Restricted("this consultation's content is restricted and cannot be used now")
        data = {"consultation_id": cid, "from": pid, "update": msg.update}
        await core.notifier.emit("board_awareness", data, consultation_room(cid), skip_sid=sid)
        return {}

    async def set_lock(self, actor: Actor, msg: BoardLock) -> dict[str, Any]:
        await self.store.set_locked(actor, msg.consultation_id, msg.locked)
        board = self.live.get(msg.consultation_id)
        if board is not None:
            board.locked = msg.locked
        data = {"consultation_id": msg.consultation_id, "locked": msg.locked}
        await self.core.notifier.emit("board_state", data, consultation_room(msg.consultation_id))
        return {"locked": msg.locked}

    # -- lifecycle ------------------------------------------------------------------------

    def forget(self, sid: str) -> None:
        self._updates.forget(sid)
        self._awareness.forget(sid)

    async def left(self, consultation_id: str, participant_id: str) -> None:
        """A participant is no longer in the room: their cursor goes; the last one out takes
        the document out of memory (everything in it is stored already)."""
        data = {"consultation_id": consultation_id, "from": participant_id}
        await self.core.notifier.emit(
            "board_awareness_gone", data, consultation_room(consultation_id)
        )
        if not self.core.presence.local_room(consultation_id):
            await self._release(consultation_id)

    async def ended(self, consultation_id: str) -> None:
        await self._release(consultation_id, force=True)

    async def _release(self, consultation_id: str, *, force: bool = False) -> None:
        board = self.live.pop(consultation_id, None)
        if force or (board is not None and board.updates_since > 0):
            self.compact_soon(consultation_id)
        task = self._compacting.get(consultation_id)
        if task is not None:
            await asyncio.shield(task)

    def compact_soon(self, consultation_id: str) -> None:
        if consultation_id in self._compacting:
            return
        board = self.live.get(consultation_id)
        if board is not None:
            board.updates_since = board.bytes_since = 0
        task = asyncio.create_task(self._compact(consultation_id))
        self._compacting[consultation_id] = task
        task.add_done_callback(lambda _: self._compacting.pop(consultation_id, None))

    async def _compact(self, consultation_id: str) -> None:
        try:
            async with self._compaction_turns:
                await self.store.compact(consultation_id)
        except Exception:
            log.exception("board compaction failed consultation=%s", consultation_id)
