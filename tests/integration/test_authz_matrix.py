# ruff: noqa: E501  (the tables are meant to be read as tables)
"""The authorization matrix: every HTTP route and every Socket.IO event x every actor x own
or foreign consultation, against a real server.

The route list comes from the application's router (and must agree with /api/openapi.json),
the event list from `SocketAdapter.EVENTS`; a route or event missing from the tables below
fails `test_the_tables_cover_every_route_and_event`. The expected outcomes are written by
hand, one line per route or event:

    ok        allowed: not refused for authorization reasons (a valid payload is sent, so the
              call does its work or fails only for its state, e.g. `invalid_state`)
    401       refused `not_authenticated` (HTTP 401; a Socket.IO connection is refused)
    403       refused `not_authorised` (HTTP 403, or the event's acknowledgement)
    ok/403    own consultation / foreign consultation
    socket    the Engine.IO endpoint: covered by the `connect` line of the event table

Actors (columns): see tests/actors.py. "own" is consultation A for the actors of A, B for
`other_customer` and `other_advisor`; actors without a consultation have one column value.
An outsider must not learn whether a consultation exists: every refusal for a foreign
consultation, participant, file or invite is compared with the answer for an id that was
never issued, which must be the same.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import socketio
from aiortc import RTCPeerConnection

from server.openapi import router_operations
from signaling.adapter import SocketAdapter
from tests.actors import ACTORS, MISSING_ID, Actor, Answer, World, build_world
from tests.clients import Socket

# anon  = anonymous        lobby = customer in the lobby   admit = admitted customer
# remov = removed customer ocust = customer of B           adv   = advisor of A's team
# oadv  = advisor of B's team (another team)               ops   = ops account
# admin = the CLI administrator (no HTTP identity)         out   = a logged-out session
HTTP_TABLE = """
route                                                     anon  lobby admit remov ocust adv    oadv   ops   admin out
GET /healthz                                              ok    ok    ok    ok    ok    ok     ok     ok    ok    ok
GET /readyz                                               ok    ok    ok    ok    ok    ok     ok     ok    ok    ok
GET /api/session                                          ok    ok    ok    ok    ok    ok     ok     ok    ok    ok
POST /api/auth/login                                      ok    ok    ok    ok    ok    ok     ok     ok    ok    ok
POST /api/auth/logout                                     401   401   401   401   401   ok     ok     ok    401   401
GET /api/consultations                                    401   401   401   401   401   ok     ok     403   401   401
POST /api/consultations                                   401   401   401   401   401   ok     ok     403   401   401
POST /api/consultations/{consultation_id}/invites         401   401   401   401   401   ok/403 ok/403 403   401   401
DELETE /api/consultations/{consultation_id}/invites/{invite_id} 401 401 401 401 401   ok/403 ok/403 403   401   401
POST /api/consultations/{consultation_id}/end             401   401   401   401   401   ok/403 ok/403 403   401   401
GET /api/consultations/{consultation_id}/chat             401   401   401   401   401   ok/403 ok/403 403   401   401
GET /api/consultations/{consultation_id}/board            401   401   401   401   401   ok/403 ok/403 403   401   401
GET /api/join/team/{slug}                                 ok    ok    ok    ok    ok    ok     ok     ok    ok    ok
GET /api/join/invite/{token}                              ok    ok    ok    ok    ok    ok     ok     ok    ok    ok
POST /api/join                                            ok    ok    ok    ok    ok    ok     ok     ok    ok    ok
GET /api/appointments                                     401   401   401   401   401   ok     ok     403   401   401
POST /api/appointments/slots                              401   401   401   401   401   ok     ok     403   401   401
DELETE /api/appointments/slots/{slot_id}                  401   401   401   401   401   ok/403 ok/403 403   401   401
GET /api/appointments/slots/{slot_id}/calendar.ics        401   401   401   401   401   ok/403 ok/403 403   401   401
GET /api/teams/{slug}/slots                               ok    ok    ok    ok    ok    ok     ok     ok    ok    ok
POST /api/bookings                                        ok    ok    ok    ok    ok    ok     ok     ok    ok    ok
GET /api/bookings/{token}/calendar.ics                    ok    ok    ok    ok    ok    ok     ok     ok    ok    ok
POST /api/consultations/{consultation_id}/files           401   403   ok/403 403  ok/403 ok/403 ok/403 403   401   401
GET /api/consultations/{consultation_id}/files            401   403   ok/403 403  ok/403 ok/403 ok/403 403   401   401
GET /api/files/{file_id}                                  401   403   ok/403 403  ok/403 ok/403 ok/403 403   401   401
DELETE /api/files/{file_id}                               401   403   ok/403 403  ok/403 ok/403 ok/403 403   401   401
GET /api/consultations/{consultation_id}/export           401   401   401   401   401   ok/403 ok/403 403   401   401
GET /api/participants/{participant_id}/export             401   401   401   401   401   ok/403 ok/403 403   401   401
GET /api/consultations/{consultation_id}/participants     401   401   401   401   401   ok/403 ok/403 403   401   401
POST /api/participants/{participant_id}/rectify           401   401   401   401   401   ok/403 ok/403 403   401   401
POST /api/participants/{participant_id}/erase             401   401   401   401   401   ok/403 ok/403 403   401   401
POST /api/consultations/{consultation_id}/erase           401   401   401   401   401   ok/403 ok/403 403   401   401
POST /api/consultations/{consultation_id}/restrict        401   401   401   401   401   ok/403 ok/403 403   401   401
POST /api/consultations/{consultation_id}/unrestrict      401   401   401   401   401   ok/403 ok/403 403   401   401
POST /api/receipt                                         401   ok    ok    ok    ok    401    401    401   401   401
GET /api/receipt/{token}                                  ok    ok    ok    ok    ok    ok     ok     ok    ok    ok
GET /api/receipt/{token}/export                           ok    ok    ok    ok    ok    ok     ok     ok    ok    ok
POST /api/receipt/{token}/erase                           ok    ok    ok    ok    ok    ok     ok     ok    ok    ok
GET /api/ops/stats                                        401   401   401   401   401   403    403    ok    401   401
GET /api/ops/stats.csv                                    401   401   401   401   401   403    403    ok    401   401
GET /api/ops/consultations                                401   401   401   401   401   403    403    ok    401   401
GET /api/branding                                         ok    ok    ok    ok    ok    ok     ok     ok    ok    ok
GET /branding.css                                         ok    ok    ok    ok    ok    ok     ok     ok    ok    ok
GET /brand/logo                                           ok    ok    ok    ok    ok    ok     ok     ok    ok    ok
GET /api/teams/{slug}/availability                        ok    ok    ok    ok    ok    ok     ok     ok    ok    ok
GET /embed.js                                             ok    ok    ok    ok    ok    ok     ok     ok    ok    ok
GET /api/openapi.json                                     ok    ok    ok    ok    ok    ok     ok     ok    ok    ok
GET /api/precall                                          ok    ok    ok    ok    ok    ok     ok     ok    ok    ok
POST /api/precall                                         ok    ok    ok    ok    ok    ok     ok     ok    ok    ok
GET /api/precall/{session_id}                             ok    ok    ok    ok    ok    ok     ok     ok    ok    ok
DELETE /api/precall/{session_id}                          ok    ok    ok    ok    ok    ok     ok     ok    ok    ok
GET /metrics                                              ok    ok    ok    ok    ok    ok     ok     ok    ok    ok
GET /                                                     ok    ok    ok    ok    ok    ok     ok     ok    ok    ok
GET /login                                                ok    ok    ok    ok    ok    ok     ok     ok    ok    ok
GET /dashboard                                            ok    ok    ok    ok    ok    ok     ok     ok    ok    ok
GET /ops                                                  ok    ok    ok    ok    ok    ok     ok     ok    ok    ok
GET /check                                                ok    ok    ok    ok    ok    ok     ok     ok    ok    ok
GET /c                                                    ok    ok    ok    ok    ok    ok     ok     ok    ok    ok
GET /t/{slug}                                             ok    ok    ok    ok    ok    ok     ok     ok    ok    ok
GET /t/{slug}/book                                        ok    ok    ok    ok    ok    ok     ok     ok    ok    ok
GET /i/{token}                                            ok    ok    ok    ok    ok    ok     ok     ok    ok    ok
GET /r/{token}                                            ok    ok    ok    ok    ok    ok     ok     ok    ok    ok
GET /room/{consultation_id}                               ok    ok    ok    ok    ok    ok     ok     ok    ok    ok
GET /assets/{filename}                                    ok    ok    ok    ok    ok    ok     ok     ok    ok    ok
GET /socket.io/                                           socket socket socket socket socket socket socket socket socket socket
POST /socket.io/                                          socket socket socket socket socket socket socket socket socket socket
OPTIONS /socket.io/                                       socket socket socket socket socket socket socket socket socket socket
"""

EVENT_TABLE = """
event               anon  lobby admit  remov ocust  adv    oadv   ops   admin out
connect             401   ok    ok     ok    ok     ok     ok     ok    401   401
dashboard_get       401   403   403    403   403    ok     ok     403   401   401
lobby_status        401   ok    ok     ok    ok     403    403    403   401   401
queue_pickup        401   403   403    403   403    ok/403 ok/403 403   401   401
lobby_admit         401   403   403    403   403    ok/403 ok/403 403   401   401
lobby_refuse        401   403   403    403   403    ok/403 ok/403 403   401   401
room_join           401   403   ok/403 403   ok/403 ok/403 ok/403 403   401   401
room_leave          401   403   ok/403 403   ok/403 ok/403 ok/403 403   401   401
media_update        401   403   ok/403 403   ok/403 ok/403 ok/403 403   401   401
rtc_signal          401   403   ok/403 403   ok/403 ok/403 ok/403 403   401   401
participant_remove  401   403   403    403   403    ok/403 ok/403 403   401   401
consultation_end    401   403   403    403   403    ok/403 ok/403 403   401   401
chat_send           401   403   ok/403 403   ok/403 ok/403 ok/403 403   401   401
chat_history        401   403   ok/403 403   ok/403 ok/403 ok/403 403   401   401
quality_report      401   403   ok/403 403   ok/403 ok/403 ok/403 403   401   401
ops_snapshot_get    401   403   403    403   403    403    403    ok    401   401
board_sync          401   403   ok/403 403   ok/403 ok/403 ok/403 403   401   401
board_update        401   403   ok/403 403   ok/403 ok/403 ok/403 403   401   401
board_awareness     401   403   ok/403 403   ok/403 ok/403 ok/403 403   401   401
board_lock          401   403   403    403   403    ok/403 ok/403 403   401   401
"""

REFUSALS = {"401": ("not_authenticated", 401), "403": ("not_authorised", 403)}
AUTHZ_CODES = {"not_authenticated", "not_authorised", "not_found", "csrf_failed", "origin_refused"}
TARGETED_WITHOUT_PLACEHOLDER = {"POST /api/join"}  # the target is in the body
# what uses up or changes shared state: refusals of these first, then their allowed cells,
# in this order, after everything else
LAST = (
    "POST /api/receipt",
    "POST /api/consultations/{consultation_id}/restrict",
    "POST /api/consultations/{consultation_id}/unrestrict",
    "POST /api/consultations/{consultation_id}/end",
    "POST /api/participants/{participant_id}/erase",
    "POST /api/consultations/{consultation_id}/erase",
    "POST /api/auth/logout",
    "POST /api/auth/login",
)
LAST_EVENTS = ("room_leave", "consultation_end")  # a customer who left stays out
ID_PLACEHOLDERS = ("{consultation_id}", "{participant_id}", "{file_id}", "{invite_id}", "{slot_id}")
# a 1x1 PNG, served as the brand logo
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201ffa8d0"
    "5e0b0000000049454e44ae426082"
)


def parse_table(text: str) -> dict[str, dict[str, tuple[str, str]]]:
    """{row: {actor: (own, foreign)}} from one of the tables above."""
    lines = [line.split() for line in text.strip().splitlines()]
    header, rows = lines[0], lines[1:]
    width = len(ACTORS)
    assert len(header) == width + 1, header
    table: dict[str, dict[str, tuple[str, str]]] = {}
    for cells in rows:
        name, values = " ".join(cells[:-width]), cells[-width:]
        assert name not in table, f"{name} twice"
        row = {}
        for actor, value in zip(ACTORS, values, strict=True):
            own, _, foreign = value.partition("/")
            row[actor] = (own, foreign or own)
            assert {own, foreign or own} <= {"ok", "401", "403", "socket"}, (name, value)
        table[name] = row
    return table


HTTP = parse_table(HTTP_TABLE)
EVENTS = parse_table(EVENT_TABLE)


@pytest.fixture
def settings_overrides(tmp_path: Path) -> dict[str, Any]:
    logo = tmp_path / "logo.png"
    logo.write_bytes(PNG)
    return {
        "brand_logo_file": logo,
        "lobby_size": 100,
        "participants_per_consultation": 50,
        "queue_size": 100,
        "precall_sessions_per_minute": 600,
        "precall_max_sessions": 100,
        "availability_per_minute": 6000,
    }


def test_the_tables_cover_every_route_and_event() -> None:
    """Generated, both ways: a new route or event fails here until it has its line."""
    from server.app import create_app
    from server.config import Settings
    from server.openapi import build

    app = create_app(Settings(port=0, data_dir=Path("/nonexistent-parley-matrix")))
    routes = {f"{method} {path}" for method, path in router_operations(app)}
    assert routes == set(HTTP), {
        "missing from HTTP_TABLE": sorted(routes - set(HTTP)),
        "not a route": sorted(set(HTTP) - routes),
    }
    document = build(app)
    documented = {
        f"{method.upper()} {path}" for path, ops in document["paths"].items() for method in ops
    }
    assert documented <= set(HTTP), sorted(documented - set(HTTP))
    assert set(EVENTS) == {"connect", *SocketAdapter.EVENTS}, {
        "missing from EVENT_TABLE": sorted(set(SocketAdapter.EVENTS) - set(EVENTS)),
        "not an event": sorted(set(EVENTS) - {"connect", *SocketAdapter.EVENTS}),
    }
    for table in (HTTP, EVENTS):
        for name, row in table.items():
            targeted = "{" in name or name in TARGETED_WITHOUT_PLACEHOLDER or name in EVENTS
            for actor, (own, foreign) in row.items():
                assert targeted or own == foreign, f"{name}: {actor} has no own consultation"


# -- HTTP ------------------------------------------------------------------------------------


class Precalls:
    """Real pre-call sessions (an aiortc offer each), for the session-id routes."""

    def __init__(self) -> None:
        self.pcs: list[RTCPeerConnection] = []

    async def offer(self) -> dict[str, str]:
        pc = RTCPeerConnection()
        self.pcs.append(pc)
        pc.createDataChannel("probe")
        await pc.setLocalDescription(await pc.createOffer())
        return {"type": "offer", "sdp": pc.localDescription.sdp}

    async def session(self, world: World) -> str:
        got = await world.request(
            Actor("anonymous", {}), "POST", "/api/precall", await self.offer()
        )
        assert got.status == 201, got
        return str(got.body["data"]["session_id"])

    async def close(self) -> None:
        for pc in self.pcs:
            await pc.close()


Request = tuple[str, Any, bytes | None]  # path (with query), JSON body, raw body


async def http_request(
    world: World, route: str, actor: Actor, key: str, precalls: Precalls, shared: dict[str, str]
) -> Request:
    """The call a well-behaved client of this actor would make, aimed at consultation `key`."""
    method, path = route.split(" ", 1)
    c = world.consultations[key]
    receipts = "/api/receipt/" in path or path.startswith("/r/")
    bookings = path.startswith("/api/bookings/")
    fills = {
        "{consultation_id}": c.id,
        "{participant_id}": c.customer_pid,
        "{invite_id}": c.invite_id,
        "{file_id}": c.file_id,
        "{slug}": c.team_slug,
        "{slot_id}": c.booked_slot,
        "{token}": c.receipt if receipts else c.booking if bookings else c.token,
        "{filename}": shared["asset"],
    }
    if route == "DELETE /api/consultations/{consultation_id}/invites/{invite_id}":
        fills["{invite_id}"] = await world.fresh_invite(key)
    if route == "DELETE /api/files/{file_id}":
        fills["{file_id}"] = await world.fresh_file(key)
    if route == "DELETE /api/appointments/slots/{slot_id}":  # withdrawing uses a slot up
        fills["{slot_id}"] = await world.fresh_slot(key)
    if "{session_id}" in path:
        if method == "DELETE":
            fills["{session_id}"] = await precalls.session(world)
        else:
            fills["{session_id}"] = shared["precall"]
    for placeholder, value in fills.items():
        path = path.replace(placeholder, value)
    json: Any = {} if method != "GET" else None
    data = None
    if route == "POST /api/auth/login":
        json = {"username": world.spare["username"], "password": world.spare["password"]}
    elif route == "POST /api/consultations":
        json = {"title": "Matrix"}
    elif route == "POST /api/appointments/slots":
        json = {"starts_at": world.next_slot_start(), "duration_minutes": 30}
    elif route == "POST /api/bookings":  # booking uses a slot up: a fresh one of `key`'s team
        json = world.booking_body(await world.fresh_slot(key))
    elif route == "POST /api/join":
        json = {
            "invite": c.token,
            "first_name": "Max",
            "last_name": "Probe",
            "notice_version": world.server.settings.notice_version,
        }
    elif route == "POST /api/participants/{participant_id}/rectify":
        json = {"first_name": "Erika", "last_name": "Mustermann"}
    elif route == "POST /api/consultations/{consultation_id}/files":
        path, json, data = f"{path}?name={quote('brief.txt')}", None, b"Guten Tag\n"
    elif route == "POST /api/precall":
        json = await precalls.offer()
    elif route == "GET /api/consultations/{consultation_id}/chat":
        path += "?after_seq=0&limit=10"
    elif route == "GET /embed.js":
        path += f"?team={c.team_slug}"
    return path, json, data


def judge(expected: str, got: Answer) -> str | None:
    """None if the answer is what the table says, else why not."""
    if expected == "ok":
        if got.status >= 500 or got.status in (401, 403) or got.code in AUTHZ_CODES:
            return f"expected allowed, got {got.status} {got.code}"
        return None
    code, status = REFUSALS[expected]
    if (got.status, got.code) != (status, code):
        return f"expected {status} {code}, got {got.status} {got.code}"
    return None


def without_ids(path: str) -> str:
    """The same path with every id replaced by one that was never issued."""
    parts = path.split("?", 1)
    segments = parts[0].split("/")
    out = "/".join(MISSING_ID if len(s) == 32 and s.isalnum() else s for s in segments)
    return out + ("?" + parts[1] if len(parts) > 1 else "")


Cell = tuple[str, str, str]  # route or event, actor, "own" | "foreign"


def cells_of(table: dict[str, dict[str, tuple[str, str]]], targeted: Callable[[str], bool]):
    for name, row in table.items():
        for actor, (own, foreign) in row.items():
            if own == "socket":
                continue
            yield name, actor, "own", own
            if targeted(name):
                yield name, actor, "foreign", foreign


def ordered(cells: list[tuple[str, str, str, str]], last: tuple[str, ...]):
    """Refusals before allowed cells, and what changes shared state at the very end."""

    def rank(cell: tuple[str, str, str, str]) -> tuple[int, int]:
        name, _, _, expected = cell
        if name in last:
            return (1, 0) if expected != "ok" else (2, last.index(name))
        return (0, 0 if expected != "ok" else 1)

    return sorted(cells, key=rank)


@pytest.mark.timeout(600)
async def test_http_matrix(server, seed_advisor) -> None:
    started = time.monotonic()
    world = await build_world(server, seed_advisor)
    precalls = Precalls()
    assets = server.settings.client_dir / "assets"
    shared = {
        "asset": next(p.name for p in sorted(assets.iterdir()) if p.is_file()),
        "precall": await precalls.session(world),
    }

    def targeted(name: str) -> bool:
        return "{" in name or name in TARGETED_WITHOUT_PLACEHOLDER

    cells = ordered(list(cells_of(HTTP, targeted)), LAST)
    failures: list[str] = []
    existence = 0
    try:
        for route, name, which, expected in cells:
            actor = world.actors[name]
            key = actor.own if which == "own" else actor.foreign
            path, json, data = await http_request(world, route, actor, key, precalls, shared)
            method = route.split(" ", 1)[0]
            got = await world.request(actor, method, path, json, data)
            problem = judge(expected, got)
            if problem:
                failures.append(f"{route} as {name} ({which}): {problem}")
            if which == "foreign" and expected != "ok" and any(p in route for p in ID_PLACEHOLDERS):
                missing = await world.request(actor, method, without_ids(path), json, data)
                existence += 1
                if (missing.status, missing.body) != (got.status, got.body):
                    failures.append(
                        f"{route} as {name}: a foreign id answers {got.status} {got.code}, "
                        f"an unknown one {missing.status} {missing.code} (existence leaks)"
                    )
    finally:
        await precalls.close()
    print(
        f"\nHTTP matrix: {len(cells)} cells + {existence} existence checks "
        f"in {time.monotonic() - started:.1f} s"
    )
    assert not failures, "\n".join(failures)
    assert (await world.request(world.actors["anonymous"], "GET", "/healthz")).status == 200


# -- Socket.IO --------------------------------------------------------------------------------


async def event_payload(world: World, event: str, actor: Actor, key: str) -> dict[str, Any]:
    c = world.consultations[key]
    cid = c.id
    other = c.advisor_pid if actor.name == c.customer else c.customer_pid
    if event in ("dashboard_get", "lobby_status", "ops_snapshot_get"):
        return {}
    if event == "queue_pickup":
        return {"consultation_id": await world.fresh_queue_entry(key)}
    if event in ("lobby_admit", "lobby_refuse"):
        return {"consultation_id": cid, "participant_id": await world.fresh_waiting(key)}
    if event == "participant_remove":
        return {"consultation_id": cid, "participant_id": await world.fresh_admitted(key)}
    payloads = {
        "room_join": {"consultation_id": cid},
        "room_leave": {"consultation_id": cid},
        "consultation_end": {"consultation_id": cid},
        "media_update": {"consultation_id": cid, "audio": True, "video": False},
        "rtc_signal": {
            "consultation_id": cid,
            "to": other,
            "description": {"type": "offer", "sdp": "v=0\r\n"},
        },
        "chat_send": {
            "consultation_id": cid,
            "client_id": f"matrix-{actor.name}-{key}-{time.monotonic_ns()}"[:64],
            "body": "Guten Tag",
        },
        "chat_history": {"consultation_id": cid, "after_seq": 0, "limit": 10},
        "quality_report": {
            "consultation_id": cid,
            "peers": [{"to": other, "ice_state": "connected", "rtt_ms": 20}],
        },
        "board_sync": {"consultation_id": cid, "state_vector": b"\x00"},
        "board_update": {"consultation_id": cid, "update": b"\x00\x00"},
        "board_awareness": {"consultation_id": cid, "update": b"\x00"},
        "board_lock": {"consultation_id": cid, "locked": False},
    }
    return payloads[event]


def judge_ack(expected: str, ack: dict[str, Any]) -> str | None:
    code = None if ack.get("ok") else ack["error"]["code"]
    if expected == "ok":
        return None if code not in AUTHZ_CODES and code != "internal_error" else f"got {code}"
    want = REFUSALS[expected][0]
    return None if code == want else f"expected {want}, got {ack}"


async def refused_connection(world: World, actor: Actor) -> str | None:
    """The code a connection attempt with this actor's cookies is refused with."""
    sock = Socket()
    cookie = "; ".join(f"{k}={v}" for k, v in actor.cookies.items())
    try:
        await sock.connect(world.server.url, cookie, world.server.url)
    except socketio.exceptions.ConnectionError:
        return str(sock.refusal["data"]["code"])
    await sock.close()
    return None


@pytest.mark.timeout(600)
async def test_socket_matrix(server, seed_advisor) -> None:
    started = time.monotonic()
    world = await build_world(server, seed_advisor)
    cells = ordered(list(cells_of(EVENTS, lambda name: name in EVENTS)), LAST_EVENTS)
    cells = [c for c in cells if c[0] != "connect" or c[2] == "own"]
    failures: list[str] = []
    existence = 0
    for event, name, which, expected in cells:
        actor = world.actors[name]
        key = actor.own if which == "own" else actor.foreign
        if expected == "401":  # no connection at all, so no event either
            code = await refused_connection(world, actor)
            if code != "not_authenticated":
                failures.append(f"{event} as {name}: connection refused with {code}")
            continue
        if event == "connect":
            if expected == "ok" and actor.sock is None:
                failures.append(f"{name} could not connect")
            continue
        assert actor.sock is not None
        payload = await event_payload(world, event, actor, key)
        ack = await actor.sock.call(event, payload)
        problem = judge_ack(expected, ack)
        if problem:
            failures.append(f"{event} as {name} ({which}): {problem}")
        if which == "foreign" and expected != "ok" and "consultation_id" in payload:
            missing = await actor.sock.call(event, {**payload, "consultation_id": MISSING_ID})
            existence += 1
            if missing != ack:
                failures.append(
                    f"{event} as {name}: a foreign consultation answers {ack}, "
                    f"an unknown one {missing} (existence leaks)"
                )
    await asyncio.sleep(0)
    print(
        f"\nSocket.IO matrix: {len(cells)} cells + {existence} existence checks "
        f"in {time.monotonic() - started:.1f} s"
    )
    assert not failures, "\n".join(failures)


async def test_admin_has_no_network_identity(server, seed_advisor) -> None:
    """The administrator is whoever runs `parley` on the host: there is no admin role, no
    admin account kind and no route handler that calls the admin functions."""
    import ast

    import server.app as app_module
    from storage.models import Role

    assert {r.value for r in Role} == {"advisor", "ops"}
    http_modules = ["api", "files", "privacy_api", "ops_api", "branding", "embed", "openapi"]
    root = Path(app_module.__file__).parent
    for module in (*http_modules, "precall", "app", "web_helpers", "checks"):
        tree = ast.parse((root / f"{module}.py").read_text(encoding="utf-8"))
        imported = {
            node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
        } | {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            for alias in node.names
        }
        assert not imported & {"server.admin", "server.cli", "admin", "cli"}, module
    # a login named "admin" is just a wrong login
    http = server.http()
    status, body = await http.post("/api/auth/login", {"username": "admin", "password": "admin"})
    assert (status, body["error"]["code"]) == (401, "invalid_credentials")
