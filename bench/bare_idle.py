"""The idle-connections baseline: a bare python-socketio server with nothing of Parley's (no
sessions, no Origin check, no presence, no rooms beyond python-socketio's own). It accepts
every websocket connection and keeps it; the transport settings are Parley's (websocket
only, the same 1 MiB buffer limit, default ping interval and timeout).
Run: python bench/bare_idle.py --port 8081"""

import argparse

import socketio
from aiohttp import web

sio = socketio.AsyncServer(
    async_mode="aiohttp", transports=["websocket"], max_http_buffer_size=1024 * 1024
)
app = web.Application()
sio.attach(app)
app.router.add_get("/healthz", lambda request: web.json_response({"ok": True}))


@sio.on("connect")
async def connect(sid: str, environ: dict, auth: object = None) -> None:
    return None


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    web.run_app(app, host="127.0.0.1", port=parser.parse_args().port, access_log=None)
