"""Steps that several browser tests take the same way."""

from __future__ import annotations

from playwright.async_api import Page, expect


async def log_in(page: Page, account: dict[str, str]) -> None:
    """An advisor or ops account signs in on the login page."""
    await page.goto("/login")
    await page.get_by_test_id("login-username").fill(account["username"])
    await page.get_by_test_id("login-password").fill(account["password"])
    await page.get_by_test_id("login-submit").click()


async def join_instant(
    page: Page, team_slug: str, first: str = "Erika", last: str = "Mustermann"
) -> None:
    """A customer opens the team's instant link, acknowledges the notice, gives a name and
    waits in the lobby."""
    await page.goto(f"/t/{team_slug}")
    await expect(page.get_by_test_id("privacy-notice")).not_to_be_empty()
    await page.get_by_test_id("join-ack").check()
    await page.get_by_test_id("join-first-name").fill(first)
    await page.get_by_test_id("join-last-name").fill(last)
    await page.get_by_test_id("join-submit").click()
    await page.wait_for_url("**/c")
    await expect(page.get_by_test_id("lobby-waiting")).to_be_visible()


async def pick_up(advisor: Page, last_name: str = "Mustermann") -> str:
    """The advisor sees the customer in the queue, picks them up and lands in the room;
    returns the consultation id."""
    entry = advisor.get_by_test_id("queue-entry").filter(has_text=last_name)
    await expect(entry).to_have_count(1)
    await entry.get_by_test_id("pickup-button").click()
    await advisor.wait_for_url("**/room/*")
    return advisor.url.rsplit("/", 1)[-1]
