"""The whiteboard's persistence: sealed Yjs updates appended under database-assigned
numbers, and compaction into one sealed snapshot. The board room (signaling.board) gets
this injected; it is the only part of the whiteboard that talks to the database."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from signaling import rules, yjs
from signaling.core import check_unrestricted
from signaling.errors import BoardLocked, ContentErased, NotFound, Restricted
from signaling.group_commit import GroupCommit
from signaling.rules import Actor
from storage.clock import Clock
from storage.db import Database
from storage.privacy import board_entry, stored_board
from storage.repositories import BoardLog, BoardRepository, ConsultationRepository
from storage.vault import BOARD_SNAPSHOT, BOARD_UPDATE, KeyShredded, Vault

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Append:
    consultation_id: str
    update: bytes
    customer: bool  # refused while the board is locked


@dataclass(frozen=True, slots=True)
class Stored:
    """What storage holds of a board after a given number: the snapshot (if it is newer)
    and the updates, opened."""

    snapshot: bytes | None
    snapshot_upto: int
    updates: list[tuple[int, bytes]]
    locked: bool
    restricted: bool


class BoardStore:
    def __init__(self, db: Database, vault: Vault, clock: Clock) -> None:
        self.db = db
        self.vault = vault
        self.clock = clock
        self._appends: GroupCommit[Append, int] = GroupCommit("whiteboard updates", self._commit)

    async def read(self, consultation_id: str, after_seq: int = 0) -> Stored:
        """The stored board beyond `after_seq`: ContentErased (via the vault) if its key is
        gone, NotFound if there is no such consultation. A plain read unit, opened where it
        is read: it never waits for, nor holds up, the node's writes."""
        return await self.db.run_reading(functools.partial(self._read, consultation_id, after_seq))

    def _read(self, consultation_id: str, after_seq: int, conn: Connection) -> Stored:
        board_log = BoardLog(conn)
        state = board_log.board(consultation_id)
        if state is None:
            raise NotFound("no such consultation")
        if state.erased:
            raise KeyShredded("this consultation's content has been erased")
        dek = self.vault.dek_sync(conn, consultation_id)
        # the updates before the snapshot: a compaction committing in between (another
        # node's; on SQLite a unit reads one snapshot of the file) then only makes the two
        # overlap, which Yjs ignores; read the other way round, the updates it folded in
        # and deleted would be in neither
        rows = board_log.sealed_updates(consultation_id, after_seq)
        snap = board_log.snapshot(consultation_id)
        open_ = functools.partial(self.vault.open_bytes, dek, consultation_id)
        snapshot, upto = None, 0
        if snap is not None and snap[0] > after_seq:
            upto = snap[0]
            snapshot = open_(BOARD_SNAPSHOT, str(upto), snap[1])
        updates = [(seq, open_(BOARD_UPDATE, str(seq), data)) for seq, data in rows]
        return Stored(snapshot, upto, updates, state.locked, state.restricted)

    async def append(self, consultation_id: str, update: bytes, *, customer: bool) -> int:
        """Seal and store one update; its number. Refused (and nothing stored) while the
        consultation is restricted, or, for a customer, while the board is locked. Updates
        arriving while a write is in flight are stored together (group commit)."""
        return await self._appends.submit(Append(consultation_id, update, customer))

    async def close(self) -> None:
        """Finish the queued appends, then refuse new ones."""
        await self._appends.close()

    async def _commit(self, batch: list[Append]) -> list[int | Exception]:
        """Store a batch of updates in one transaction; each one's number, or what refuses
        it alone. Two statements in the usual case, numbering then one insert, in one trip
        to the database (`run_writing`): the asyncio layer's trips per statement, and the
        ORM session's bookkeeping before that, cost more CPU than the statements
        (docs/benchmarks.md)."""
        return await self.db.run_writing(functools.partial(self._write, batch, self.clock()))

    def _write(self, batch: list[Append], now: datetime, conn: Connection) -> list[int | Exception]:
        """`_commit`'s transaction, on SQLite in the database's writer thread."""
        board_log = BoardLog(conn)
        deks: dict[str, bytes] = {}
        for cid in sorted({a.consultation_id for a in batch}):
            with contextlib.suppress(KeyShredded):  # refused below
                deks[cid] = self.vault.dek_sync(conn, cid)
        advisor: Counter[str] = Counter()
        customer: Counter[str] = Counter()
        for a in batch:
            if a.consultation_id in deks:
                (customer if a.customer else advisor)[a.consultation_id] += 1
        numbered = board_log.number(advisor, customer)
        # the numbers used so far: the batch's own ones follow them, in batch order
        seqs = {
            cid: last - advisor[cid] - (0 if locked else customer[cid])
            for cid, (last, locked) in numbered.items()
        }
        unnumbered = {a.consultation_id for a in batch} - numbered.keys()
        refusals = self._refusals(board_log, unnumbered) if unnumbered else {}
        outcomes: list[int | Exception] = []
        rows: list[dict[str, Any]] = []
        for a in batch:
            cid = a.consultation_id
            if cid in refusals:
                outcomes.append(refusals[cid])
                continue
            if a.customer and numbered[cid][1]:
                outcomes.append(BoardLocked("the advisor has locked the whiteboard"))
                continue
            seqs[cid] += 1
            sealed = self.vault.seal_bytes(deks[cid], cid, BOARD_UPDATE, str(seqs[cid]), a.update)
            rows.append(
                {"consultation_id": cid, "seq": seqs[cid], "data_sealed": sealed, "created_at": now}
            )
            outcomes.append(seqs[cid])
        board_log.add_many(rows)
        return outcomes

    @staticmethod
    def _refusals(board_log: BoardLog, consultation_ids: set[str]) -> dict[str, Exception]:
        """Why the consultations that got no numbers refuse updates (rare: looked up only
        then). No key means erased."""
        states = board_log.states(sorted(consultation_ids))
        refusals: dict[str, Exception] = {}
        for cid in consultation_ids:
            state = states.get(cid)
            if state is None:
                refusals[cid] = NotFound("no such consultation")
            elif state[0]:
                refusals[cid] = Restricted(
                    "this consultation is restricted: nothing can be added to it"
                )
            else:
                refusals[cid] = ContentErased("this consultation's content has been erased")
        return refusals

    async def discard(self, consultation_id: str, seq: int) -> None:
        """Take back an update that was stored but could not be applied."""
        async with self.db.session() as s:
            await BoardRepository(s).remove(consultation_id, seq)

    async def set_locked(self, actor: Actor, consultation_id: str, locked: bool) -> None:
        async with self.db.session() as s:
            c = await ConsultationRepository(s).get(consultation_id, for_update=True)
            if c is None:
                rules.unknown(rules.check_owner, actor, None)
            rules.check_owner(actor, c.advisor_id)
            c.board_locked = locked

    async def compact(self, consultation_id: str) -> int | None:
        """Fold the snapshot and every stored update into a new snapshot and delete those
        updates; the last number folded in, or None if there was nothing to do (no
        updates, the content is restricted or erased, or the log changed under it).

        The merge (tens of milliseconds for a large board) runs outside any write: on
        SQLite every other write of the node would wait for it, on PostgreSQL every
        update of this board. So it reads, merges, then writes the result only if what
        it read is still what the snapshot stands for; updates stored meanwhile have
        higher numbers and stay in the log. The read and the write are plain units
        (`run_reading`, `run_writing`) and the opening, merging and sealing happen in a
        worker thread: a board's 500 updates through the ORM, opened on the event loop,
        held up every board's updates by tens of milliseconds (docs/benchmarks.md)."""
        read = await self.db.run_reading(functools.partial(self._to_fold, consultation_id))
        if read is None:
            return None
        snapshot, sealed_updates, dek = read
        base = snapshot[0] if snapshot is not None else None
        upto = max(sealed_updates[-1][0], base or 0)
        sealed = await asyncio.to_thread(
            self._fold, consultation_id, dek, snapshot, sealed_updates, upto
        )
        folded = [seq for seq, _ in sealed_updates]
        replace = functools.partial(
            self._replace, consultation_id, base, folded, upto, sealed, self.clock()
        )
        if not await self.db.run_writing(replace):
            # another compaction, an update taken back (`discard`), or the content
            # restricted or erased came between
            log.info("board compaction skipped consultation=%s", consultation_id)
            return None
        log.info(
            "board compacted consultation=%s updates=%d upto=%d",
            consultation_id,
            len(folded),
            upto,
        )
        return upto

    def _to_fold(
        self, consultation_id: str, conn: Connection
    ) -> tuple[tuple[int, bytes] | None, list[tuple[int, bytes]], bytes] | None:
        """`compact`'s read: the snapshot, the sealed updates and the key, or None if there
        is nothing to fold."""
        board_log = BoardLog(conn)
        state = board_log.board(consultation_id)
        if state is None or not state.foldable:
            return None
        snapshot = board_log.snapshot(consultation_id)
        sealed_updates = board_log.sealed_updates(consultation_id)
        if not sealed_updates:
            return None
        try:
            dek = self.vault.dek_sync(conn, consultation_id)
        except KeyShredded:  # erased since
            return None
        return snapshot, sealed_updates, dek

    def _fold(
        self,
        consultation_id: str,
        dek: bytes,
        snapshot: tuple[int, bytes] | None,
        sealed_updates: list[tuple[int, bytes]],
        upto: int,
    ) -> bytes:
        """Open, merge and seal anew (in a worker thread: no I/O, no event loop)."""
        open_ = functools.partial(self.vault.open_bytes, dek, consultation_id)
        parts = [] if snapshot is None else [open_(BOARD_SNAPSHOT, str(snapshot[0]), snapshot[1])]
        parts += [open_(BOARD_UPDATE, str(seq), data) for seq, data in sealed_updates]
        merged = yjs.snapshot(parts)
        return self.vault.seal_bytes(dek, consultation_id, BOARD_SNAPSHOT, str(upto), merged)

    def _replace(
        self,
        consultation_id: str,
        base: int | None,
        folded: list[int],
        upto: int,
        sealed: bytes,
        now: datetime,
        conn: Connection,
    ) -> bool:
        """`compact`'s write, if the log is still what was read: on PostgreSQL the
        consultation's row lock orders it with appends on other nodes (every number
        handed out before it is committed, none meanwhile)."""
        board_log = BoardLog(conn)
        state = board_log.board(consultation_id, lock=True)
        if state is None or not state.foldable:
            return False
        current = board_log.snapshot_upto(consultation_id)
        if current != base or board_log.seqs_upto(consultation_id, upto) != folded:
            return False
        board_log.replace_snapshot(consultation_id, upto, sealed, now, new=current is None)
        return True

    async def record(self, consultation_id: str) -> dict[str, Any]:
        """The stored whiteboard, for the advisor's record of a consultation (live or past):
        its root maps as JSON and the complete Yjs update, base64."""
        async with self.db.session() as s:
            c = await ConsultationRepository(s).get(consultation_id)
            if c is None:
                raise NotFound("no such consultation")
            if c.erased_at is not None:
                raise ContentErased("this consultation's content has been erased")
            check_unrestricted(c)
            dek = await self.vault.dek(s, consultation_id)
            update = await stored_board(s, self.vault, dek, consultation_id)
        return board_entry(update)
