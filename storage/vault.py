"""Per-consultation data keys: create, fetch (cached), shred, re-wrap under a new KEK."""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Row, Table, bindparam, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.crypto import IntegrityError, Keyring, aad, new_key, open_sealed, seal
from storage.models import ConsultationKey

# Record kinds in the associated data of sealed fields: a ciphertext opens only as the kind
# of record it was sealed as.
PARTICIPANT_NAME = "participant_name"
FILE_NAME = "file_name"
CHAT_BODY = "chat"
BOARD_UPDATE = "board_update"  # record id: the update's sequence number
BOARD_SNAPSHOT = "board_snapshot"  # record id: the last sequence number it stands for
BOOKING_NAME = "booking_name"  # record id: the booking's id, as for the two below
BOOKING_EMAIL = "booking_email"
BOOKING_LINK = "booking_link"

# a consultation's wrapped data key (a Core statement: `dek` runs it on sessions, `dek_sync`
# on the synchronous connections that whiteboard and chat batches are written on)
_KEY_OF = select(ConsultationKey.kek_id, ConsultationKey.wrapped_dek).where(
    ConsultationKey.consultation_id == bindparam("consultation_id")
)
_ADD_KEY = insert(cast(Table, ConsultationKey.__table__))


class KeyShredded(IntegrityError):
    """The consultation's data key is gone: its content is unreadable for good."""


class Vault:
    def __init__(self, keyring: Keyring, cache_size: int = 4096) -> None:
        self.keyring = keyring
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._cache_size = cache_size
        # the cache is also used from the SQLite writer thread (`Database.run_writing`)
        self._cache_lock = threading.Lock()

    def _remember(self, consultation_id: str, dek: bytes) -> bytes:
        with self._cache_lock:
            self._cache[consultation_id] = dek
            self._cache.move_to_end(consultation_id)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return dek

    def _cached(self, consultation_id: str) -> bytes | None:
        with self._cache_lock:
            dek = self._cache.get(consultation_id)
            if dek is not None:
                self._cache.move_to_end(consultation_id)
            return dek

    def _unwrapped(self, consultation_id: str, row: Row[str, bytes] | None) -> bytes:
        if row is None:
            raise KeyShredded("this consultation's content has been erased")
        return self._remember(
            consultation_id, self.keyring.unwrap(consultation_id, row.kek_id, row.wrapped_dek)
        )

    async def create(self, s: AsyncSession, consultation_id: str, now: datetime) -> bytes:
        dek, row = self._new(consultation_id, now)
        s.add(ConsultationKey(**row))
        return self._remember(consultation_id, dek)

    def create_sync(self, conn: Connection, consultation_id: str, now: datetime) -> bytes:
        """`create` on a synchronous connection (`Database.run_writing`): the key's row is
        inserted at once, so the consultation's row must be there already."""
        dek, row = self._new(consultation_id, now)
        conn.execute(_ADD_KEY, row)
        return self._remember(consultation_id, dek)

    def _new(self, consultation_id: str, now: datetime) -> tuple[bytes, dict[str, Any]]:
        """A new data key, and the row that holds it wrapped."""
        dek = new_key()
        kek_id, wrapped = self.keyring.wrap(consultation_id, dek)
        row = {
            "consultation_id": consultation_id,
            "kek_id": kek_id,
            "wrapped_dek": wrapped,
            "created_at": now,
        }
        return dek, row

    async def dek(self, s: AsyncSession, consultation_id: str) -> bytes:
        cached = self._cached(consultation_id)
        if cached is not None:
            return cached
        row = (await s.execute(_KEY_OF, {"consultation_id": consultation_id})).first()
        return self._unwrapped(consultation_id, row)

    def dek_sync(self, conn: Connection, consultation_id: str) -> bytes:
        """`dek` on a synchronous connection (`Database.run_writing`)."""
        cached = self._cached(consultation_id)
        if cached is not None:
            return cached
        row = conn.execute(_KEY_OF, {"consultation_id": consultation_id}).first()
        return self._unwrapped(consultation_id, row)

    async def shred(self, s: AsyncSession, consultation_id: str) -> None:
        """Destroy the data key: every ciphertext of the consultation becomes noise."""
        await s.execute(
            delete(ConsultationKey).where(ConsultationKey.consultation_id == consultation_id)
        )
        with self._cache_lock:
            self._cache.pop(consultation_id, None)

    async def rewrap(self, s: AsyncSession) -> int:
        """Wrap every data key not under the active KEK anew; content is not touched."""
        active = self.keyring.active
        rows = (
            await s.scalars(select(ConsultationKey).where(ConsultationKey.kek_id != active))
        ).all()
        for row in rows:
            dek = self.keyring.unwrap(row.consultation_id, row.kek_id, row.wrapped_dek)
            row.kek_id, row.wrapped_dek = self.keyring.wrap(row.consultation_id, dek)
        return len(rows)

    @staticmethod
    async def keks_in_use(s: AsyncSession) -> dict[str, int]:
        stmt = select(ConsultationKey.kek_id, func.count()).group_by(ConsultationKey.kek_id)
        return {kek_id: int(n) for kek_id, n in (await s.execute(stmt)).all()}

    # sealing of small fields: names, chat bodies -------------------------------------------

    @staticmethod
    def seal_text(dek: bytes, consultation_id: str, kind: str, record_id: str, text: str) -> bytes:
        return seal(dek, text.encode("utf-8"), aad(consultation_id, kind, record_id))

    @staticmethod
    def open_text(
        dek: bytes, consultation_id: str, kind: str, record_id: str, sealed: bytes
    ) -> str:
        return open_sealed(dek, sealed, aad(consultation_id, kind, record_id)).decode("utf-8")

    @staticmethod
    def seal_bytes(
        dek: bytes, consultation_id: str, kind: str, record_id: str, data: bytes
    ) -> bytes:
        return seal(dek, data, aad(consultation_id, kind, record_id))

    @staticmethod
    def open_bytes(
        dek: bytes, consultation_id: str, kind: str, record_id: str, sealed: bytes
    ) -> bytes:
        return open_sealed(dek, sealed, aad(consultation_id, kind, record_id))
