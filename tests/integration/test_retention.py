"""Retention with a clock that tests move: IP addresses are anonymised exactly when they
turn 30 days old (also after downtime and after a clock jump), nowhere does a full old
address survive in the raw database, and content is crypto-shredded after its period
unless it is restricted."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import select

from server.jobs import run_retention
from server.state import ACCESS_LOG, CHAT, CORE
from signaling.errors import ContentErased
from storage import audit
from storage.models import AccessEntry, AuditEntry, ConsultationKey, ConsultationStats
from tests.clients import WAIT
from tests.flows import admitted_pair

ADDRESSES = {"v4": "198.51.100.23", "v6": "2001:db8:abcd:12::7", "mapped": "::ffff:203.0.113.9"}
STORED = {"v4": "198.51.100.23", "v6": "2001:db8:abcd:12::7", "mapped": "203.0.113.9"}


@pytest.fixture
def server_clock(clock):
    return clock


@pytest.fixture
def settings_overrides():
    return {"trusted_proxies": ["127.0.0.0/8"], "retention_interval_seconds": 86400}


async def visit(server, http, label: str) -> None:
    await http.request("GET", "/healthz", headers={"X-Forwarded-For": ADDRESSES[label]})


async def logged(server) -> dict[str, str | None]:
    """The stored address of each /healthz visit, by which address it came from."""
    async with asyncio.timeout(WAIT):
        while True:
            await server.app[ACCESS_LOG].flush()
            async with server.app[CORE].db.session() as s:
                rows = (
                    await s.scalars(
                        select(AccessEntry)
                        .where(AccessEntry.route == "/healthz")
                        .order_by(AccessEntry.id)
                    )
                ).all()
            if len(rows) >= len(ADDRESSES):
                return dict(zip(ADDRESSES, (r.ip for r in rows), strict=False))
            await asyncio.sleep(0.02)


def raw_bytes(server) -> bytes:
    return b"".join(p.read_bytes() for p in server.settings.data_dir.glob("parley.db*"))


async def test_the_thirty_day_boundary(server, clock):
    http = server.http()
    for label in ADDRESSES:
        await visit(server, http, label)
    assert await logged(server) == STORED
    start = clock.now

    clock.now = start + timedelta(days=30) - timedelta(seconds=1)
    await run_retention(server.app, server.settings)
    assert await logged(server) == STORED
    clock.now = start + timedelta(days=30)  # exactly 30 days old: not older than 30 days
    await run_retention(server.app, server.settings)
    assert await logged(server) == STORED
    clock.now = start + timedelta(days=30, seconds=1)
    await run_retention(server.app, server.settings)
    assert set((await logged(server)).values()) == {None}
    await run_retention(server.app, server.settings)  # idempotent
    assert set((await logged(server)).values()) == {None}
    raw = raw_bytes(server)
    for address in STORED.values():
        assert address.encode() not in raw


@pytest.mark.parametrize(
    "settings_overrides",
    [{"trusted_proxies": ["127.0.0.0/8"], "ip_anonymisation": "truncate"}],
)
async def test_truncation_keeps_only_the_network(server, clock):
    http = server.http()
    for label in ADDRESSES:
        await visit(server, http, label)
    await logged(server)
    clock.advance(days=31)
    await run_retention(server.app, server.settings)
    assert await logged(server) == {
        "v4": "198.51.100.0",
        "v6": "2001:db8:abcd::",
        "mapped": "203.0.113.0",
    }
    for address in STORED.values():
        assert address.encode() not in raw_bytes(server)


async def test_a_clock_that_jumped_back(server, clock):
    http = server.http()
    for label in ADDRESSES:
        await visit(server, http, label)
    await logged(server)
    clock.advance(days=-10)  # entries now look as if they came from the future
    await run_retention(server.app, server.settings)
    assert set((await logged(server)).values()) == {None}


async def test_catching_up_after_downtime(server, clock):
    """The server was stopped over the deadline: the run at start-up catches up."""
    from tests.integration.test_keys import second_instance

    http = server.http()
    for label in ADDRESSES:
        await visit(server, http, label)
    await logged(server)
    await server.app_stop()
    clock.advance(days=45)
    runner, _ = await second_instance(server.settings, clock)
    try:
        async with asyncio.timeout(WAIT):
            while set((await logged(server)).values()) != {None}:
                await asyncio.sleep(0.05)
    finally:
        await runner.cleanup()


async def test_content_is_shredded_after_its_period_unless_restricted(server, seed_advisor, clock):
    first = await admitted_pair(server, seed_advisor)
    second = await admitted_pair(server, seed_advisor)
    for advisor, customer, cid in (first, second):
        await customer.sock.ok(
            "chat_send", {"consultation_id": cid, "client_id": "m-00000001", "body": "Hallo"}
        )
        clock.advance(minutes=20)
        assert (await advisor.http.post(f"/api/consultations/{cid}/end"))[0] == 200
    kept = second[2]
    assert (await second[0].http.post(f"/api/consultations/{kept}/restrict"))[0] == 200

    clock.advance(days=89)
    report = await run_retention(server.app, server.settings)
    assert report.consultations_erased == 0
    clock.advance(days=2)
    report = await run_retention(server.app, server.settings)
    assert (report.consultations_erased, report.skipped) == (1, [kept])

    async with server.app[CORE].db.session() as s:
        keys = set((await s.scalars(select(ConsultationKey.consultation_id))).all())
        stats = (await s.scalars(select(ConsultationStats))).all()
        runs = (
            await s.scalars(select(AuditEntry).where(AuditEntry.action == "retention_run"))
        ).all()
        assert (await audit.verify(s)).ok
    assert first[2] not in keys and kept in keys
    assert sorted(st.duration_seconds for st in stats) == [1200, 2400]  # both began together
    assert kept in runs[-1].details
    with pytest.raises(ContentErased):  # (the advisor's login expired long ago)
        await server.app[CHAT].transcript(first[2], 0, 10)


async def test_a_legal_hold_keeps_content_until_released(server, seed_advisor, clock):
    advisor, _, cid = await admitted_pair(server, seed_advisor)
    assert (await advisor.http.post(f"/api/consultations/{cid}/end"))[0] == 200

    def gdpr(action: str) -> None:
        command = [
            sys.executable,
            "-m",
            "server",
            "gdpr",
            action,
            "--consultation",
            cid,
            "--data-dir",
            str(server.settings.data_dir),
            "--database-url",
            server.settings.db_url,
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr

    await asyncio.to_thread(gdpr, "hold")
    clock.advance(days=120)
    report = await run_retention(server.app, server.settings)
    assert (report.consultations_erased, report.skipped) == (0, [cid])
    await asyncio.to_thread(gdpr, "release")
    report = await run_retention(server.app, server.settings)
    assert report.consultations_erased == 1
    async with server.app[CORE].db.session() as s:
        actions = (await s.scalars(select(AuditEntry.action).order_by(AuditEntry.seq))).all()
    assert "legal_hold_set" in actions and "legal_hold_released" in actions
