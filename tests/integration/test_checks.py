"""The pre-call check and the probe as Parley serves them (the echo itself is tested in
test_precall.py): the browser's ICE servers, and `parley probe` against a live server."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import pytest

SECRET = "probe-secret"


@pytest.mark.parametrize(
    "settings_overrides",
    [
        {
            "turn_urls": ["turn:127.0.0.1:3478?transport=udp"],
            "turn_secret": SECRET,
            "precall_session_seconds": 30,
        }
    ],
)
async def test_the_browser_gets_short_lived_turn_for_the_check(server):
    status, body = await server.http().get("/api/precall")
    assert status == 200
    (turn,) = body["data"]["ice_servers"]
    expiry = int(turn["username"].split(":")[0])
    assert turn["urls"] == ["turn:127.0.0.1:3478?transport=udp"]
    # credentials outlive the 30 s check by 30 s, no more
    assert 0 < expiry - time.time() <= 61


async def test_the_check_page_is_served(server):
    async with server.http().session.get(f"{server.url}/check") as resp:
        assert resp.status == 200  # scripts/test builds the client first
        assert "/assets/app.js" in await resp.text()


@pytest.mark.e2e
async def test_parley_probe_against_a_live_server(server, tmp_path):
    command = [
        sys.executable,
        "-m",
        "server",
        "probe",
        "--url",
        server.url,
        "--direct",
        "--seconds",
        "3",
        "--data-dir",
        str(tmp_path / "probe"),
    ]
    done = await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, timeout=90, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["ok"] and result["video_frames"] > 0 and result["rtt_ms"] is not None
    # the path is read from aioice's nominated pair, which a loaded machine may not have
    # recorded yet when the report is taken ("none"); never a relay here (no TURN given)
    assert result["path"] in ("host", "none")
