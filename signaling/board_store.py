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
        gone, NotFound if there is no such consultation."""
        async with self.db.session() as s:
            c = await ConsultationRepository(s).get(consultation_id)
            if c is None:
                raise NotFound("no such consultation")
            if c.erased_at is not None:
                raise KeyShredded("this consultation's content has been erased")
            repo = BoardRepository(s)
            dek = await self.vault.dek(s, consultation_id)
            # the updates before the snapshot: a compaction committing in between (another
            # node's, or on SQLite, where these reads share no snapshot) then only makes the
            # two overlap, which Yjs ignores; read the other way round, the updates it folded
            # in and deleted would be in neither
            rows = await repo.after(consultation_id, after_seq)
            snap = await repo.snapshot(consultation_id)
            snapshot, upto = None, 0
            if snap is not None and snap.upto_seq > after_seq:
                upto = snap.upto_seq
                snapshot = self.vault.open_bytes(
                    dek, consultation_id, BOARD_SNAPSHOT, str(upto), snap.data_sealed
                )
            updates = [
                (
                    r.seq,
                    self.vault.open_bytes(
                        dek, r.consultation_id, BOARD_UPDATE, str(r.seq), r.data_sealed
                    ),
                )
                for r in rows
            ]
            return Stored(snapshot, upto, updates, c.board_locked, c.restricted_at is not None)

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
        higher numbers and stay in the log."""
        async with self.db.reading() as s:
            c = await ConsultationRepository(s).get(consultation_id)
            if c is None or c.erased_at is not None or c.restricted_at is not None:
                return None
            repo = BoardRepository(s)
            snap = await repo.snapshot(consultation_id)
            rows = await repo.after(consultation_id, 0)
            if not rows:
                return None
            dek = await self.vault.dek(s, consultation_id)
        base = snap.upto_seq if snap is not None else None
        parts = []
        if snap is not None:
            parts.append(
                self.vault.open_bytes(
                    dek, consultation_id, BOARD_SNAPSHOT, str(snap.upto_seq), snap.data_sealed
                )
            )
        for r in rows:
            parts.append(
                self.vault.open_bytes(dek, consultation_id, BOARD_UPDATE, str(r.seq), r.data_sealed)
            )
        merged = await asyncio.to_thread(yjs.snapshot, parts)
        upto = max(rows[-1].seq, base or 0)
        sealed = self.vault.seal_bytes(dek, consultation_id, BOARD_SNAPSHOT, str(upto), merged)
        async with self.db.session() as s:
            # the consultation row lock orders this with appends on other nodes: every
            # number handed out before it is committed, none is handed out meanwhile
            c = await ConsultationRepository(s).get(consultation_id, for_update=True)
            if c is None or c.erased_at is not None or c.restricted_at is not None:
                return None
            repo = BoardRepository(s)
            current = await repo.snapshot(consultation_id)
            folded = await repo.seqs_upto(consultation_id, upto)
            if (current.upto_seq if current else None) != base or folded != [r.seq for r in rows]:
                # another compaction, or an update taken back (`discard`), came between
                log.info("board compaction skipped consultation=%s", consultation_id)
                return None
            await repo.replace_snapshot(consultation_id, upto, sealed, self.clock())
        log.info(
            "board compacted consultation=%s updates=%d upto=%d", consultation_id, len(rows), upto
        )
        return upto

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
