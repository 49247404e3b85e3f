"""The baseline: a bare python-socketio relay with nothing of Parley's (no sessions, no
validation, no presence). `join` puts a socket in a pair room; `signal` goes to the others
in it. Run: python bench/bare_relay.py --port 8081"""

import argparse

import socketio
from aiohttp import web

sio = socketio.AsyncServer(async_mode="aiohttp", transports=["websocket"])
app = web.Application()
sio.attach(app)
app.router.add_get("/healthz", lambda request: web.json_response({"ok": True}))


@sio.on("join")
async def join(sid: str, data: dict) -> dict:
    await sio.enter_room(sid, data["consultation_id"])
    return {"ok": True, "data": {}}


@sio.on("signal")
async def signal(sid: str, data: dict) -> dict:
    out = {"consultation_id": data["consultation_id"], "from": sid, "candidate": data["candidate"]}
    await sio.emit("signal", out, room=data["consultation_id"], skip_sid=sid)
    return {"ok": True, "data": {}}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    web.run_app(app, host="127.0.0.1", port=parser.parse_args().port, access_log=None)
