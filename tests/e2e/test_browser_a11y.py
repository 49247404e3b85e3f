"""axe-core in real Chromium on every page of Parley, in the states a person sees them:
landing, login, not found, the pre-call check (before and with its result), the team join
page and an invite join page (also in German), the customer's lobby, the advisor's dashboard
with a waiting customer and a fresh invite, the room's consent screen and the room itself as
advisor and as customer (with a chat message and a shared file, on the chat tab of a phone
too), the end screen with its receipt link, the receipt page and ops. No violation of
serious or critical impact is allowed anywhere; the full findings of every page are kept in
test-artifacts/axe-<page>.json.

Nothing is excluded, Excalidraw's whiteboard included: its markup has no violation of
serious or critical impact either (as of @excalidraw/excalidraw 0.18.1)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from storage.models import Role
from tests.conftest import RunningServer, Seed
from tests.e2e.steps import (
    MEDIA_MS,
    axe_violations,
    blocking,
    describe,
    log_in,
    open_page,
    pick_up,
)

pytestmark = pytest.mark.e2e


class Audit:
    """axe-core findings per page; writes each page's report to test-artifacts/."""

    def __init__(self, artifacts: Path) -> None:
        self.artifacts = artifacts
        self.failures: list[str] = []
        self.pages: list[str] = []

    async def check(self, page: Page, name: str) -> None:
        violations = await axe_violations(page)
        report: dict[str, Any] = {"url": page.url, "violations": violations}
        (self.artifacts / f"axe-{name}.json").write_text(json.dumps(report, indent=2))
        await page.screenshot(path=str(self.artifacts / f"axe-{name}.png"), full_page=True)
        self.pages.append(name)
        found = blocking(violations)
        if found:
            self.failures.append(describe(name, found))


async def test_the_audit_can_fail(
    client_built: Path, server: RunningServer, browser: Browser, artifacts: Path
) -> None:
    """The same check on the landing page with an unlabelled button and grey-on-white text
    of Parley's own markup planted into it: both are reported as serious or critical."""
    log: list[str] = []
    page = await open_page(browser, server.url, log, "visitor")
    try:
        await page.goto("/")
        await expect(page.get_by_test_id("advisor-login-link")).to_be_visible()
        await page.evaluate(
            """() => {
              const main = document.querySelector('main');
              main.insertAdjacentHTML('beforeend',
                '<button type="button" class="button"></button><p id="faint">hard to read</p>');
              const faint = document.getElementById('faint');  // CSSOM: the CSP allows it
              faint.style.color = '#bbb';
              faint.style.background = '#fff';
            }"""
        )
        found = {v["id"] for v in blocking(await axe_violations(page))}
        assert {"button-name", "color-contrast"} <= found, found
        # the exclusion is narrow: excluding Excalidraw does not hide Parley's own markup
        found = {v["id"] for v in blocking(await axe_violations(page))}
        assert {"button-name", "color-contrast"} <= found, found
    finally:
        await page.context.close()


async def test_axe_finds_nothing_serious_on_any_page(
    client_built: Path,
    server: RunningServer,
    seed_advisor: Seed,
    browser: Browser,
    artifacts: Path,
) -> None:
    account = await seed_advisor()
    ops_account = await seed_advisor(role=Role.ops, display_name="Olga Operations")
    slug = account["team_slug"]
    audit = Audit(artifacts)
    log: list[str] = []
    visitor = await open_page(browser, server.url, log, "visitor")
    advisor = await open_page(browser, server.url, log, "advisor")
    customer = await open_page(browser, server.url, log, "customer")
    invited = await open_page(browser, server.url, log, "invited")
    ops = await open_page(browser, server.url, log, "ops")
    try:
        # pages anyone can open
        await visitor.goto("/")
        await expect(visitor.get_by_test_id("advisor-login-link")).to_be_visible()
        await audit.check(visitor, "landing")
        # the server answers unknown paths itself; the client's own "not found" page is
        # what a link inside the app to a path it does not know shows
        await visitor.evaluate(
            "() => { history.pushState(null, '', '/room/a/b');"
            " dispatchEvent(new PopStateEvent('popstate')); }"
        )
        await expect(visitor.get_by_role("heading")).to_be_visible()
        await audit.check(visitor, "not-found")
        await visitor.goto("/login")
        await expect(visitor.get_by_test_id("login-submit")).to_be_visible()
        await audit.check(visitor, "login")
        await visitor.get_by_test_id("login-username").fill("nobody")
        await visitor.get_by_test_id("login-password").fill("wrong password")
        await visitor.get_by_test_id("login-submit").click()
        await expect(visitor.get_by_role("alert")).to_be_visible()
        await audit.check(visitor, "login-error")

        await visitor.goto("/check")
        await expect(visitor.get_by_test_id("check-start")).to_be_visible()
        await audit.check(visitor, "check")
        await visitor.get_by_test_id("check-start").click()
        await expect(visitor.get_by_test_id("check-result")).to_be_visible(timeout=MEDIA_MS)
        await audit.check(visitor, "check-result")

        # the advisor's dashboard, with an invite created
        await log_in(advisor, account)
        await advisor.wait_for_url("**/dashboard")
        await advisor.get_by_test_id("new-consultation").click()
        invite_url = await advisor.get_by_test_id("invite-url").input_value()
        await audit.check(advisor, "dashboard")

        # the two join pages; the invite one in German as well
        await invited.goto(invite_url)
        await expect(invited.get_by_test_id("privacy-notice")).not_to_be_empty()
        await audit.check(invited, "join-invite")
        await invited.get_by_test_id("lang-de").click()
        await expect(invited.get_by_test_id("join-submit")).to_have_text("Weiter zum Warteraum")
        await audit.check(invited, "join-invite-de")

        await customer.goto(f"/t/{slug}")
        await expect(customer.get_by_test_id("privacy-notice")).not_to_be_empty()
        await customer.get_by_test_id("join-submit").click()  # nothing filled in: errors
        await audit.check(customer, "join-team-errors")
        await customer.get_by_test_id("join-ack").check()
        await customer.get_by_test_id("join-first-name").fill("Erika")
        await customer.get_by_test_id("join-last-name").fill("Mustermann")
        await audit.check(customer, "join-team")
        await customer.get_by_test_id("join-submit").click()
        await customer.wait_for_url("**/c")
        await expect(customer.get_by_test_id("lobby-waiting")).to_be_visible()
        await audit.check(customer, "lobby")

        # the dashboard with a customer in the queue, then the room
        await expect(advisor.get_by_test_id("queue-entry")).to_have_count(1)
        await audit.check(advisor, "dashboard-queue")
        await pick_up(advisor)
        await expect(advisor.get_by_test_id("start-media")).to_be_visible()
        await audit.check(advisor, "room-consent-advisor")
        await expect(customer.get_by_test_id("start-media")).to_be_visible()
        await audit.check(customer, "room-consent-customer")
        for page in (advisor, customer):
            await page.get_by_test_id("start-media").click()
            await expect(page.get_by_test_id("chat-input")).to_be_editable()
        await expect(advisor.get_by_test_id("remote-video")).to_have_count(1)
        # Excalidraw's own controls are rendered (its menu button is the last to appear)
        for page in (advisor, customer):
            menu = page.locator(".excalidraw .main-menu-trigger")
            await expect(menu).to_be_visible(timeout=MEDIA_MS)
            await expect(menu).to_have_attribute("aria-label", "Whiteboard menu")

        await customer.get_by_test_id("chat-input").fill("Guten Tag!")
        await customer.get_by_test_id("chat-input").press("Enter")
        await advisor.get_by_test_id("file-input").set_input_files(
            files=[{"name": "angebot.txt", "mimeType": "text/plain", "buffer": b"Angebot\n"}]
        )
        await expect(customer.get_by_test_id("file-link")).to_have_count(1)
        await expect(advisor.get_by_test_id("chat-message")).to_have_count(2)
        await audit.check(advisor, "room-advisor")
        await audit.check(customer, "room-customer")

        # the customer's room on a phone: the board (Excalidraw's mobile toolbar), the video
        # and the chat tab
        await customer.set_viewport_size({"width": 390, "height": 844})
        await expect(customer.locator(".excalidraw .main-menu-trigger")).to_be_visible()
        await audit.check(customer, "room-customer-phone-board")
        await customer.get_by_test_id("video-tab").click()
        await expect(customer.get_by_test_id("remote-video")).to_be_visible()
        await audit.check(customer, "room-customer-phone-video")
        await customer.get_by_test_id("chat-tab").click()
        await expect(customer.get_by_test_id("chat-input")).to_be_visible()
        await audit.check(customer, "room-customer-phone-chat")
        await customer.set_viewport_size({"width": 1100, "height": 800})

        # the end screen and the receipt page
        await customer.get_by_test_id("leave-button").click()
        await expect(customer.get_by_test_id("room-ended")).to_be_visible()
        await customer.get_by_test_id("receipt-button").click()
        receipt_url = await customer.get_by_test_id("receipt-url").input_value()
        await audit.check(customer, "room-over-customer")
        await advisor.get_by_test_id("end-button").click()
        await audit.check(advisor, "room-end-confirm")
        await advisor.get_by_test_id("end-button-confirm").click()
        await expect(advisor.get_by_test_id("room-ended")).to_be_visible()
        await audit.check(advisor, "room-over-advisor")

        await visitor.goto(receipt_url)
        await expect(visitor.get_by_test_id("receipt-page")).to_be_visible()
        await expect(visitor.get_by_test_id("receipt-facts")).to_be_visible()
        await audit.check(visitor, "receipt")

        await log_in(ops, ops_account)
        await ops.wait_for_url("**/ops")
        await expect(ops.get_by_test_id("ops-live-totals")).to_be_visible()
        await expect(ops.get_by_test_id("history-row")).not_to_have_count(0)
        await expect(ops.get_by_test_id("ops-stats-row")).not_to_have_count(0)
        await audit.check(ops, "ops")
    finally:
        for page in (visitor, advisor, customer, invited, ops):
            await page.context.close()

    assert len(audit.pages) >= 20, audit.pages
    assert not audit.failures, "\n".join(audit.failures)
