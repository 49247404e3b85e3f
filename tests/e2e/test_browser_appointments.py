"""In real Chromium: an advisor offers a time on the dashboard, a customer books it on the
team's booking page (reached from the instant-join page) and sees the confirmation with
the link and the calendar file; the advisor's dashboard then shows who booked it."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.conftest import RunningServer, Seed
from tests.e2e.steps import log_in, open_page

pytestmark = pytest.mark.e2e


async def test_advisor_publishes_and_customer_books(
    server: RunningServer, seed_advisor: Seed, browser: Browser, client_built: Path, artifacts: Path
) -> None:
    seed = await seed_advisor()
    log: list[str] = []
    advisor = await open_page(browser, server.url, log, "advisor")
    await log_in(advisor, seed)
    await advisor.wait_for_url("**/dashboard")
    card = advisor.get_by_test_id("appointments")
    await card.get_by_label("Start time").or_(card.get_by_label("Beginn")).fill("10:30")
    await advisor.get_by_test_id("slot-publish").click()
    offered = advisor.get_by_test_id("appointment")
    await expect(offered).to_have_count(1)
    await expect(offered).to_have_attribute("data-state", "free")

    customer = await open_page(browser, server.url, log, "customer")
    await customer.goto(f"/t/{seed['team_slug']}")
    await customer.get_by_test_id("book-link").click()
    await customer.wait_for_url(f"**/t/{seed['team_slug']}/book")
    await expect(customer.get_by_test_id("free-slot")).to_have_count(1)
    await customer.get_by_test_id("free-slot").get_by_role("radio").check()
    await customer.get_by_test_id("book-ack").check()
    await customer.get_by_test_id("book-first-name").fill("Erika")
    await customer.get_by_test_id("book-last-name").fill("Mustermann")
    await customer.get_by_test_id("book-submit").click()
    confirmation = customer.get_by_test_id("book-confirmation")
    await expect(confirmation).to_be_visible()
    link = await confirmation.get_by_test_id("book-url").input_value()
    assert link.startswith(server.url + "/i/")
    href = await customer.get_by_test_id("book-calendar").get_attribute("href")
    assert href is not None and href.endswith("/calendar.ics")
    await customer.screenshot(path=str(artifacts / "appointment-booked.png"))

    await advisor.reload()
    await expect(advisor.get_by_test_id("appointment")).to_have_attribute("data-state", "booked")
    await expect(advisor.get_by_test_id("appointment-name")).to_contain_text("Erika Mustermann")
    assert not log, log
