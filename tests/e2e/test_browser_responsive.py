"""The layout in real Chromium on a phone (portrait and landscape), a tablet and a desktop:
no page scrolls sideways, and in the room the whiteboard, the video tiles and the chat (with
its files) are each reachable — side by side on a desktop, one tab away on smaller screens.
Screenshots of every page at every size are kept in test-artifacts/responsive-*.png."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from tests.conftest import RunningServer, Seed
from tests.e2e.steps import MEDIA_MS, log_in, open_page, pick_up

pytestmark = pytest.mark.e2e

SIZES = {
    "phone-portrait": (390, 844),
    "phone-landscape": (844, 390),
    "tablet": (820, 1180),
    "desktop": (1440, 900),
}
# Sizes at which board, video and chat are one at a time behind tabs.
TABBED = {"phone-portrait", "phone-landscape", "tablet"}
SIDEWAYS = """() => {
  const page = document.scrollingElement;
  return { scrollWidth: page.scrollWidth, innerWidth: window.innerWidth };
}"""


async def no_sideways_scrolling(page: Page, where: str) -> None:
    sizes = await page.evaluate(SIDEWAYS)
    assert sizes["scrollWidth"] <= sizes["innerWidth"], f"{where} scrolls sideways: {sizes}"


async def within_width(page: Page, locator: Locator, where: str) -> None:
    """Visible, and inside the viewport from left to right (reachable by scrolling down at
    most)."""
    await expect(locator).to_be_visible()
    await locator.scroll_into_view_if_needed()
    box = await locator.bounding_box()
    width = await page.evaluate("() => window.innerWidth")
    assert box is not None and box["width"] > 0, where
    assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, f"{where}: {box} in {width}"


async def shoot(page: Page, artifacts: Path, name: str) -> None:
    await page.screenshot(path=str(artifacts / f"responsive-{name}.png"))


async def room_at(page: Page, who: str, size: str, artifacts: Path) -> None:
    """Board, video and chat of the room reachable at this size, without scrolling sideways."""
    where = f"room ({who}, {size})"
    board = page.get_by_test_id("main-screen")
    tiles = page.get_by_test_id("local-video")
    chat_input = page.get_by_test_id("chat-input")
    file_link = page.get_by_test_id("file-link")
    leave = page.get_by_test_id("leave-button")
    if size not in TABBED:
        await expect(page.get_by_test_id("board-tab")).to_be_hidden()
        for part in (board, tiles, chat_input, file_link, leave):
            await within_width(page, part, where)
        await no_sideways_scrolling(page, where)
        await shoot(page, artifacts, f"room-{who}-{size}")
        return
    views = (("board", board), ("video", tiles), ("chat", chat_input))
    for view, part in views:
        tab = page.get_by_test_id(f"{view}-tab")
        await within_width(page, tab, where)
        await tab.click()
        await expect(tab).to_have_attribute("aria-selected", "true")
        await within_width(page, part, f"{where}, {view} tab")
        for other, hidden in views:
            if other != view:
                await expect(hidden).to_be_hidden()
        if view == "chat":
            await within_width(page, file_link, f"{where}, chat tab")
        if view == "video":
            await expect(page.get_by_test_id("remote-video")).to_be_visible()
        await within_width(page, leave, f"{where}, {view} tab")  # the controls stay
        await no_sideways_scrolling(page, f"{where}, {view} tab")
        await page.evaluate("() => window.scrollTo(0, 0)")
        await shoot(page, artifacts, f"room-{who}-{size}-{view}")
    await page.get_by_test_id("board-tab").click()


async def test_every_page_fits_phone_tablet_and_desktop(
    client_built: Path,
    server: RunningServer,
    seed_advisor: Seed,
    browser: Browser,
    artifacts: Path,
) -> None:
    account = await seed_advisor()
    slug = account["team_slug"]
    log: list[str] = []
    advisor = await open_page(browser, server.url, log, "advisor")
    customer = await open_page(browser, server.url, log, "customer")
    visitor = await open_page(browser, server.url, log, "visitor")
    try:
        # pages before the consultation, at every size
        await log_in(advisor, account)
        await advisor.wait_for_url("**/dashboard")
        await advisor.get_by_test_id("new-consultation").click()
        await expect(advisor.get_by_test_id("invite-url")).to_be_visible()
        for size, (width, height) in SIZES.items():
            await visitor.set_viewport_size({"width": width, "height": height})
            for name, path, ready in (
                ("landing", "/", "advisor-login-link"),
                ("login", "/login", "login-submit"),
                ("join", f"/t/{slug}", "join-submit"),
                ("check", "/check", "check-start"),
            ):
                await visitor.goto(path)
                await within_width(visitor, visitor.get_by_test_id(ready), f"{name} ({size})")
                await no_sideways_scrolling(visitor, f"{name} ({size})")
                await shoot(visitor, artifacts, f"{name}-{size}")
            await advisor.set_viewport_size({"width": width, "height": height})
            await within_width(advisor, advisor.get_by_test_id("invite-url"), f"dashboard {size}")
            await no_sideways_scrolling(advisor, f"dashboard ({size})")
            await shoot(advisor, artifacts, f"dashboard-{size}")

        # a customer joins on a phone and waits
        await customer.set_viewport_size({"width": 390, "height": 844})
        await customer.goto(f"/t/{slug}")
        await customer.get_by_test_id("join-ack").check()
        await customer.get_by_test_id("join-first-name").fill("Erika")
        await customer.get_by_test_id("join-last-name").fill("Mustermann")
        await customer.get_by_test_id("join-submit").click()
        await customer.wait_for_url("**/c")
        await within_width(customer, customer.get_by_test_id("lobby-waiting"), "lobby")
        await no_sideways_scrolling(customer, "lobby")
        await shoot(customer, artifacts, "lobby-phone-portrait")

        # the room, with a file in the chat, at every size for both
        await advisor.set_viewport_size({"width": 1440, "height": 900})
        await expect(advisor.get_by_test_id("queue-entry")).to_have_count(1)
        await pick_up(advisor)
        for page in (advisor, customer):
            await page.get_by_test_id("start-media").click()
            await expect(page.get_by_test_id("leave-button")).to_be_visible()
        await expect(advisor.get_by_test_id("remote-video")).to_have_count(1)
        await advisor.get_by_test_id("file-input").set_input_files(
            files=[{"name": "angebot.txt", "mimeType": "text/plain", "buffer": b"Angebot\n"}]
        )
        await expect(advisor.get_by_test_id("file-link")).to_have_count(1)
        await expect(customer.get_by_test_id("file-link")).to_have_count(1, timeout=MEDIA_MS)
        for size, (width, height) in SIZES.items():
            for who, page in (("customer", customer), ("advisor", advisor)):
                await page.set_viewport_size({"width": width, "height": height})
                await room_at(page, who, size, artifacts)
    except BaseException:
        print("\n".join(log))
        raise
    finally:
        for page in (advisor, customer, visitor):
            await page.context.close()
