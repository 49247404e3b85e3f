"""End to end in real Chromium (fake camera and microphone): the pre-call check page sends
the camera to Parley's echo peer, plays the echoed picture, and ends with a verdict and a
round-trip time; the server's session is gone afterwards."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from server.precall import PRECALL
from tests.conftest import RunningServer, Seed
from tests.e2e.steps import MEDIA_MS, STEP_MS, open_page

pytestmark = pytest.mark.e2e

RTT_TEXT = re.compile(r"^\d+(\.\d)? ms$")


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """One check per client and minute, so that a second one shows the limit."""
    return {"precall_sessions_per_minute": 1}


# the echoed picture: decoded frames, a size, and time that moves on while we look
ECHO_PLAYING = """() => {
  const video = document.querySelector('[data-testid="check-echo-video"]');
  if (!video || video.readyState < 2 || video.paused || video.videoWidth === 0) return false;
  return video.getVideoPlaybackQuality().totalVideoFrames > 0;
}"""
ECHO_TIME = """() => document.querySelector('[data-testid="check-echo-video"]').currentTime"""
ECHO_ADVANCED = """(start) => {
  const video = document.querySelector('[data-testid="check-echo-video"]');
  return !!video && video.videoWidth > 0 && video.currentTime > start + 1.0;
}"""


async def test_precall_page_shows_the_echo_and_a_verdict(
    client_built: Path,
    server: RunningServer,
    seed_advisor: Seed,
    browser: Browser,
    artifacts: Path,
) -> None:
    account = await seed_advisor()
    log: list[str] = []
    page = await open_page(browser, server.url, log, "customer")
    precall = server.app[PRECALL]
    try:
        # The customer finds the check from the join page, and comes back to it afterwards.
        await page.goto(f"/t/{account['team_slug']}")
        await page.get_by_test_id("check-link").click()
        await page.wait_for_url("**/check?back=*")
        await expect(
            page.get_by_role("heading", name="Test camera, microphone and connection")
        ).to_be_visible()
        # Nothing happens before the explicit click: no session on the server.
        assert precall.sessions == {}

        await page.get_by_test_id("check-start").click()
        await expect(page.get_by_test_id("check-progress")).to_be_visible()
        await expect(page.get_by_test_id("check-local-video")).to_be_visible()

        # The echoed picture plays: frames decoded, a size, and its time moves on.
        await page.wait_for_function(ECHO_PLAYING, timeout=MEDIA_MS, polling=200)
        assert len(precall.sessions) == 1
        start = await page.evaluate(ECHO_TIME)
        await page.wait_for_function(ECHO_ADVANCED, arg=start, timeout=STEP_MS, polling=200)
        width = await page.evaluate(
            "() => document.querySelector('[data-testid=\"check-echo-video\"]').videoWidth"
        )
        assert width > 0
        await expect(page.get_by_test_id("check-progress")).to_have_attribute(
            "data-stage", "measuring"
        )
        await page.screenshot(path=str(artifacts / "precall-running.png"))

        # Then the verdict in plain words, with a round-trip time measured.
        verdict = page.get_by_test_id("check-verdict")
        await expect(verdict).to_be_visible(timeout=MEDIA_MS)
        await expect(verdict).to_contain_text("Camera, microphone and connection work")
        await expect(verdict.locator("[data-verdict]")).to_have_attribute("data-verdict", "ok")
        rtt = page.get_by_test_id("check-rtt")
        await expect(rtt).to_have_text(RTT_TEXT)
        value = float(await rtt.get_attribute("data-value") or "nan")
        assert 0 <= value < 1000, value
        # On loopback the path is direct; the server received our media.
        await expect(page.get_by_test_id("check-path")).to_have_attribute("data-value", "direct")
        media = await page.get_by_test_id("check-media").inner_text()
        assert not media.startswith("0 video"), media
        await page.screenshot(path=str(artifacts / "precall-verdict.png"))

        # The session was ended by the page, not left to its time limit.
        assert precall.sessions == {}

        # A second check within the minute is refused: the page says what to do.
        await page.get_by_test_id("check-start").click()
        error = page.get_by_test_id("check-error")
        await expect(error).to_contain_text("wait a minute", timeout=MEDIA_MS)
        await expect(page.get_by_test_id("check-start")).to_be_enabled()
        assert precall.sessions == {}

        # In German, too.
        await page.get_by_test_id("lang-de").click()
        await expect(error).to_contain_text("Bitte warten Sie eine Minute")

        # Back to the join page.
        await page.get_by_test_id("check-back").click()
        await page.wait_for_url(f"**/t/{account['team_slug']}")
        await expect(page.get_by_test_id("join-ack")).to_be_visible()
    except BaseException:
        await page.screenshot(path=str(artifacts / "failed-precall.png"), timeout=5_000)
        print("\n".join(log))
        raise
    finally:
        await page.context.close()
