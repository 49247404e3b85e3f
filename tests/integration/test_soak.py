"""Soak (issue 9): 50 consultations x 3 clients chatting, drawing and uploading against a
real node for PARLEY_SOAK_SECONDS (600, ten minutes, in CI; longer on demand), with resident
memory growth under 10 %, open files and tasks flat, zero errors. The program is
tests/soak.py. So that ten minutes of soak do not add ten minutes to the suite, it starts
in the background as soon as the suite has collected this test (tests/conftest.py) and
runs beside the other tests; this test is ordered last and waits for its result."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest

from tests.conftest import SoakRun
from tests.soak import SECONDS

SLEEPERS = 200
JOBS = 3


@pytest.mark.e2e
@pytest.mark.timeout(SECONDS + 600)
async def test_soak(soak_run: SoakRun) -> None:
    async with asyncio.timeout(SECONDS + 540):
        while soak_run.proc.poll() is None:
            await asyncio.sleep(1.0)
    assert soak_run.result.exists(), soak_run.log.read_text(errors="replace")[-5000:]
    result = json.loads(soak_run.result.read_text())
    print(result["figures"])
    print("\n".join(result["problems"]))  # in full: the assertion's diff shortens them
    assert result["problems"] == []


async def test_the_task_gauge_counts_the_loop(server: Any) -> None:
    """What the soak reads: `parley_event_loop_tasks` is the loop's task count at scrape
    time (the in-process server shares this test's loop, so tasks made here count)."""

    http = server.http()  # one connection: its handler task counts the same both times

    async def scrape() -> int:
        async with http.session.get(f"{server.url}/metrics") as resp:
            assert resp.status == 200
            found = re.search(r"^parley_event_loop_tasks (\S+)$", await resp.text(), re.M)
        assert found is not None
        return int(float(found.group(1)))

    before = await scrape()
    sleepers = [asyncio.create_task(asyncio.sleep(60)) for _ in range(SLEEPERS)]
    try:
        during = await scrape()
    finally:
        for task in sleepers:
            task.cancel()
        await asyncio.gather(*sleepers, return_exceptions=True)
    assert before >= 2  # this test and the request being served, at least
    # the server's own background jobs (the first retention pass, a flush) may start or
    # end between the two scrapes: a few tasks either way
    assert SLEEPERS - JOBS <= during - before <= SLEEPERS + JOBS, (before, during)
