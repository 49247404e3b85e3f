"""In real Chromium: the operator's branding on the join page, the embeddable button on a
page of another origin, and the advisor's alerts when a customer starts waiting."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from playwright.async_api import Browser, BrowserContext, Page, expect
from sqlalchemy import func, select

from server.state import CORE, LOBBY
from signaling.lobby import JOINS_AT_ONCE
from storage.models import Participant
from tests.conftest import RunningServer, Seed
from tests.e2e.steps import STEP_MS, join_instant, log_in

pytestmark = pytest.mark.e2e

PRIMARY = "#0b5d3b"
IMPRINT = "https://www.muster.example/impressum"

# Records the two alert channels without changing them: every started oscillator (the tone)
# and every notification the page really constructs.
RECORD_ALERTS = """
window.__alerts = { tones: 0, notes: [] };
const NativeNotification = window.Notification;
window.Notification = class extends NativeNotification {
  constructor(title, options) {
    super(title, options);
    window.__alerts.notes.push(title);
  }
};
const nativeStart = OscillatorNode.prototype.start;
OscillatorNode.prototype.start = function (...args) {
  window.__alerts.tones += 1;
  return nativeStart.apply(this, args);
};
"""
# React runs effects after the commit that showed the change: let a frame pass, then read.
EFFECTS_FLUSHED = "() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)))"


async def advisor_online(server: RunningServer, slug: str) -> None:
    """Until the server counts an advisor of the team as online."""
    http = server.http()
    async with asyncio.timeout(STEP_MS / 1000):
        while not (await http.get(f"/api/teams/{slug}/availability"))[1]["data"]["available"]:
            await asyncio.sleep(0.1)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "brand_name": "Muster Versicherung",
        "brand_primary": PRIMARY,
        "brand_imprint_url": IMPRINT,
    }


async def new_page(browser: Browser, base_url: str, **kw: Any) -> tuple[BrowserContext, Page]:
    context = await browser.new_context(
        base_url=base_url, viewport={"width": 1100, "height": 800}, locale="en-US", **kw
    )
    page = await context.new_page()
    page.set_default_timeout(STEP_MS)
    return context, page


async def test_join_page_wears_the_brand(
    client_built: Path, server: RunningServer, seed_advisor: Seed, browser: Browser
) -> None:
    slug = (await seed_advisor())["team_slug"]
    context, page = await new_page(browser, server.url)
    try:
        await page.goto(f"/t/{slug}")
        await expect(page.get_by_test_id("privacy-notice")).not_to_be_empty()
        await expect(page.get_by_test_id("brand-name")).to_have_text("Muster Versicherung")
        await expect(page).to_have_title("Muster Versicherung")
        await expect(page.get_by_test_id("join-submit")).to_have_css(
            "background-color", "rgb(11, 93, 59)"
        )
        imprint = page.get_by_test_id("imprint-link")
        await expect(imprint).to_have_attribute("href", IMPRINT)
        await expect(imprint).to_have_text("Imprint")
    finally:
        await context.close()


async def test_embedded_button_on_another_origin(
    client_built: Path,
    server: RunningServer,
    seed_advisor: Seed,
    browser: Browser,
    tmp_path: Path,
) -> None:
    account = await seed_advisor()
    slug = account["team_slug"]

    # the website of the business, on a second origin
    async def index(request: web.Request) -> web.Response:
        html = (
            "<!doctype html><html lang='en'><head><title>Muster Shop</title>"
            "<style>a { display: none !important; } * { font-size: 4px; color: red; }</style>"
            "</head><body><h1>Insurance for everyone</h1>"
            f"<script src='{server.url}/embed.js?team={slug}' async></script>"
            "</body></html>"
        )
        return web.Response(text=html, content_type="text/html")

    shop = web.Application()
    shop.router.add_get("/", index)
    runner = web.AppRunner(shop)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    shop_origin = f"http://localhost:{port}"

    advisor_context, advisor = await new_page(browser, server.url)
    visitor_context, visitor = await new_page(browser, shop_origin)
    requested: list[str] = []
    visitor_context.on("request", lambda request: requested.append(request.url))
    try:
        # an advisor of the team is online
        await log_in(advisor, account)
        await advisor.wait_for_url("**/dashboard")
        await expect(advisor.get_by_test_id("alert-sound")).to_be_visible()
        await advisor_online(server, slug)  # the dashboard's socket may still be connecting

        await visitor.goto("/")
        button = visitor.get_by_test_id("parley-embed-button")
        await expect(button).to_be_visible()  # the shop's `a { display: none }` cannot reach it
        await expect(button).to_have_attribute("data-state", "available")
        await expect(visitor.get_by_test_id("parley-embed-status")).to_contain_text(
            "Advisors available"
        )
        assert await visitor.evaluate(
            "() => document.querySelector('.parley-embed').shadowRoot !== null"
        )
        assert await visitor_context.cookies(server.url) == []  # no third-party cookie

        async with visitor_context.expect_page() as opened:
            await button.click()
        join = await opened.value
        await join.wait_for_url(f"{server.url}/t/{slug}")
        await expect(join.get_by_test_id("privacy-notice")).not_to_be_empty()
        await expect(join.get_by_test_id("join-submit")).to_be_visible()
    finally:
        await visitor_context.close()
        await advisor_context.close()
        await runner.cleanup()

    allowed = {shop_origin, server.url}
    origins = {f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for u in requested}
    assert origins <= allowed, f"requests to third origins: {origins - allowed}"
    assert any("/api/teams/" in u and u.endswith("/availability") for u in requested)


async def alert_records(page: Page) -> dict[str, Any]:
    await page.evaluate(EFFECTS_FLUSHED)
    return await page.evaluate("() => window.__alerts")


@pytest.mark.parametrize("settings_overrides", [{"queue_shown": 1}])
async def test_advisor_is_alerted_when_a_customer_waits(
    client_built: Path, server: RunningServer, seed_advisor: Seed, browser: Browser
) -> None:
    account = await seed_advisor()
    slug = account["team_slug"]
    advisor_context, advisor = await new_page(browser, server.url)
    await advisor_context.grant_permissions(["notifications"], origin=server.url)
    await advisor_context.add_init_script(RECORD_ALERTS)
    customers = []
    try:
        await log_in(advisor, account)
        await advisor.wait_for_url("**/dashboard")
        sound = advisor.get_by_test_id("alert-sound")
        notify = advisor.get_by_test_id("alert-notify")
        await sound.check()
        await notify.check()
        await expect(notify).to_be_checked()
        await advisor.evaluate("() => { window.__alerts = { tones: 0, notes: [] }; }")

        # alerts on: a customer enters the queue
        context, customer = await new_page(browser, server.url)
        customers.append(context)
        await join_instant(customer, slug, "Erika", "Mustermann")
        await expect(advisor.get_by_test_id("queue-entry")).to_have_count(1)
        records = await alert_records(advisor)
        assert records["notes"] == ["A customer is waiting"]
        assert records["tones"] >= 1

        # alerts off, and remembered across a reload
        await sound.uncheck()
        await notify.uncheck()
        await advisor.reload()
        await expect(advisor.get_by_test_id("queue-entry")).to_have_count(1)
        await expect(sound).not_to_be_checked()
        await expect(notify).not_to_be_checked()
        await advisor.evaluate("() => { window.__alerts = { tones: 0, notes: [] }; }")

        # the queue names its longest-waiting customer only (PARLEY_QUEUE_SHOWN) and
        # counts the others
        context, customer = await new_page(browser, server.url)
        customers.append(context)
        await join_instant(customer, slug, "Max", "Muster")
        await expect(advisor.get_by_test_id("queue-waiting")).to_have_text("2")
        await expect(advisor.get_by_test_id("queue-more")).to_contain_text("1 more waiting")
        await expect(advisor.get_by_test_id("queue-entry")).to_have_count(1)
        await expect(advisor.get_by_test_id("queue-entry")).to_contain_text("Erika Mustermann")
        records = await alert_records(advisor)
        assert records == {"tones": 0, "notes": []}

        # alerts on again: a customer who only shows in the count is news all the same
        await sound.check()
        await notify.check()
        context, customer = await new_page(browser, server.url)
        customers.append(context)
        await join_instant(customer, slug, "Jana", "Novak")
        await expect(advisor.get_by_test_id("queue-more")).to_contain_text("2 more waiting")
        records = await alert_records(advisor)
        assert records["notes"] == ["A customer is waiting"]
        assert records["tones"] >= 1
    finally:
        for context in customers:
            await context.close()
        await advisor_context.close()


@pytest.mark.parametrize("settings_overrides", [{"join_wait_seconds": 0.3}])
async def test_a_customer_joining_in_a_storm_gets_in_without_doing_anything(
    client_built: Path, server: RunningServer, seed_advisor: Seed, browser: Browser
) -> None:
    """Every join turn of the node is taken (the test holds them, as a storm of joins
    would), so the customer's join is answered `busy`. The page says many people are
    joining and keeps the form as it was; once turns are free it sends the join again by
    itself and the customer lands in the queue, once."""
    account = await seed_advisor()
    slug = account["team_slug"]
    gate = server.app[LOBBY].gate
    held = 0
    context, page = await new_page(browser, server.url)
    try:
        for _ in range(JOINS_AT_ONCE):
            await gate.acquire()
            held += 1
        await page.goto(f"/t/{slug}")
        await page.get_by_test_id("join-ack").check()
        await page.get_by_test_id("join-first-name").fill("Erika")
        await page.get_by_test_id("join-last-name").fill("Mustermann")
        await page.get_by_test_id("join-submit").click()
        busy = page.get_by_test_id("join-busy")
        await expect(busy).to_contain_text("Many people are joining right now")
        await expect(page.get_by_test_id("join-submit")).to_be_disabled()
        await expect(page.get_by_test_id("join-error")).to_have_count(0)
        assert urlsplit(page.url).path == f"/t/{slug}"
        async with server.app[CORE].db.reading() as s:
            assert await s.scalar(select(func.count()).select_from(Participant)) == 0

        for _ in range(held):
            gate.release()
        held = 0
        await page.wait_for_url("**/c")
        await expect(page.get_by_test_id("lobby-waiting")).to_be_visible()
        async with server.app[CORE].db.reading() as s:
            assert await s.scalar(select(func.count()).select_from(Participant)) == 1
    finally:
        for _ in range(held):
            gate.release()
        await context.close()
