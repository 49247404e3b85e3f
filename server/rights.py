"""Data-subject rights, as the admin command and the API both carry them out: each one is a
unit of work with its audit entry; blobs are deleted after the commit."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from signaling.core import Core
from signaling.errors import InvalidState, NotFound, Restricted
from storage import audit, privacy
from storage.blobs import BlobStore
from storage.crypto import open_chunks
from storage.models import Consultation, ConsultationState, StoredFile

Write = Callable[[bytes], Awaitable[None]]


class _Sink(io.RawIOBase):
    """Where zipfile writes; the export drains it to the client after every piece."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.buffer += data
        return len(data)

    def take(self) -> bytes:
        data = bytes(self.buffer)
        self.buffer.clear()
        return data


async def write_archive(
    core: Core,
    blobs: BlobStore,
    document: dict[str, Any],
    files: list[tuple[StoredFile, str]],
    write: Write,
) -> None:
    """A zip of `export.json` and the files, streamed as it is made (nothing on disk)."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("export.json", json.dumps(document, indent=2, ensure_ascii=False))
        await write(sink.take())
        for stored, name in files:
            async with core.db.reading() as s:
                dek = await core.vault.dek(s, stored.consultation_id)
            pieces = open_chunks(
                dek, stored.consultation_id, stored.id, stored.chunk_count, blobs.read(stored.id)
            )
            with archive.open(f"files/{stored.id}-{name}", "w", force_zip64=True) as entry:
                async for piece in pieces:
                    entry.write(piece)
                    await write(sink.take())
    await write(sink.take())


async def _consultation(core: Core, consultation_id: str) -> Consultation:
    async with core.db.reading() as s:
        c = await s.get(Consultation, consultation_id)
    if c is None or c.erased_at is not None:
        raise NotFound("no such consultation")
    return c


async def export(
    core: Core,
    blobs: BlobStore,
    actor: str,
    write: Write,
    *,
    participant: str | None = None,
    consultation: str | None = None,
) -> None:
    now = core.clock()
    try:
        async with core.db.session() as s:
            if participant is not None:
                document, files = await privacy.export_participant(s, core.vault, participant, now)
                subject = f"participant:{participant}"
            else:
                assert consultation is not None
                document, files = await privacy.export_consultation(
                    s, core.vault, consultation, now
                )
                subject = f"consultation:{consultation}"
            await audit.append(s, now, actor, "exported", subject, files=len(files))
    except privacy.Gone as gone:
        raise NotFound(str(gone)) from None
    await write_archive(core, blobs, document, files, write)


async def rectify(core: Core, actor: str, participant: str, first: str, last: str) -> None:
    async with core.db.session() as s:
        try:
            _unrestricted(await _consultation(core, await privacy.consultation_of(s, participant)))
            await privacy.rectify_name(s, core.vault, participant, f"{first} {last}")
        except privacy.Gone as gone:
            raise NotFound(str(gone)) from None
        await audit.append(
            s, core.clock(), actor, "rectified", f"participant:{participant}", field="name"
        )


def _ended(c: Consultation) -> None:
    if c.state != ConsultationState.ended:
        raise InvalidState("end the consultation first; live content is not erased")


def _unrestricted(c: Consultation) -> None:
    """A restriction freezes the content: it is neither changed nor erased (the person may
    have asked for restriction instead of erasure) until the restriction is lifted."""
    if c.restricted_at is not None:
        raise Restricted("processing is restricted: lift the restriction first")


async def erase(
    core: Core,
    blobs: BlobStore,
    actor: str,
    *,
    participant: str | None = None,
    consultation: str | None = None,
) -> None:
    now: datetime = core.clock()
    async with core.db.session() as s:
        try:
            if participant is not None:
                c = await _consultation(core, await privacy.consultation_of(s, participant))
                _ended(c)
                _unrestricted(c)
                gone = await privacy.erase_participant(s, participant)
                subject = f"participant:{participant}"
            else:
                assert consultation is not None
                c = await _consultation(core, consultation)
                _ended(c)
                _unrestricted(c)
                gone = await privacy.erase_consultation(s, core.vault, consultation, now)
                subject = f"consultation:{consultation}"
        except privacy.Gone as missing:
            raise NotFound(str(missing)) from None
        await audit.append(s, now, actor, "erased", subject, files=len(gone))
    for blob_id in gone:
        await blobs.delete(blob_id)


async def hold(core: Core, actor: str, consultation: str, held: bool) -> None:
    """A legal hold keeps a consultation's content past its retention period."""
    async with core.db.session() as s:
        try:
            await privacy.set_legal_hold(s, consultation, held)
        except privacy.Gone as gone:
            raise NotFound(str(gone)) from None
        action = "legal_hold_set" if held else "legal_hold_released"
        await audit.append(s, core.clock(), actor, action, f"consultation:{consultation}")


async def restrict(core: Core, actor: str, consultation: str, restricted: bool) -> None:
    now = core.clock()
    async with core.db.session() as s:
        try:
            await privacy.set_restriction(s, consultation, restricted, now)
        except privacy.Gone as gone:
            raise NotFound(str(gone)) from None
        action = "restricted" if restricted else "unrestricted"
        await audit.append(s, now, actor, action, f"consultation:{consultation}")
