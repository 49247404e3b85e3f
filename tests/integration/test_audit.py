"""The audit chain notices an edited entry, a removed entry and removed last entries."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, func, select, update

from server.state import CORE
from storage import audit
from storage.models import AuditEntry, AuditHead

AT = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


async def five_entries(server):
    async with server.app[CORE].db.session() as s:
        for n in range(5):
            await audit.append(s, AT, "admin:cli", "exported", f"participant:{n:032x}", files=n)
        assert (await audit.verify(s)).ok


async def verdict(server):
    async with server.app[CORE].db.session() as s:
        return await audit.verify(s)


async def cli_verify(server) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "server",
        "audit",
        "verify",
        "--data-dir",
        str(server.settings.data_dir),
        "--database-url",
        server.settings.db_url,
    ]
    return await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        (
            update(AuditEntry).where(AuditEntry.seq == 3).values(details='{"files":99}'),
            "entry 3 has been changed",
        ),
        (
            update(AuditEntry).where(AuditEntry.seq == 2).values(actor="advisor:someone"),
            "entry 2 has been changed",
        ),
        (delete(AuditEntry).where(AuditEntry.seq == 3), "entry 3 is missing"),
        (
            delete(AuditEntry).where(
                AuditEntry.seq == select(func.max(AuditEntry.seq)).scalar_subquery()
            ),
            "removed",
        ),
        (delete(AuditEntry).where(AuditEntry.seq >= 4), "removed"),
    ],
    ids=["edited-details", "edited-actor", "removed-middle", "removed-last", "truncated"],
)
async def test_tampering_is_detected(server, tamper, problem):
    await five_entries(server)
    done = await cli_verify(server)
    assert done.returncode == 0 and "audit log intact" in done.stdout
    async with server.app[CORE].db.session() as s:
        await s.execute(tamper)
    result = await verdict(server)
    assert not result.ok and problem in result.problem
    done = await cli_verify(server)
    assert done.returncode == 1 and "BROKEN" in done.stdout


async def test_a_rewritten_chain_with_a_stale_head_is_detected(server):
    await five_entries(server)
    async with server.app[CORE].db.session() as s:
        await s.execute(update(AuditHead).values(seq=AuditHead.seq - 1))
    assert not (await verdict(server)).ok
