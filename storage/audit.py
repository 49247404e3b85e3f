"""The audit log: append-only and hash-chained. Each entry's hash covers its fields and the
previous hash; a head row holds the newest number and hash, so an edited, removed or
truncated entry is found by `verify`. It records who did what to which record, when:
never names or content."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Row, Table, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEntry, AuditHead

GENESIS = "0" * 64

# Core statements on the tables: an entry is written on every join, pickup and admission,
# and the ORM's get-and-flush of the head cost more than the three statements themselves
LOG = cast(Table, AuditEntry.__table__)
HEAD = cast(Table, AuditHead.__table__)
# ... and built once, with bound parameters (building them cost more than running them)
_TAKE_HEAD = (
    update(HEAD).where(HEAD.c.id == 1).values(seq=HEAD.c.seq).returning(HEAD.c.seq, HEAD.c.hash)
)
_ADD_ENTRY = insert(LOG)
_MOVE_HEAD = (
    update(HEAD).where(HEAD.c.id == 1).values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
)


def _digest(
    prev_hash: str, seq: int, at: datetime, actor: str, action: str, subject: str, details: str
) -> str:
    body = json.dumps(
        [prev_hash, seq, at.isoformat(), actor, action, subject, details],
        ensure_ascii=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode()).hexdigest()


async def append(
    s: AsyncSession,
    at: datetime,
    actor: str,
    action: str,
    subject: str = "",
    **details: Any,
) -> None:
    """Add an entry in the caller's transaction. Writing to the head row first takes the
    write lock (SQLite) or the row lock (PostgreSQL) before the head is read, so concurrent
    writers queue up instead of forking the chain."""
    entry = _entry((await s.execute(_TAKE_HEAD)).first(), at, actor, action, subject, details)
    await s.execute(_ADD_ENTRY, entry)
    await s.execute(_MOVE_HEAD, {"new_seq": entry["seq"], "new_hash": entry["hash"]})


def append_sync(
    conn: Connection,
    at: datetime,
    actor: str,
    action: str,
    subject: str = "",
    **details: Any,
) -> None:
    """`append` on a synchronous connection (`Database.run_writing`)."""
    entry = _entry(conn.execute(_TAKE_HEAD).first(), at, actor, action, subject, details)
    conn.execute(_ADD_ENTRY, entry)
    conn.execute(_MOVE_HEAD, {"new_seq": entry["seq"], "new_hash": entry["hash"]})


def _entry(
    head: Row[Any] | None, at: datetime, actor: str, action: str, subject: str, details: Any
) -> dict[str, Any]:
    """The entry that follows the head just taken, chained to it."""
    if head is None:
        raise RuntimeError("the audit head row is missing: the database was not migrated")
    prev_hash: str = head.hash
    text = json.dumps(details, sort_keys=True, separators=(",", ":"), default=str)[:500]
    seq = head.seq + 1
    return {
        "seq": seq,
        "at": at,
        "actor": actor,
        "action": action,
        "subject": subject,
        "details": text,
        "prev_hash": prev_hash,
        "hash": _digest(prev_hash, seq, at, actor, action, subject, text),
    }


@dataclass(frozen=True)
class Verdict:
    ok: bool
    entries: int
    problem: str = ""


async def verify(s: AsyncSession) -> Verdict:
    """Walk the chain from the start; report the first entry that does not fit."""
    expected_prev, expected_seq, count = GENESIS, 1, 0
    for entry in (await s.scalars(select(AuditEntry).order_by(AuditEntry.seq))).all():
        if entry.seq != expected_seq:
            return Verdict(False, count, f"entry {expected_seq} is missing")
        if entry.prev_hash != expected_prev:
            return Verdict(False, count, f"entry {entry.seq} does not follow its predecessor")
        digest = _digest(
            entry.prev_hash,
            entry.seq,
            entry.at,
            entry.actor,
            entry.action,
            entry.subject,
            entry.details,
        )
        if digest != entry.hash:
            return Verdict(False, count, f"entry {entry.seq} has been changed")
        expected_prev, expected_seq, count = entry.hash, entry.seq + 1, count + 1
    head = await s.get(AuditHead, 1)
    if head is not None and (head.seq != count or head.hash != expected_prev):
        return Verdict(False, count, f"entries after {count} have been removed")
    return Verdict(True, count)
