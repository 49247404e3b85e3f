"""Where sealed file chunks live. Two stores behind one interface: a local directory (the
embedded default) and the database (so any node can serve any file). Stores see only
ciphertext; sealing and chunk order are checked by the caller (storage.crypto AAD)."""

from __future__ import annotations

import asyncio
import os
import struct
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import BinaryIO, Protocol

from sqlalchemy import delete, select

from storage.db import Database
from storage.models import BlobChunk

_LENGTH = struct.Struct(">I")
READ_AHEAD = 512 * 1024  # bytes of chunks a local read takes per trip to a thread


def _read_chunks(fh: BinaryIO, budget: int) -> tuple[list[bytes], bool]:
    """Whole chunks from `fh`, at least one and about `budget` bytes; False once the file
    ends (a short or missing length or chunk ends it too)."""
    chunks: list[bytes] = []
    while budget > 0:
        head = fh.read(_LENGTH.size)
        if len(head) < _LENGTH.size:
            return chunks, False
        (length,) = _LENGTH.unpack(head)
        chunk = fh.read(length)
        chunks.append(chunk)
        if len(chunk) < length:
            return chunks, False
        budget -= length
    return chunks, True


class BlobStore(Protocol):
    async def write(self, blob_id: str, first: int, chunks: Sequence[bytes]) -> None:
        """Append chunks `first`, `first` + 1, ... (0, 1, 2, ... in order, over the calls)
        to an unfinished blob."""
        ...

    async def finish(self, blob_id: str) -> None:
        """Make a blob durable and readable."""
        ...

    def read(self, blob_id: str) -> AsyncIterator[bytes]:
        """The chunks of a finished blob, in order."""
        ...

    async def delete(self, blob_id: str) -> None:
        """Remove a blob, finished or not; missing is fine."""
        ...


class LocalBlobStore:
    """One file per blob, length-prefixed chunks; `.part` until finished."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, blob_id: str, suffix: str) -> Path:
        if not blob_id.isalnum():
            raise ValueError("bad blob id")
        return self.root / blob_id[:2] / f"{blob_id}{suffix}"

    async def write(self, blob_id: str, first: int, chunks: Sequence[bytes]) -> None:
        path = self._path(blob_id, ".part")

        def append() -> None:
            if first == 0:
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            with path.open("wb" if first == 0 else "ab") as fh:
                for chunk in chunks:
                    fh.write(_LENGTH.pack(len(chunk)))
                    fh.write(chunk)

        await asyncio.to_thread(append)

    async def finish(self, blob_id: str) -> None:
        part, done = self._path(blob_id, ".part"), self._path(blob_id, ".blob")

        def durable() -> None:
            with part.open("rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(part, done)

        await asyncio.to_thread(durable)

    async def read(self, blob_id: str) -> AsyncIterator[bytes]:
        # one hand-off to a thread per READ_AHEAD bytes, not two per chunk: handing work to a
        # thread and back costs more than reading a 256 KiB chunk from the page cache
        path = self._path(blob_id, ".blob")
        fh = await asyncio.to_thread(path.open, "rb")
        try:
            while True:
                chunks, complete = await asyncio.to_thread(_read_chunks, fh, READ_AHEAD)
                for chunk in chunks:
                    yield chunk
                if not complete:
                    return  # the caller notices a missing final chunk
        finally:
            fh.close()

    async def delete(self, blob_id: str) -> None:
        for suffix in (".part", ".blob"):
            await asyncio.to_thread(self._path(blob_id, suffix).unlink, True)


class DatabaseBlobStore:
    """Chunks as rows, each call's in one short transaction."""

    def __init__(self, db: Database, batch: int = 8) -> None:
        self.db = db
        self.batch = batch

    async def write(self, blob_id: str, first: int, chunks: Sequence[bytes]) -> None:
        async with self.db.session() as s:
            rows = enumerate(chunks, start=first)
            s.add_all(BlobChunk(blob_id=blob_id, idx=index, data=data) for index, data in rows)

    async def finish(self, blob_id: str) -> None:
        return None  # each chunk was committed as it came; visibility is the file row's state

    async def read(self, blob_id: str) -> AsyncIterator[bytes]:
        index = 0
        while True:
            async with self.db.session() as s:
                stmt = (
                    select(BlobChunk.data)
                    .where(BlobChunk.blob_id == blob_id, BlobChunk.idx >= index)
                    .order_by(BlobChunk.idx)
                    .limit(self.batch)
                )
                rows = (await s.scalars(stmt)).all()
            for data in rows:
                yield data
            if len(rows) < self.batch:
                return
            index += len(rows)

    async def delete(self, blob_id: str) -> None:
        async with self.db.session() as s:
            await s.execute(delete(BlobChunk).where(BlobChunk.blob_id == blob_id))
