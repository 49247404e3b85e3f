"""Malformed, oversized and unknown-field input for every event and HTTP body gets its
documented error code and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from server.state import CORE
from signaling.adapter import SocketAdapter
from storage.models import AuthSession, Consultation, InviteLink, Participant
from tests.flows import admitted_pair

BIG = "a" * 70_000


@pytest.fixture
def settings_overrides():
    # hundreds of bad payloads in a row over one socket: each must reach validation, not
    # the per-connection flood limit (tests/integration/test_floods.py)
    return {"events_per_second": 100_000}


async def snapshot(server) -> list[Any]:
    rows = []
    async with server.app[CORE].db.session() as s:
        for model in (Consultation, Participant, InviteLink, AuthSession):
            for obj in (await s.scalars(select(model))).all():
                rows.append(
                    tuple(
                        sorted((k, str(v)) for k, v in vars(obj).items() if not k.startswith("_"))
                    )
                )
    return sorted(rows)


def valid_payloads(cid: str, pid: str) -> dict[str, dict[str, Any]]:
    ref = {"consultation_id": cid, "participant_id": pid}
    payloads = {
        "dashboard_get": {},
        "lobby_status": {},
        "queue_pickup": {"consultation_id": cid},
        "lobby_admit": ref,
        "lobby_refuse": ref,
        "room_join": {"consultation_id": cid},
        "room_leave": {"consultation_id": cid},
        "media_update": {"consultation_id": cid, "audio": True, "video": False},
        "rtc_signal": {
            "consultation_id": cid,
            "to": pid,
            "description": {"type": "offer", "sdp": "v=0"},
        },
        "participant_remove": ref,
        "consultation_end": {"consultation_id": cid},
        "chat_send": {"consultation_id": cid, "client_id": "msg-00000001", "body": "Hallo"},
        "chat_history": {"consultation_id": cid, "after_seq": 0, "limit": 10},
        "quality_report": {"consultation_id": cid, "peers": [{"to": pid, "ice_state": "new"}]},
        "ops_snapshot_get": {},
        "board_sync": {"consultation_id": cid, "state_vector": b"\x00"},
        "board_update": {"consultation_id": cid, "update": b"\x00\x00"},
        "board_awareness": {"consultation_id": cid, "update": b"\x00"},
        "board_lock": {"consultation_id": cid, "locked": True},
    }
    assert set(payloads) == set(SocketAdapter.EVENTS), "every event needs a sample payload"
    return payloads


def wrong_type(value: Any) -> Any:
    if isinstance(value, bool):
        return "yes"
    if isinstance(value, str):
        return 12345
    if isinstance(value, dict):
        return "not an object"
    return [value]


def bad_variants(event: str, valid: dict[str, Any]) -> list[tuple[Any, str]]:
    fields = SocketAdapter.EVENTS[event].model_fields
    variants: list[tuple[Any, str]] = [
        ("text", "invalid_payload"),
        (42, "invalid_payload"),
        ([1, 2], "invalid_payload"),
        (True, "invalid_payload"),
        ({**valid, "unexpected": 1}, "invalid_payload"),
        # (whiteboard updates may be larger than other events)
        ({**valid, "x": BIG * 5 if event == "board_update" else BIG}, "payload_too_large"),
        ({"nested": [[[[[[[[[[{}]]]]]]]]]]}, "invalid_payload"),
    ]
    for key, value in valid.items():
        variants.append(({**valid, key: wrong_type(value)}, "invalid_payload"))
        if key in ("consultation_id", "participant_id", "to"):
            variants.append(({**valid, key: "../../etc/passwd"}, "invalid_payload"))
        if fields[key].is_required():
            rest = {k: v for k, v in valid.items() if k != key}
            variants.append((rest, "invalid_payload"))
    if "body" in valid:
        variants += [
            ({**valid, "body": "   \n "}, "invalid_payload"),
            ({**valid, "body": "bell\x07"}, "invalid_payload"),
            ({**valid, "body": "x" * 10_001}, "invalid_payload"),
            ({**valid, "client_id": "short"}, "invalid_payload"),
        ]
    if "after_seq" in valid:
        variants += [
            ({**valid, "after_seq": -1}, "invalid_payload"),
            ({**valid, "limit": 0}, "invalid_payload"),
            ({**valid, "limit": 501}, "invalid_payload"),
        ]
    if event.startswith("board_") and event != "board_lock":
        key = "state_vector" if event == "board_sync" else "update"
        variants += [
            ({**valid, key: b"\xff\xff\xff\xff"}, "invalid_payload"),  # not Yjs
            ({**valid, key: "AAA="}, "invalid_payload"),  # base64 text is not bytes
        ]
    if "description" in valid:
        variants += [
            ({**valid, "description": {"type": "bogus", "sdp": ""}}, "invalid_payload"),
            ({**valid, "description": {"type": "offer", "sdp": "x" * 40_000}}, "invalid_payload"),
            ({**valid, "candidate": {"candidate": "c"}}, "invalid_payload"),  # two at once
        ]
    return variants


async def test_every_event_refuses_bad_payloads_and_changes_nothing(server, seed_advisor):
    advisor, customer, cid = await admitted_pair(server, seed_advisor)
    await advisor.sock.next("participant_joined")
    before = await snapshot(server)
    count = 0
    for event, valid in valid_payloads(cid, customer.participant_id).items():
        for sock in (advisor.sock, customer.sock):
            for payload, code in bad_variants(event, valid):
                ack = await sock.call(event, payload)
                assert ack["ok"] is False and ack["error"]["code"] == code, (event, payload, ack)
                assert set(ack["error"]) == {"code", "message"}
                count += 1
    assert count >= 7 * len(SocketAdapter.EVENTS) * 2  # the generic variants at least
    assert await snapshot(server) == before
    ack = await advisor.sock.call("no_such_event", {})
    assert ack["error"]["code"] == "unknown_event"
    await advisor.sock.ok("dashboard_get")
    await customer.sock.ok("lobby_status")
    assert customer.sock.received("rtc_signal") == advisor.sock.received("rtc_signal") == []
    assert advisor.sock.received("participant_left") == []


NAME_CASES = [
    "",
    " ",
    "   ",
    "a" * 61,
    "<script>alert(1)</script>",
    "Robert'); DROP TABLE--",
    "J0hn",
    "\u0000Null",
    "evil\u202eRTL",
    "😀",
    "name@example.com",
    "-",
    "\n",
]


@pytest.mark.parametrize("first_name", NAME_CASES)
async def test_bad_names_are_refused(server, seed_advisor, first_name):
    seed = await seed_advisor()
    before = await snapshot(server)
    body = {
        "team": seed["team_slug"],
        "first_name": first_name,
        "last_name": "Muster",
        "notice_version": server.settings.notice_version,
    }
    status, answer = await server.http().post("/api/join", body)
    assert (status, answer["error"]["code"]) == (400, "invalid_payload")
    assert answer["error"]["message"].startswith("first_name")
    assert first_name.strip() == "" or first_name not in answer["error"]["message"]
    assert await snapshot(server) == before


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (b"{not json", 400, "invalid_payload"),
        (b"\xff\xfe", 400, "invalid_payload"),
        (b"[1, 2]", 400, "invalid_payload"),
        (b'"text"', 400, "invalid_payload"),
        (
            b'{"team": "x", "first_name": "A", "last_name": "B", "notice_version": "1", '
            b'"extra": 1}',
            400,
            "invalid_payload",
        ),
        (
            b'{"team": "x", "invite": "y", "first_name": "A", "last_name": "B", '
            b'"notice_version": "1"}',
            400,
            "invalid_payload",
        ),
        (b'{"first_name": "A", "last_name": "B", "notice_version": "1"}', 400, "invalid_payload"),
        (
            b'{"team": 5, "first_name": "A", "last_name": "B", "notice_version": "1"}',
            400,
            "invalid_payload",
        ),
        (b'{"team": "x", "first_name": "' + b"a" * 70_000 + b'"}', 413, "payload_too_large"),
    ],
)
async def test_bad_join_bodies(server, raw, status, code):
    before = await snapshot(server)
    got, answer = await server.http().post(
        "/api/join", data=raw, headers={"Content-Type": "application/json"}
    )
    assert (got, answer["error"]["code"]) == (status, code)
    assert await snapshot(server) == before


async def test_stale_notice_version_and_unknown_team(server, seed_advisor):
    seed = await seed_advisor()
    body = {"team": seed["team_slug"], "first_name": "A", "last_name": "B", "notice_version": "old"}
    status, answer = await server.http().post("/api/join", body)
    assert (status, answer["error"]["code"]) == (400, "invalid_payload")
    status, answer = await server.http().post(
        "/api/join", {**body, "team": "nope", "notice_version": server.settings.notice_version}
    )
    assert (status, answer["error"]["code"]) == (404, "not_found")


@pytest.mark.parametrize(
    "body",
    [
        {"expires_in_hours": 0},
        {"expires_in_hours": 721},
        {"expires_in_hours": "5"},
        {"expires_in_hours": True},
        {"title": 5},
        {"title": "t" * 101},
        {"other": 1},
    ],
)
async def test_bad_consultation_bodies(server, seed_advisor, body):
    from tests.flows import login_advisor

    advisor = await login_advisor(server, await seed_advisor(), connect=False)
    before = await snapshot(server)
    status, answer = await advisor.http.post("/api/consultations", body)
    assert (status, answer["error"]["code"]) == (400, "invalid_payload")
    assert await snapshot(server) == before


async def test_a_malformed_invite_token_is_an_invalid_invite(server):
    status, answer = await server.http().get("/api/join/invite/short")
    assert (status, answer["error"]["code"]) == (404, "invite_invalid")


@pytest.mark.parametrize(
    "path",
    [
        "/api/consultations/xyz/end",
        "/api/join/team/UPPER",
        "/api/nothing",
    ],
)
async def test_unknown_paths_and_ids(server, seed_advisor, path):
    """A malformed id is a plain 404; a well-formed one nobody issued is refused as a foreign
    one is (tests/integration/test_authz_matrix.py checks every route for that)."""
    from tests.flows import login_advisor

    advisor = await login_advisor(server, await seed_advisor(), connect=False)
    method = "POST" if path.endswith("/end") else "GET"
    status, answer = await advisor.http.request(method, path)
    assert (status, answer["error"]["code"]) == (404, "not_found")
