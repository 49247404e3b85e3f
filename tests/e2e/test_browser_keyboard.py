"""A customer with nothing but a keyboard (Tab, Shift+Tab, Enter, Space and typing; not one
mouse click) on a phone: joins through the team link, waits in the lobby, turns on camera
and microphone, switches to the chat, writes, downloads the file the advisor shares, and
leaves. Every control reached shows a visible focus ring, and what a screen reader is told
(lobby state, the advisor joining, a new message) is in the page's live regions. The
advisor's side is driven by the ordinary test steps."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from tests.conftest import RunningServer, Seed
from tests.e2e.steps import log_in, open_page, pick_up

pytestmark = pytest.mark.e2e

MAX_TABS = 120  # more than any page has focusable controls before the one wanted
FILE = b"Angebot Hausrat, Seite 1\n"

# The focused element and whether a focus indicator is drawn around it.
FOCUS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const ring = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
  return { testid: el.getAttribute('data-testid'), tag: el.tagName, ring };
}"""


async def focus_on(page: Page, target: Locator, backwards: bool = False) -> None:
    """Tab (or Shift+Tab) until `target` has the focus; every stop on the way must show a
    focus ring (Excalidraw's own controls draw theirs differently and are only passed)."""
    key = "Shift+Tab" if backwards else "Tab"
    for _ in range(MAX_TABS):
        await page.keyboard.press(key)
        if await target.evaluate("(el) => el === document.activeElement"):
            focused = await page.evaluate(FOCUS)
            assert focused and focused["ring"], f"no visible focus on {focused}"
            return
        focused = await page.evaluate(FOCUS)
        inside_board = await page.evaluate("() => !!document.activeElement?.closest('.excalidraw')")
        if focused and not inside_board:
            assert focused["ring"], f"no visible focus on {focused}"
    raise AssertionError(f"{target} was not reached with {key}")


async def test_keyboard_only_join_lobby_chat_download_leave(
    client_built: Path,
    server: RunningServer,
    seed_advisor: Seed,
    browser: Browser,
    artifacts: Path,
) -> None:
    account = await seed_advisor(display_name="Anna Advisor")
    log: list[str] = []
    advisor = await open_page(browser, server.url, log, "advisor")
    customer = await open_page(browser, server.url, log, "customer")
    await customer.set_viewport_size({"width": 390, "height": 844})
    keys = customer.keyboard
    try:
        await log_in(advisor, account)
        await advisor.wait_for_url("**/dashboard")

        # join: notice acknowledged with Space, the name typed, sent with Enter
        await customer.goto(f"/t/{account['team_slug']}")
        await expect(customer.get_by_test_id("privacy-notice")).not_to_be_empty()
        await focus_on(customer, customer.get_by_test_id("join-ack"))
        await keys.press("Space")
        await expect(customer.get_by_test_id("join-ack")).to_be_checked()
        await focus_on(customer, customer.get_by_test_id("join-first-name"))
        await keys.type("Erika")
        await focus_on(customer, customer.get_by_test_id("join-last-name"))
        await keys.type("Mustermann")
        # back and forth: Shift+Tab reaches the first name again
        await focus_on(customer, customer.get_by_test_id("join-first-name"), backwards=True)
        await focus_on(customer, customer.get_by_test_id("join-submit"))
        await customer.screenshot(path=str(artifacts / "keyboard-join.png"))
        await keys.press("Enter")

        # lobby: the state is told to screen readers
        await customer.wait_for_url("**/c")
        await expect(customer.get_by_test_id("lobby-waiting")).to_be_visible()
        announcer = customer.get_by_test_id("lobby-announcer")
        await expect(announcer).to_have_text(
            "You are in the waiting room. Your advisor will admit you shortly."
        )
        await pick_up(advisor)
        await expect(announcer).to_have_text(
            "You have been admitted. The consultation is starting."
        )

        # the room: camera and microphone with Enter, then the advisor comes in
        start = customer.get_by_test_id("start-media")
        await expect(start).to_be_visible()
        await focus_on(customer, start)
        await keys.press("Enter")
        await expect(customer.get_by_test_id("leave-button")).to_be_visible()
        await advisor.get_by_test_id("start-media").click()
        await expect(customer.get_by_test_id("presence-announcer")).to_have_text(
            "Anna Advisor joined the consultation."
        )

        # the chat tab, chosen with Space; a message written and sent with Enter
        await focus_on(customer, customer.get_by_test_id("chat-tab"), backwards=True)
        await keys.press("Space")
        await expect(customer.get_by_test_id("chat-tab")).to_have_attribute("aria-selected", "true")
        await focus_on(customer, customer.get_by_test_id("chat-input"))
        await keys.type("Guten Tag, ich habe eine Frage.")
        await keys.press("Enter")
        await expect(
            advisor.get_by_test_id("chat-message").filter(has_text="ich habe eine Frage")
        ).to_have_count(1)

        # the advisor answers and shares a file: both are told, the file downloaded by Enter
        await advisor.get_by_test_id("chat-input").fill("Gern, hier das Angebot.")
        await advisor.get_by_test_id("chat-input").press("Enter")
        chat_news = customer.get_by_test_id("chat-announcer")
        await expect(chat_news).to_have_text(
            "New message from Anna Advisor: Gern, hier das Angebot."
        )
        await advisor.get_by_test_id("file-input").set_input_files(
            files=[{"name": "angebot.txt", "mimeType": "text/plain", "buffer": FILE}]
        )
        await expect(chat_news).to_have_text("Anna Advisor shared the file angebot.txt.")
        link = customer.get_by_test_id("file-link")
        await expect(link).to_have_count(1)
        await focus_on(customer, link, backwards=True)
        await customer.screenshot(path=str(artifacts / "keyboard-chat.png"))
        async with customer.expect_download() as info:
            await keys.press("Enter")
        download = await info.value
        assert download.suggested_filename == "angebot.txt"
        saved = Path(await download.path())
        assert await asyncio.to_thread(saved.read_bytes) == FILE

        # leave with Enter: the end is shown and told
        await focus_on(customer, customer.get_by_test_id("leave-button"))
        await keys.press("Enter")
        await expect(customer.get_by_test_id("room-ended")).to_be_visible()
        await expect(announcer).to_have_text(
            "You have left the consultation. Thank you for your visit."
        )
        await customer.screenshot(path=str(artifacts / "keyboard-left.png"))
        assert not [line for line in log if "page error" in line], log
    except BaseException:
        await customer.screenshot(path=str(artifacts / "failed-keyboard-customer.png"))
        print("\n".join(log))
        raise
    finally:
        await advisor.context.close()
        await customer.context.close()
