"""Anonymous usage statistics: written when a consultation ends, aggregated for ops per day
and team with small groups hidden, exported as CSV, and free of anything personal."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from server.state import CORE
from storage.models import ConsultationStats, Role
from tests.flows import admitted_pair, login_advisor

SDP = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"


@pytest.fixture
def server_clock(clock):
    return clock


@pytest.fixture
def settings_overrides():
    return {"stats_min_group": 3}


async def consultation(server, seed_advisor, clock, minutes: int, team: str):
    advisor, customer, cid = await admitted_pair(server, lambda: seed_advisor(team_slug=team))
    await customer.sock.ok(
        "chat_send", {"consultation_id": cid, "client_id": "m-00000001", "body": "Hallo"}
    )
    await advisor.sock.ok(
        "rtc_signal",
        {
            "consultation_id": cid,
            "to": customer.participant_id,
            "description": {
                "type": "offer",
                "sdp": SDP,
            },
        },
    )
    clock.advance(minutes=minutes)
    assert (await advisor.http.post(f"/api/consultations/{cid}/end"))[0] == 200
    clock.advance(minutes=-minutes)  # the next one starts at the same moment
    return cid


async def test_statistics_for_ops(server, seed_advisor, clock):
    cids = [await consultation(server, seed_advisor, clock, m, "nord") for m in (10, 20, 30, 40)]
    cids.append(await consultation(server, seed_advisor, clock, 5, "sued"))

    async with server.app[CORE].db.session() as s:
        rows = (await s.scalars(select(ConsultationStats))).all()
    assert len(rows) == 5
    for row in rows:
        values = " ".join(str(v) for v in vars(row).values())
        assert not any(cid in values for cid in cids) and "Erika" not in values
        assert row.features == "audio,chat,video" and (row.customers, row.advisors) == (1, 1)

    ops = await login_advisor(server, await seed_advisor(role=Role.ops), connect=False)
    status, body = await ops.http.get("/api/ops/stats")
    assert status == 200
    groups = {g["team"]: g for g in body["data"]["groups"]}
    nord, sued = groups["nord"], groups["sued"]
    assert (nord["consultations"], nord["suppressed"]) == (4, False)
    assert nord["duration_avg"] == 1500.0 and nord["duration_p90"] == 2400.0
    # a group below the minimum shows that it is small, not how small
    assert (sued["consultations"], sued["suppressed"], sued["duration_avg"]) == (None, True, None)

    status, body = await ops.http.get("/api/ops/stats?team=nord")
    assert [g["consultations"] for g in body["data"]["groups"]] == [4]
    async with ops.http.session.get(f"{server.url}/api/ops/stats.csv") as resp:
        assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/csv")
        table = list(csv.DictReader(io.StringIO(await resp.text())))
    assert sorted((r["team"], r["consultations"]) for r in table) == [("nord", "4"), ("sued", "")]
    status, body = await ops.http.get("/api/ops/stats?from=yesterday")
    assert (status, body["error"]["code"]) == (400, "invalid_payload")

    advisor = await login_advisor(server, await seed_advisor(team_slug="nord"), connect=False)
    status, body = await advisor.http.get("/api/ops/stats")
    assert (status, body["error"]["code"]) == (403, "not_authorised")
    status, body = await server.http().get("/api/ops/stats.csv")
    assert (status, body["error"]["code"]) == (401, "not_authenticated")
