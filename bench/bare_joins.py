"""The join-storm baseline: bare aiohttp and python-socketio with nothing of Parley's (no
database, no validation, no sealing, no audit, no queue announcements). The same requests
and events as Parley's join path, each doing the least it can:

* GET /api/join/team/{slug}: a notice version;
* POST /api/join: a participant id and a random session token in a dict, the token as a
  cookie;
* connect: a socket with a known token cookie enters its participant's room (`enter_room`);
  one without is an advisor;
* `lobby_status`: "waiting" (or "admitted");
* `queue_pickup` (an advisor): `lobby_state` "admitted" emitted to the customer's room.

Run: python bench/bare_joins.py --port 8081"""

import argparse
import contextlib
import secrets
import uuid
from http.cookies import CookieError, SimpleCookie

import socketio
from aiohttp import web

COOKIE = "bare_guest"
sio = socketio.AsyncServer(
    async_mode="aiohttp", transports=["websocket"], max_http_buffer_size=1024 * 1024
)
app = web.Application()
sio.attach(app)
routes = web.RouteTableDef()
tokens: dict[str, str] = {}  # session token -> participant id
consultations: dict[str, str] = {}  # consultation id -> participant id
status: dict[str, str] = {}  # participant id -> "waiting" / "admitted"
participant_of: dict[str, str] = {}  # sid -> participant id


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


@routes.get("/api/join/team/{slug}")
async def team_facts(request: web.Request) -> web.Response:
    return web.json_response({"ok": True, "data": {"notice": {"version": "bare"}}})


@routes.post("/api/join")
async def join(request: web.Request) -> web.Response:
    body = await request.json()
    if not isinstance(body, dict) or not body.get("last_name"):
        return web.json_response({"ok": False, "error": {"code": "invalid"}}, status=400)
    pid, cid, token = uuid.uuid4().hex, uuid.uuid4().hex, secrets.token_urlsafe(32)
    tokens[token], consultations[cid], status[pid] = pid, pid, "waiting"
    data = {"participant_id": pid, "consultation_id": cid, "status": "waiting"}
    response = web.json_response({"ok": True, "data": data}, status=201)
    response.set_cookie(COOKIE, token, httponly=True, samesite="Lax")
    return response


@sio.on("connect")
async def connect(sid: str, environ: dict, auth: object = None) -> None:
    jar: SimpleCookie = SimpleCookie()
    with contextlib.suppress(CookieError):
        jar.load(environ.get("HTTP_COOKIE", ""))
    token = jar[COOKIE].value if COOKIE in jar else None
    pid = tokens.get(token) if token else None
    if pid is not None:
        participant_of[sid] = pid
        await sio.enter_room(sid, f"participant:{pid}")


@sio.on("disconnect")
async def disconnect(sid: str, reason: object = None) -> None:
    participant_of.pop(sid, None)


@sio.on("lobby_status")
async def lobby_status(sid: str, data: object = None) -> dict:
    pid = participant_of.get(sid)
    if pid is None:
        return {"ok": False, "error": {"code": "not_authorised"}}
    return {"ok": True, "data": {"participant_id": pid, "status": status[pid]}}


@sio.on("queue_pickup")
async def queue_pickup(sid: str, data: dict) -> dict:
    pid = consultations.get(data.get("consultation_id", "")) if isinstance(data, dict) else None
    if pid is None or status.get(pid) != "waiting":
        return {"ok": False, "error": {"code": "invalid_state"}}
    status[pid] = "admitted"
    cid = data["consultation_id"]
    state = {"consultation_id": cid, "participant_id": pid, "status": "admitted"}
    await sio.emit("lobby_state", state, room=f"participant:{pid}")
    return {"ok": True, "data": {"consultation_id": cid}}


app.add_routes(routes)

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    web.run_app(app, host="127.0.0.1", port=parser.parse_args().port, access_log=None)
