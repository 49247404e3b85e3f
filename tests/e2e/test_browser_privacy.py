"""End to end in real Chromium: data-subject rights and the anonymous statistics. A customer
takes a receipt link home from the end screen, downloads everything Parley holds about them
and erases it; the advisor sees who took part, corrects a name, restricts and lifts, exports
and erases; ops read the statistics and their CSV. No page ever talks to another origin."""

from __future__ import annotations

import asyncio
import io
import json
import re
import secrets
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, Request, WebSocket, expect

from server.state import CORE
from storage.models import ConsultationStats, Role
from storage.repositories import TeamRepository
from tests.conftest import RunningServer, Seed
from tests.e2e.steps import STEP_MS, join_instant, log_in, pick_up
from tests.flows import admitted_pair

pytestmark = pytest.mark.e2e

CUSTOMER_TEXT = "Guten Tag, ich hätte das Angebot gern schriftlich."
CSV_HEADER = "day,team,consultations,suppressed,duration_avg,duration_p90,waiting_avg,waiting_p90"
SUPPRESSED_5 = "fewer than 5 consultations — hidden to protect privacy"


class Traffic:
    """Every request and websocket of every page, and what went wrong on a page."""

    def __init__(self, origin: str) -> None:
        parts = urlsplit(origin)
        self.netloc = parts.netloc
        self.origin = origin
        self.requests: list[str] = []
        self.foreign: list[str] = []
        self.page_errors: list[str] = []
        self.log: list[str] = []

    def own(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme == "data":
            return True  # inline, no network
        if parts.scheme == "blob":
            return url.startswith(f"blob:{self.origin}/")
        return parts.scheme in ("http", "ws") and parts.netloc == self.netloc

    def attach(self, page: Page, who: str) -> None:
        def on_request(request: Request) -> None:
            self.requests.append(f"{who}: {request.method} {request.url}")
            if not self.own(request.url):
                self.foreign.append(f"{who}: {request.method} {request.url}")

        def on_websocket(socket: WebSocket) -> None:
            self.requests.append(f"{who}: websocket {socket.url}")
            if not self.own(socket.url):
                self.foreign.append(f"{who}: websocket {socket.url}")

        def on_console(message: ConsoleMessage) -> None:
            if message.type in ("error", "warning"):
                self.log.append(f"{who} console {message.type}: {message.text}")

        def on_page_error(error: Exception) -> None:
            self.page_errors.append(f"{who}: {error}")

        page.on("request", on_request)
        page.on("websocket", on_websocket)
        page.on("console", on_console)
        page.on("pageerror", on_page_error)


async def _page(
    browser: Browser, server: RunningServer, traffic: Traffic, who: str, media: bool = False
) -> Page:
    """A page in its own browser context (own cookies, English), downloads accepted."""
    context = await browser.new_context(
        base_url=server.url,
        viewport={"width": 1200, "height": 900},
        locale="en-GB",
        accept_downloads=True,
    )
    if media:
        await context.grant_permissions(["camera", "microphone"], origin=server.url)
    page = await context.new_page()
    page.set_default_timeout(STEP_MS)
    traffic.attach(page, who)
    return page


async def _download(page: Page, link: Any) -> tuple[str, bytes]:
    async with page.expect_download(timeout=STEP_MS) as info:
        await link.click()
    download = await info.value
    path = await download.path()
    return download.suggested_filename, await asyncio.to_thread(Path(path).read_bytes)


def _export_json(archive: bytes) -> dict[str, Any]:
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        assert "export.json" in z.namelist(), z.namelist()
        return json.loads(z.read("export.json"))


async def _screenshots(pages: dict[str, Page], artifacts: Path, traffic: Traffic) -> None:
    for name, page in pages.items():
        try:
            await page.screenshot(path=str(artifacts / f"failed-privacy-{name}.png"), timeout=5_000)
        except Exception as err:  # the page may be gone already
            traffic.log.append(f"no screenshot of {name}: {err}")
    print("\n".join(traffic.log + traffic.page_errors))


async def test_receipt_participants_restriction_and_statistics(
    client_built: Path,
    server: RunningServer,
    seed_advisor: Seed,
    browser: Browser,
    artifacts: Path,
) -> None:
    account = await seed_advisor()
    ops_account = await seed_advisor(role=Role.ops, display_name="Olaf Ops")
    traffic = Traffic(server.url)
    advisor = await _page(browser, server, traffic, "advisor", media=True)
    customer = await _page(browser, server, traffic, "customer", media=True)
    pages = {"advisor": advisor, "customer": customer}
    try:
        # -- (a) a consultation: instant link, pick-up, a chat message, the advisor ends it.
        await log_in(advisor, account)
        await advisor.wait_for_url("**/dashboard")

        await join_instant(customer, account["team_slug"])
        consultation_id = await pick_up(advisor)

        for page in (customer, advisor):
            await page.get_by_test_id("start-media").click()
            await expect(page.get_by_test_id("chat-input")).to_be_editable(timeout=STEP_MS)

        await customer.get_by_test_id("chat-input").fill(CUSTOMER_TEXT)
        await customer.get_by_test_id("chat-send").click()
        mine = customer.get_by_test_id("chat-message").filter(has_text=CUSTOMER_TEXT)
        await expect(mine).to_have_attribute("data-state", "sent", timeout=STEP_MS)
        theirs = advisor.get_by_test_id("chat-message").filter(has_text=CUSTOMER_TEXT)
        await expect(theirs).to_have_count(1, timeout=STEP_MS)

        await advisor.get_by_test_id("end-button").click()
        await advisor.get_by_test_id("end-button-confirm").click()
        await expect(advisor.get_by_test_id("room-ended")).to_be_visible(timeout=STEP_MS)
        await expect(customer.get_by_test_id("room-ended")).to_be_visible(timeout=STEP_MS)

        # The end screen offers the receipt link; it is shown once, in a copy field.
        await customer.get_by_test_id("receipt-button").click()
        field = customer.get_by_test_id("receipt-url")
        pattern = rf"^{re.escape(server.url)}/r/[A-Za-z0-9_-]{{20,128}}$"
        await expect(field).to_have_value(re.compile(pattern), timeout=STEP_MS)
        receipt_url = await field.input_value()
        token = receipt_url.rsplit("/", 1)[-1]
        await expect(customer.get_by_text("It is shown only this once")).to_be_visible()
        await expect(customer.get_by_test_id("receipt-button")).to_have_count(0)
        await customer.screenshot(path=str(artifacts / "privacy-customer-receipt.png"))
        # Nothing of it is kept in the browser: no storage, no cookie holding the token.
        stored = await customer.evaluate("() => [localStorage.length, sessionStorage.length]")
        assert stored == [0, 0]
        cookies = await customer.context.cookies()
        assert not [c["name"] for c in cookies if token in c["value"]]
        await customer.get_by_test_id("lang-de").click()
        await expect(customer.get_by_text("Er wird nur dieses eine Mal angezeigt")).to_be_visible()
        await customer.screenshot(path=str(artifacts / "privacy-customer-receipt-de.png"))

        # -- (b) the dashboard: participants, a corrected name, restriction and its lifting.
        await advisor.goto("/dashboard")
        await advisor.get_by_test_id("show-ended").click()
        row = advisor.locator(
            f'[data-testid="consultation"][data-consultation-id="{consultation_id}"]'
        )
        await expect(row).to_be_visible()
        await expect(row.get_by_test_id("badge-restricted")).to_have_count(0)
        await row.get_by_test_id("participants-button").click()
        people = row.get_by_test_id("participant-row")
        await expect(people).to_have_count(2, timeout=STEP_MS)
        erika = people.filter(has_text="Erika Mustermann")
        await expect(erika).to_contain_text("Customer")
        await expect(people.filter(has_text="Anna Advisor")).to_contain_text("Advisor")

        await erika.get_by_test_id("participant-rectify").click()
        await expect(row.get_by_test_id("rectify-first")).to_have_value("Erika")
        await expect(row.get_by_test_id("rectify-last")).to_have_value("Mustermann")
        await row.get_by_test_id("rectify-last").fill("Musterfrau")
        await row.get_by_test_id("rectify-save").click()
        await expect(row.get_by_test_id("participant-done")).to_contain_text("Erika Musterfrau")
        await expect(people.filter(has_text="Erika Musterfrau")).to_have_count(1)
        await expect(people.filter(has_text="Mustermann")).to_have_count(0)

        await row.get_by_test_id("consultation-restrict").click()
        await expect(row.get_by_test_id("badge-restricted")).to_be_visible()
        await expect(row.get_by_test_id("consultation-export")).to_have_count(0)
        await expect(row.get_by_test_id("consultation-erase")).to_have_count(0)
        await expect(row.get_by_test_id("participants-error")).to_contain_text("restricted")
        await advisor.screenshot(path=str(artifacts / "privacy-dashboard-restricted.png"))

        # The receipt link, opened elsewhere while restricted: explained, nothing offered.
        holder = await _page(browser, server, traffic, "receipt")
        pages["receipt"] = holder
        await holder.goto(receipt_url)
        await expect(holder.get_by_test_id("receipt-restricted")).to_contain_text(
            "ask the business"
        )
        await expect(holder.get_by_test_id("receipt-export")).to_have_count(0)

        await row.get_by_test_id("consultation-unrestrict").click()
        await expect(row.get_by_test_id("badge-restricted")).to_have_count(0)
        await expect(people).to_have_count(2, timeout=STEP_MS)
        name, archive = await _download(advisor, row.get_by_test_id("consultation-export"))
        assert name == f"consultation-{consultation_id}.zip"
        names = {p["name"] for p in _export_json(archive)["participants"]}
        assert names == {"Erika Musterfrau", "Anna Advisor"}

        # -- (a) continued: the receipt page downloads the customer's data, then erases it.
        await holder.reload()
        state = holder.get_by_test_id("receipt-state")
        await expect(state).to_have_attribute("data-state", "ended")
        name, archive = await _download(holder, holder.get_by_test_id("receipt-export"))
        assert name == "my-parley-data.zip"
        document = _export_json(archive)
        assert document["subject"]["name"] == "Erika Musterfrau"
        assert document["subject"]["role"] == "customer"
        assert [m["body"] for m in document["chat_messages"]] == [CUSTOMER_TEXT]
        await holder.screenshot(path=str(artifacts / "privacy-receipt-page.png"))

        await holder.get_by_test_id("receipt-erase").click()
        await expect(holder.get_by_text("This cannot be undone")).to_be_visible()
        await holder.get_by_test_id("receipt-erase-confirm").click()
        await expect(holder.get_by_test_id("receipt-erased")).to_contain_text(
            "This link no longer works", timeout=STEP_MS
        )
        await expect(holder.get_by_test_id("receipt-export")).to_have_count(0)
        await holder.screenshot(path=str(artifacts / "privacy-receipt-erased.png"))
        await holder.reload()
        await expect(holder.get_by_test_id("receipt-invalid")).to_contain_text("not valid")

        # The advisor's list no longer has her; then the whole consultation is erased.
        await row.get_by_test_id("participants-button").click()
        await row.get_by_test_id("participants-button").click()
        await expect(people).to_have_count(1, timeout=STEP_MS)
        await expect(people).to_contain_text("Anna Advisor")
        await row.get_by_test_id("consultation-erase").click()
        await expect(row.get_by_text("This cannot be undone")).to_be_visible()
        await row.get_by_test_id("consultation-erase-confirm").click()
        await expect(row.get_by_test_id("badge-erased")).to_be_visible(timeout=STEP_MS)
        await expect(row.get_by_test_id("participants-button")).to_have_count(0)
        await expect(row.get_by_test_id("chat-record-button")).to_have_count(0)
        await advisor.screenshot(path=str(artifacts / "privacy-dashboard-erased.png"))

        # -- (c) ops: signed in, straight to the statistics; the consultation counts.
        ops = await _page(browser, server, traffic, "ops")
        pages["ops"] = ops
        await log_in(ops, ops_account)
        await ops.wait_for_url("**/ops")
        rows = ops.get_by_test_id("ops-stats").get_by_test_id("ops-stats-row")
        await expect(rows).to_have_count(1, timeout=STEP_MS)
        await expect(rows).to_have_attribute("data-suppressed", "true")
        await expect(rows).to_contain_text(SUPPRESSED_5)
        await ops.screenshot(path=str(artifacts / "privacy-ops.png"))

        csv_link = ops.get_by_test_id("ops-csv")
        href = await csv_link.get_attribute("href")
        assert href is not None
        assert href.startswith("/api/ops/stats.csv?from="), href
        response = await ops.context.request.get(href)
        assert response.status == 200
        assert response.headers["content-type"].startswith("text/csv")
        lines = (await response.text()).splitlines()
        assert lines[0] == CSV_HEADER
        assert len(lines) == 2
        name, body = await _download(ops, csv_link)
        assert name == "parley-statistics.csv"
        assert body.decode().splitlines()[0] == CSV_HEADER

        # -- (d) every request of every page went to the server's own origin.
        assert traffic.requests
        assert not traffic.foreign, traffic.foreign
        assert not traffic.page_errors, traffic.page_errors
    except BaseException:
        await _screenshots(pages, artifacts, traffic)
        raise
    finally:
        for page in pages.values():
            await page.context.close()


async def _seed_stats(server: RunningServer, slug: str, durations: list[int], waits: list[int]):
    """Statistics rows as ended consultations leave them (today, UTC)."""
    core = server.app[CORE]
    ended = core.clock() - timedelta(minutes=1)
    async with core.db.session() as s:
        team = await TeamRepository(s).by_slug(slug)
        assert team is not None
        for duration, wait in zip(durations, waits, strict=True):
            s.add(
                ConsultationStats(
                    team_id=team.id,
                    kind="instant",
                    started_at=ended - timedelta(seconds=duration),
                    ended_at=ended,
                    duration_seconds=duration,
                    waiting_seconds=wait,
                    customers=1,
                    advisors=1,
                    features="chat,video",
                    chat_messages=2,
                    files=0,
                )
            )


async def test_statistics_figures_filters_and_who_sees_what(
    client_built: Path,
    server: RunningServer,
    seed_advisor: Seed,
    browser: Browser,
    artifacts: Path,
) -> None:
    nord = await seed_advisor(team_slug="beratung-nord")
    await seed_advisor(team_slug="beratung-sued", team_name="Beratung Süd")
    ops_account = await seed_advisor(role=Role.ops, display_name="Olaf Ops")
    await _seed_stats(server, "beratung-nord", [600, 900, 1200, 1500, 4000], [30, 45, 60, 90, 600])
    await _seed_stats(server, "beratung-sued", [300], [20])
    assert datetime.now(UTC) - server.app[CORE].clock() < timedelta(minutes=5)

    traffic = Traffic(server.url)
    ops = await _page(browser, server, traffic, "ops")
    advisor = await _page(browser, server, traffic, "advisor")
    stranger = await _page(browser, server, traffic, "stranger")
    pages = {"ops": ops, "advisor": advisor, "stranger": stranger}
    try:
        await log_in(ops, ops_account)
        await ops.wait_for_url("**/ops")
        rows = ops.get_by_test_id("ops-stats-row")
        await expect(rows).to_have_count(2, timeout=STEP_MS)

        # Five consultations: figures, seconds as minutes and hours. One: hidden.
        full = rows.and_(ops.locator('[data-suppressed="false"]'))
        await expect(full.locator("td.num")).to_have_text(
            ["5", "27 min", "1 h 7 min", "3 min", "10 min"]
        )
        small = rows.and_(ops.locator('[data-suppressed="true"]'))
        await expect(small).to_contain_text(SUPPRESSED_5)
        await expect(small.locator("td.num")).to_have_count(0)
        await ops.screenshot(path=str(artifacts / "privacy-ops-figures.png"))

        # Filtered by team: the table, and the CSV link with the same query.
        await ops.get_by_test_id("ops-team").fill("beratung-sued")
        await ops.get_by_test_id("ops-show").click()
        await expect(rows).to_have_count(1, timeout=STEP_MS)
        await expect(rows).to_have_attribute("data-suppressed", "true")
        await expect(rows).to_contain_text("beratung-sued")
        href = await ops.get_by_test_id("ops-csv").get_attribute("href")
        assert href is not None
        assert "team=beratung-sued" in href, href
        from_day = await ops.get_by_test_id("ops-from").input_value()
        to_day = await ops.get_by_test_id("ops-to").input_value()
        assert f"from={from_day}" in href
        assert f"to={to_day}" in href
        span = datetime.fromisoformat(to_day) - datetime.fromisoformat(from_day)
        assert span == timedelta(days=29)  # the last 30 days, today included
        response = await ops.context.request.get(href)
        assert response.status == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert len((await response.text()).splitlines()) == 2

        # Mistakes are explained: an unknown team, a malformed slug, a reversed range.
        await ops.get_by_test_id("ops-team").fill("gibt-es-nicht")
        await ops.get_by_test_id("ops-show").click()
        error = ops.get_by_test_id("ops-error")
        await expect(error).to_contain_text("There is no team with the slug “gibt-es-nicht”")
        await ops.get_by_test_id("ops-team").fill("Nord Team!")
        await ops.get_by_test_id("ops-show").click()
        await expect(error).to_contain_text("lower-case letters, digits and hyphens")
        await ops.get_by_test_id("ops-team").fill("")
        await ops.get_by_test_id("ops-from").fill(to_day)
        await ops.get_by_test_id("ops-to").fill(from_day)
        await ops.get_by_test_id("ops-show").click()
        await expect(error).to_contain_text("The start date is after the end date")
        await ops.get_by_test_id("ops-from").fill(from_day)
        await ops.get_by_test_id("ops-to").fill(to_day)
        await ops.get_by_test_id("ops-show").click()
        await expect(error).to_have_count(0)
        await expect(rows).to_have_count(2, timeout=STEP_MS)

        # German, too.
        await ops.get_by_test_id("lang-de").click()
        await expect(ops.get_by_role("heading", name="Nutzungsstatistik")).to_be_visible()
        await expect(rows.and_(ops.locator('[data-suppressed="true"]'))).to_contain_text(
            "weniger als 5 Beratungen \u2013 zum Schutz der Privatsphäre ausgeblendet"
        )
        await ops.screenshot(path=str(artifacts / "privacy-ops-de.png"))

        # Each role on the other's page gets a clear word, not the page.
        await ops.goto("/dashboard")
        await expect(ops.get_by_test_id("advisors-only")).to_be_visible()
        await expect(ops.get_by_test_id("new-consultation")).to_have_count(0)
        await log_in(advisor, nord)
        await advisor.wait_for_url("**/dashboard")
        await advisor.goto("/ops")
        await expect(advisor.get_by_test_id("ops-only")).to_contain_text("operations accounts")
        await expect(advisor.get_by_test_id("ops-stats")).to_have_count(0)

        # A receipt link of a consultation still running: erasure waits for its end.
        _, guest, _ = await admitted_pair(server, seed_advisor)
        status, answer = await guest.http.post("/api/receipt", {})
        assert status == 201, answer
        await stranger.goto(answer["data"]["url"])
        state = stranger.get_by_test_id("receipt-state")
        await expect(state).to_have_attribute("data-state", "active")
        await stranger.get_by_test_id("receipt-erase").click()
        await stranger.get_by_test_id("receipt-erase-confirm").click()
        await expect(stranger.get_by_test_id("receipt-error")).to_contain_text(
            "Erasure is possible once the consultation has ended"
        )
        await expect(stranger.get_by_test_id("receipt-export")).to_be_visible()

        # A receipt link that is not (or no longer) valid.
        await stranger.goto(f"/r/{secrets.token_urlsafe(32)}")
        await expect(stranger.get_by_test_id("receipt-invalid")).to_contain_text("not valid")
        await stranger.goto("/ops")
        await stranger.wait_for_url("**/login")

        assert not traffic.foreign, traffic.foreign
        assert not traffic.page_errors, traffic.page_errors
    except BaseException:
        await _screenshots(pages, artifacts, traffic)
        raise
    finally:
        for page in pages.values():
            await page.context.close()
