"""The files baseline: a bare aiohttp server with Parley's two file routes and nothing of
Parley's (no sessions, no type check, no sealing, no database). An upload is streamed to a
file on disk in 256 KiB chunks (written off the event loop, fsync'ed at the end, as Parley's
local blob store does) and streamed back the same way.
Run: python bench/bare_files.py --port 8082 --dir /tmp/blobs"""

import argparse
import asyncio
import os
import uuid
from pathlib import Path

from aiohttp import StreamReader, web

CHUNK = 256 * 1024
DIR = web.AppKey("dir", Path)
routes = web.RouteTableDef()


async def read_chunk(reader: StreamReader) -> bytes:
    try:
        return await reader.readexactly(CHUNK)
    except asyncio.IncompleteReadError as short:
        return short.partial


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


@routes.post("/api/consultations/{consultation_id}/files")
async def upload(request: web.Request) -> web.Response:
    file_id, size = uuid.uuid4().hex, 0
    fh = await asyncio.to_thread((request.app[DIR] / file_id).open, "wb")
    with fh:
        while piece := await read_chunk(request.content):
            size += len(piece)
            await asyncio.to_thread(fh.write, piece)
        await asyncio.to_thread(os.fsync, fh.fileno())
    return web.json_response(
        {"ok": True, "data": {"file": {"id": file_id, "size": size}}}, status=201
    )


@routes.get("/api/files/{file_id}")
async def download(request: web.Request) -> web.StreamResponse:
    path = request.app[DIR] / request.match_info["file_id"].replace("/", "")
    fh = await asyncio.to_thread(path.open, "rb")
    with fh:
        response = web.StreamResponse(headers={"Content-Length": str(path.stat().st_size)})
        await response.prepare(request)
        while piece := await asyncio.to_thread(fh.read, CHUNK):
            await response.write(piece)
    await response.write_eof()
    return response


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args()
    app = web.Application(client_max_size=1024**2)
    app[DIR] = args.dir
    app.add_routes(routes)
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None)
