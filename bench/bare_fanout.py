"""The room fan-out baseline: a bare python-socketio server with nothing of Parley's (no
sessions, no validation, no sealing, no storage, no Yjs). `join` puts a socket in a room;
`chat_send` goes to the whole room as a `chat_message` of Parley's shape (numbered in
memory) and is acknowledged with Parley's fields; `board_update` goes to the others in the
room as Parley relays it (`consultation_id`, `from`, the update's bytes). Run:
python bench/bare_fanout.py --port 8081"""

import argparse
import datetime
import uuid

import socketio
from aiohttp import web

sio = socketio.AsyncServer(
    async_mode="aiohttp", transports=["websocket"], max_http_buffer_size=1024 * 1024
)
app = web.Application()
sio.attach(app)
app.router.add_get("/healthz", lambda request: web.json_response({"ok": True}))
seqs: dict[str, int] = {}  # room -> the last chat number given


@sio.on("join")
async def join(sid: str, data: dict) -> dict:
    await sio.enter_room(sid, data["consultation_id"])
    return {"ok": True, "data": {}}


@sio.on("chat_send")
async def chat_send(sid: str, data: dict) -> dict:
    room, now = data["consultation_id"], datetime.datetime.now(datetime.UTC).isoformat()
    seqs[room] = seqs.get(room, 0) + 1
    out = {"consultation_id": room, "seq": seqs[room], "id": uuid.uuid4().hex}
    out |= {"client_id": data["client_id"], "from": sid, "name": "Bench Kunde", "kind": "text"}
    out |= {"body": data["body"], "created_at": now}
    await sio.emit("chat_message", out, room=room)
    return {"ok": True, "data": {"seq": out["seq"], "id": out["id"], "created_at": now}}


@sio.on("board_update")
async def board_update(sid: str, data: dict) -> dict:
    room = data["consultation_id"]
    out = {"consultation_id": room, "from": sid, "update": data["update"]}
    await sio.emit("board_update", out, room=room, skip_sid=sid)
    return {"ok": True, "data": {}}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    web.run_app(app, host="127.0.0.1", port=parser.parse_args().port, access_log=None)
