"""The baseline: a bare python-socketio relay with nothing of Parley's (no sessions, no
validation, no presence). `join` puts a socket in a pair room; `signal` goes to the others
in it. With `--redis URL` it is one of several nodes, as python-socketio scales out by
itself: its `AsyncRedisManager` publishes every emit to all of them (issue 8's S11
baseline). Run: python bench/bare_relay.py --port 8081 [--redis redis://127.0.0.1:6379/0]"""

import argparse

import socketio
from aiohttp import web


def make_app(redis_url: str | None) -> web.Application:
    manager = socketio.AsyncRedisManager(redis_url) if redis_url else None
    sio = socketio.AsyncServer(
        async_mode="aiohttp", transports=["websocket"], client_manager=manager
    )
    app = web.Application()
    sio.attach(app)
    for path in ("/healthz", "/readyz"):
        app.router.add_get(path, lambda request: web.json_response({"ok": True}))

    @sio.on("join")
    async def join(sid: str, data: dict) -> dict:
        await sio.enter_room(sid, data["consultation_id"])
        return {"ok": True, "data": {}}

    @sio.on("signal")
    async def signal(sid: str, data: dict) -> dict:
        room = data["consultation_id"]
        out = {"consultation_id": room, "from": sid, "candidate": data["candidate"]}
        await sio.emit("signal", out, room=room, skip_sid=sid)
        return {"ok": True, "data": {}}

    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis", help="Redis URL: run as one node of several")
    args = parser.parse_args()
    web.run_app(make_app(args.redis), host="127.0.0.1", port=args.port, access_log=None)
