"""File exchange over HTTP: streamed, chunk-sealed uploads and downloads."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import quote

from aiohttp import StreamReader, web

from server.api import ID, identity_of, path_param
from server.scan import Scanner
from server.state import FILES
from server.web_helpers import SETTINGS, envelope
from signaling.errors import (
    ContentErased,
    IntegrityFailure,
    InvalidPayload,
    NotAuthenticated,
    PayloadTooLarge,
    UploadTimeout,
)
from signaling.filetypes import SNIFF_BYTES, content_type_of, display_name
from signaling.rules import Actor
from storage.crypto import IntegrityError, open_chunks, seal_chunk
from storage.vault import KeyShredded

log = logging.getLogger(__name__)

DOWNLOAD_CSP = (
    "sandbox; default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
CHUNK = 256 * 1024  # plaintext per sealed chunk
# sealed chunks an upload hands to its blob store at once: a hand-off to a thread per chunk
# cost more than writing it (docs/benchmarks.md); an upload holds these and two more
WRITE_BEHIND = 4
routes = web.RouteTableDef()


async def actor_of(request: web.Request) -> Actor:
    who = await identity_of(request)
    if who is None:
        raise NotAuthenticated("sign in or join a consultation first")
    return who.actor


async def read_chunk(reader: StreamReader, size: int, within: float) -> bytes:
    """`size` bytes, or fewer only at the end of the body. A client that does not send them
    `within` seconds (trickling bytes to hold a connection, a row and a file open) is
    refused, and the caller's clean-up removes what it stored."""
    try:
        async with asyncio.timeout(within):
            return await reader.readexactly(size)
    except asyncio.IncompleteReadError as short:
        return short.partial
    except TimeoutError:
        raise UploadTimeout(
            f"the upload was too slow (not {size // 1024} KiB within {within:g} s); try again"
        ) from None


@routes.post("/api/consultations/{consultation_id}/files")
async def upload(request: web.Request) -> web.Response:
    actor = await actor_of(request)
    consultation_id = path_param(request, "consultation_id", ID)
    raw_name = request.query.get("name", "")
    if not raw_name or len(raw_name) > 1000:
        raise InvalidPayload("name: give the file's name (at most 1000 characters)")
    settings, files = request.app[SETTINGS], request.app[FILES]
    limit = settings.upload_max_bytes
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"files are limited to {limit // (1024 * 1024)} MB")
    uploader = await files.uploader(actor, consultation_id)
    name = display_name(raw_name)
    first = await read_chunk(request.content, CHUNK, settings.upload_read_timeout_seconds)
    if len(first) > limit:
        raise PayloadTooLarge(f"files are limited to {limit // (1024 * 1024)} MB")
    content_type = content_type_of(name, first[:SNIFF_BYTES])

    stored = await files.begin(uploader, name, content_type)
    scanner = None
    try:
        if settings.scan_command:
            scanner = await Scanner.start(settings.scan_command, settings.scan_timeout_seconds)
        dek = await files.dek(consultation_id)
        held, size, index = first, len(first), 0
        sealed: list[bytes] = []  # chunks index - len(sealed) .. index - 1, not written yet
        while len(held) == CHUNK:  # a full chunk: there may be more
            piece = await read_chunk(request.content, CHUNK, settings.upload_read_timeout_seconds)
            size += len(piece)
            if size > limit:
                raise PayloadTooLarge(f"files are limited to {limit // (1024 * 1024)} MB")
            if not piece:
                break
            sealed.append(seal_chunk(dek, consultation_id, stored.id, index, False, held))
            if len(sealed) == WRITE_BEHIND:
                await files.blobs.write(stored.id, index + 1 - len(sealed), sealed)
                sealed = []
            if scanner:
                await scanner.feed(held)
            held, index = piece, index + 1
        sealed.append(seal_chunk(dek, consultation_id, stored.id, index, True, held))
        await files.blobs.write(stored.id, index + 1 - len(sealed), sealed)
        if scanner:
            await scanner.feed(held)
            await scanner.verdict()
        await files.blobs.finish(stored.id)
        data = await files.finish(stored, name, size, index + 1)
    except BaseException:
        if scanner:
            scanner.kill()
        await asyncio.shield(files.abort(stored))
        raise
    return envelope(data, status=201)


def disposition(name: str) -> str:
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


@routes.get("/api/files/{file_id}")
async def download(request: web.Request) -> web.StreamResponse:
    actor = await actor_of(request)
    files = request.app[FILES]
    try:
        stored, dek, name = await files.readable(actor, path_param(request, "file_id", ID))
    except KeyShredded:
        raise ContentErased("this file has been erased") from None
    chunks = open_chunks(
        dek, stored.consultation_id, stored.id, stored.chunk_count, files.blobs.read(stored.id)
    )
    try:
        first = await anext(chunks)
    except (IntegrityError, FileNotFoundError, StopAsyncIteration):
        log.error("a file failed its integrity check consultation=%s", stored.consultation_id)
        raise IntegrityFailure("the stored file is damaged and cannot be delivered") from None
    response = web.StreamResponse(
        headers={
            "Content-Type": stored.content_type,
            "Content-Disposition": disposition(name),
            "Content-Length": str(stored.size),
            "X-Content-Type-Options": "nosniff",
            # should a browser ever render it anyway (a viewer, a misconfigured proxy),
            # it runs in an opaque origin with nothing allowed: no script, no style, no form
            "Content-Security-Policy": DOWNLOAD_CSP,
            "Cache-Control": "private, no-store",
        }
    )
    await response.prepare(request)
    await response.write(first)
    try:
        async for piece in chunks:
            await response.write(piece)
    except IntegrityError:
        # the headers are out: cut the connection so the client sees a broken transfer
        log.error(
            "a file failed its integrity check mid-transfer consultation=%s",
            stored.consultation_id,
        )
        if request.transport is not None:
            request.transport.close()
        return response
    await response.write_eof()
    return response


@routes.delete("/api/files/{file_id}")
async def delete(request: web.Request) -> web.Response:
    actor = await actor_of(request)
    return envelope(await request.app[FILES].remove(actor, path_param(request, "file_id", ID)))


@routes.get("/api/consultations/{consultation_id}/files")
async def listing(request: web.Request) -> web.Response:
    actor = await actor_of(request)
    consultation_id = path_param(request, "consultation_id", ID)
    return envelope(await request.app[FILES].listing(actor, consultation_id))
