"""Ops see every consultation's health as metadata and nothing else; nobody else sees it;
metrics are exposed to the configured networks or token only."""

from __future__ import annotations

import json
import logging

import pytest

from server.logs import JsonFormatter
from storage.models import Role
from tests.boards import YClient, add_element
from tests.flows import admitted_pair, login_advisor

MARKERS = ("Erika", "Mustermann", "Anna Advisor", "kaktus", "Kaktus")


def report(cid, peer_id, **kw):
    peer = {
        "to": peer_id,
        "ice_state": "connected",
        "path": "relay",
        "rtt_ms": 42.5,
        "loss_pct": 0.5,
        "bitrate_kbps": 900,
        "fps": 24,
        **kw,
    }
    return {"consultation_id": cid, "peers": [peer]}


async def test_ops_see_health_but_no_names_or_content(server, seed_advisor):
    advisor, customer, cid = await admitted_pair(server, seed_advisor)
    me = await advisor.sock.ok("room_join", {"consultation_id": cid})
    await customer.sock.ok(
        "chat_send", {"consultation_id": cid, "client_id": "m-00000001", "body": "kaktus"}
    )
    await customer.http.post(f"/api/consultations/{cid}/files?name=Kaktus.txt", data=b"Kaktus")
    board = YClient(customer.sock, cid)
    await board.sync()
    await board.draw(add_element("t1", type="text", text="kaktus am Board"))
    cursor = b"\x01\x07\x01" + bytes([len(b'{"name":"Erika Mustermann"}')])
    cursor += b'{"name":"Erika Mustermann"}'
    await customer.sock.ok("board_awareness", {"consultation_id": cid, "update": cursor})
    await customer.sock.ok("quality_report", report(cid, me["self"]["id"]))
    again = await customer.sock.call("quality_report", report(cid, me["self"]["id"]))
    assert again["error"]["code"] == "limit_exceeded"

    ops = await login_advisor(server, await seed_advisor(role=Role.ops))
    snapshot = await ops.sock.ok("ops_snapshot_get")
    (live,) = [c for c in snapshot["consultations"] if c["id"] == cid]
    assert live["state"] == "active" and live["participants"] == {"advisor": 1, "customer": 1}
    peers = [peer for conn in live["connections"] for peer in conn["peers"]]
    assert peers == [
        {
            "ice_state": "connected",
            "path": "relay",
            "rtt_ms": 42.5,
            "loss_pct": 0.5,
            "bitrate_kbps": 900.0,
            "fps": 24.0,
        }
    ]
    pushed = await ops.sock.next("ops_snapshot", timeout=10)
    status, history = await ops.http.get("/api/ops/consultations")
    await advisor.http.post(f"/api/consultations/{cid}/end")
    status, history = await ops.http.get("/api/ops/consultations")
    assert status == 200 and [c["id"] for c in history["data"]["consultations"]] == [cid]
    assert history["data"]["consultations"][0]["features"] == ["chat", "files", "whiteboard"]
    slug = history["data"]["consultations"][0]["team"]
    status, mine = await ops.http.get(f"/api/ops/consultations?team={slug}")
    assert status == 200 and [c["id"] for c in mine["data"]["consultations"]] == [cid]
    status, unknown = await ops.http.get("/api/ops/consultations?team=no-such-team")
    assert status == 404 and unknown["error"]["code"] == "not_found", unknown
    status, bad = await ops.http.get("/api/ops/consultations?day=yesterday")
    assert status == 400 and bad["error"]["code"] == "invalid_payload", bad
    # (bytes as Latin-1, so that board content would show if it ever reached ops)
    everything = json.dumps(
        [snapshot, pushed, history, ops.sock.log], default=lambda b: b.decode("latin-1")
    )
    for marker in MARKERS:
        assert marker not in everything, marker

    for event, payload in [
        ("room_join", {"consultation_id": cid}),
        ("dashboard_get", {}),
        ("chat_history", {"consultation_id": cid}),
        ("lobby_status", {}),
        ("board_sync", {"consultation_id": cid, "state_vector": b"\x00"}),
        ("board_update", {"consultation_id": cid, "update": b"\x00\x00"}),
        ("board_awareness", {"consultation_id": cid, "update": cursor}),
        ("board_lock", {"consultation_id": cid, "locked": True}),
    ]:
        assert (await ops.sock.call(event, payload))["error"]["code"] == "not_authorised", event
    status, body = await ops.http.post("/api/consultations", {})
    assert (status, body["error"]["code"]) == (403, "not_authorised")
    status, body = await ops.http.get(f"/api/consultations/{cid}/board")
    assert (status, body["error"]["code"]) == (403, "not_authorised")


async def test_nobody_else_reaches_ops_data(server, seed_advisor):
    advisor, customer, _cid = await admitted_pair(server, seed_advisor)
    for who in (advisor, customer):
        assert (await who.sock.call("ops_snapshot_get"))["error"]["code"] == "not_authorised"
        _status, body = await who.http.get("/api/ops/consultations")
        assert body["error"]["code"] in ("not_authorised", "not_authenticated")
    await advisor.sock.ok("dashboard_get")
    assert advisor.sock.received("ops_snapshot") == customer.sock.received("ops_snapshot") == []


@pytest.mark.parametrize(
    "bad",
    [
        {"ice_state": "great"},
        {"path": "carrier-pigeon"},
        {"rtt_ms": -1},
        {"loss_pct": 101},
        {"fps": float("inf")},
        {"extra": 1},
        {"to": "nope"},
    ],
)
async def test_bad_quality_reports(server, seed_advisor, bad):
    _advisor, customer, cid = await admitted_pair(server, seed_advisor)
    ack = await customer.sock.call("quality_report", report(cid, "a" * 32, **bad))
    assert ack["error"]["code"] in ("invalid_payload",), ack


async def test_metrics(server, seed_advisor):
    _advisor, customer, _cid = await admitted_pair(server, seed_advisor)
    await customer.sock.call("room_join", {"consultation_id": "f" * 32})  # a refusal
    async with server.http().session.get(f"{server.url}/metrics") as resp:
        assert resp.status == 200
        text = await resp.text()
    for line in (
        'parley_events_total{event="room_join"} 2.0',
        'parley_consultations{state="active"} 1.0',
        "parley_sockets_connected 2.0",
        "parley_queue_wait_seconds_count 1.0",
        "parley_join_latency_seconds_count 2.0",
        'parley_refusals_total{code="not_authorised"} 1.0',
    ):
        assert line in text, line


@pytest.mark.parametrize(
    "settings_overrides", [{"metrics_networks": ["10.0.0.0/8"], "metrics_token": "s3cret-token"}]
)
async def test_metrics_are_closed_to_others(server):
    http = server.http()
    status, body = await http.get("/metrics")
    assert (status, body["error"]["code"]) == (403, "not_authorised")
    async with http.session.get(
        f"{server.url}/metrics", headers={"Authorization": "Bearer s3cret-token"}
    ) as resp:
        assert resp.status == 200 and "parley_sockets_connected" in await resp.text()


def test_json_logs_are_one_object_a_line():
    record = logging.LogRecord(
        "signaling.room", logging.INFO, __file__, 1, "grace over consultation=%s", ("c1",), None
    )
    line = JsonFormatter().format(record)
    assert json.loads(line)["message"] == "grace over consultation=c1" and "\n" not in line
