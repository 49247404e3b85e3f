"""Injection into what others see: 500 generated XSS payloads placed, through the real
server, in customer names, chat messages, file names and whiteboard text (and links), then
rendered in Chromium on the advisor's dashboard queue, room and chat record and on the
customer's room.

Every payload calls `window.__pwned('<id>')` (or `alert`) if it ever runs. `__pwned` is
exposed by Playwright to every page; a canary call proves the detector works. Zero calls and
zero dialogs are allowed, and every page's CSP must be free of `unsafe-inline`."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import pytest
from playwright.async_api import Browser, Dialog, expect

from tests.boards import YClient
from tests.e2e.steps import log_in, open_page
from tests.flows import admitted_pair

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.parametrize(
        # 500 chat messages and board elements go out from one socket as fast as it can send:
        # this test is about rendering, not about the flood limit (tests/integration/test_floods.py)
        "settings_overrides",
        [
            {
                "queue_size": 1000,
                "queue_shown": 1000,  # every accepted name on the dashboard
                "lobby_size": 1000,
                "events_per_second": 10_000,
                "board_updates_per_second": 10_000,
                # the customer's place is kept while the browser takes over from the script's
                # socket and the advisor's page renders first
                "grace_seconds": 120.0,
            }
        ],
    ),
]

COUNT = 500


def payloads() -> list[str]:
    """COUNT payloads: templates of every family, each calling the marker with its own id."""
    templates = [
        "<script>{c}</script>",
        '<img src=x onerror="{c}">',
        "<img src=x onerror={c}>",
        "<svg onload={c}>",
        "<svg><script>{c}</script></svg>",
        "<svg><animate onbegin={c} attributeName=x dur=1s>",
        "<math><mtext><table><mglyph><style><img src=x onerror={c}>",
        '<iframe srcdoc="<script>parent.{c}</script>"></iframe>',
        '<a href="javascript:{c}">click</a>',
        "javascript:{c}",
        "JaVaScRiPt:{c}",
        '" onmouseover="{c}" x="',
        "' onfocus='{c}' autofocus x='",
        '"><script>{c}</script>',
        "'><img src=x onerror={c}>",
        "</textarea><script>{c}</script>",
        "</title><script>{c}</script>",
        "${{{c}}}",
        "`${{{c}}}`",
        "{{{{constructor.constructor('{c}')()}}}}",
        "jaVasCript:/*-/*`/*\\`/*'/*\"/**/(/* */oNcliCk={c} )//%0D%0A%0d%0a//</stYle/</titLe/"
        "</teXtarEa/</scRipt/--!>\\x3csVg/<sVg/oNloAd={c}//>\\x3e",
        "<details open ontoggle={c}>",
        "<body onload={c}>",
        "<input autofocus onfocus={c}>",
        '<video><source onerror="{c}">',
        '<object data="javascript:{c}"></object>',
        '<embed src="javascript:{c}">',
        "<style>@import 'javascript:{c}';</style>",
        '<div style="background:url(javascript:{c})">',
        '<meta http-equiv="refresh" content="0;url=javascript:{c}">',
        "\uff1cscript\uff1e{c}\uff1c/script\uff1e",  # fullwidth angle brackets
        "\u003cimg src=x onerror={c}\u003e",
        "<scr\u200bipt>{c}</scr\u200bipt>",
        "\u202e>tpircs/<{c}>tpircs<",
        "%3Cscript%3E{c}%3C/script%3E",
        "&lt;img src=x onerror={c}&gt;",
        "<img src=x onerror=&#x{h};>",
        "[x](javascript:{c})",
        "<form><button formaction=javascript:{c}>x</button></form>",
        "<isindex type=image src=1 onerror={c}>",
    ]
    out = []
    for i in range(COUNT):
        pid = f"p{i:03d}"
        call = f"window.__pwned('{pid}')" if i % 7 else f"alert('{pid}')"
        hexcall = "".join(f"{ord(c):x};&#x" for c in call).removesuffix(";&#x")
        out.append(templates[i % len(templates)].format(c=call, h=hexcall) + f" {pid}")
    return out


def text_element(i: int, text: str) -> dict[str, Any]:
    """A complete Excalidraw 0.18 text element, as the browser's editor writes it."""
    return {
        "id": f"xss-{i}",
        "type": "text",
        "x": (i % 20) * 220,
        "y": (i // 20) * 60,
        "width": 200,
        "height": 25,
        "angle": 0,
        "strokeColor": "#1e1e1e",
        "backgroundColor": "transparent",
        "fillStyle": "solid",
        "strokeWidth": 2,
        "strokeStyle": "solid",
        "roughness": 1,
        "opacity": 100,
        "groupIds": [],
        "frameId": None,
        "index": f"a{i:04d}",
        "roundness": None,
        "seed": i + 1,
        "version": 1,
        "versionNonce": i + 7,
        "isDeleted": False,
        "boundElements": None,
        "updated": 1,
        "link": text if text.lower().startswith("javascript") else None,
        "locked": False,
        "text": text,
        "fontSize": 20,
        "fontFamily": 5,
        "textAlign": "left",
        "verticalAlign": "top",
        "containerId": None,
        "originalText": text,
        "autoResize": True,
        "lineHeight": 1.25,
    }


class Detector:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.dialogs: list[str] = []

    async def watch(self, page: Any, who: str) -> None:
        await page.context.expose_function(
            "__pwned", lambda ident=None: self.calls.append(f"{who}:{ident}")
        )

        async def on_dialog(dialog: Dialog) -> None:
            self.dialogs.append(f"{who}: {dialog.type} {dialog.message}")
            await dialog.dismiss()

        page.on("dialog", on_dialog)

    async def canary(self, page: Any, who: str) -> None:
        await page.evaluate("window.__pwned('canary')")
        for _ in range(50):
            if f"{who}:canary" in self.calls:
                self.calls.remove(f"{who}:canary")
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"the detector does not work on the {who}'s page")


def assert_csp(headers: dict[str, str], where: str) -> None:
    csp = headers.get("content-security-policy", "")
    assert csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp, (where, csp)


async def test_500_payloads_in_names_chat_files_and_board_never_run(
    server, seed_advisor, browser: Browser, client_built
):
    items = payloads()
    assert len(set(items)) == COUNT
    seed = await seed_advisor()
    advisor, customer, cid = await admitted_pair(server, seed_advisor)

    # names: every payload tried as a name in the advisor's team queue
    names_accepted = 0
    anonymous = server.http()
    for i, item in enumerate(items):
        first, _, last = item.partition(" ")
        status, _ = await anonymous.post(
            "/api/join",
            {
                "team": seed["team_slug"],
                "first_name": first[:60] or "x",
                "last_name": (last or item)[:60],
                "notice_version": server.settings.notice_version,
            },
        )
        assert status in (201, 400), (i, status)
        names_accepted += status == 201
        anonymous.session.cookie_jar.clear()
    # chat: all 500 as messages from the customer
    for i, item in enumerate(items):
        await customer.sock.ok(
            "chat_send", {"consultation_id": cid, "client_id": f"xss-{i:04d}", "body": item}
        )
    # files: all 500 as file names
    files_accepted = 0
    for item in items:
        status, _ = await customer.http.post(
            f"/api/consultations/{cid}/files?name={quote(item + '.txt')}",
            data=b"harmless",
            headers={"Content-Type": "application/octet-stream"},
        )
        assert status in (201, 400, 415), status
        files_accepted += status == 201
    # whiteboard: all 500 as text elements (the javascript: ones also as links)
    board = YClient(customer.sock, cid)
    await board.sync()
    for start in range(0, COUNT, 100):

        def add(doc: Any, start: int = start) -> None:
            from pycrdt import Map

            elements = doc.get("elements", type=Map)
            for i in range(start, min(start + 100, COUNT)):
                elements[f"xss-{i}"] = text_element(i, items[i])

        await board.draw(add)
    print(
        f"\nXSS: {COUNT} payloads; names accepted {names_accepted}, chat {COUNT}, "
        f"file names {files_accepted}, board text {COUNT}"
    )

    detector = Detector()
    log: list[str] = []
    adv_page = await open_page(browser, server.url, log, "advisor")
    await detector.watch(adv_page, "advisor")
    # the advisor's dashboard: the queue with every accepted name
    await log_in(adv_page, {"username": seed["username"], "password": seed["password"]})
    await adv_page.wait_for_url("**/dashboard")
    if names_accepted:
        await expect(adv_page.get_by_test_id("queue-entry")).to_have_count(
            min(names_accepted, server.settings.queue_size)
        )
    await detector.canary(adv_page, "advisor")

    # the room, as the consultation's advisor (logged in in the browser) and as its customer
    room_page = await open_page(browser, server.url, log, "room-advisor")
    await detector.watch(room_page, "room-advisor")
    cookie = advisor.http.session.cookie_jar
    await room_page.context.add_cookies(
        [{"name": c.key, "value": c.value, "url": server.url} for c in cookie]
    )
    response = await room_page.goto(f"/room/{cid}")
    assert response is not None
    assert_csp(await response.all_headers(), "room")
    # the browser takes the customer's place: one connection per customer (a second one
    # replaces the first), so the script's socket steps aside first
    await customer.sock.close()
    cust_page = await open_page(browser, server.url, log, "customer")
    await detector.watch(cust_page, "customer")
    await cust_page.context.add_cookies(
        [
            {"name": c.key, "value": c.value, "url": server.url}
            for c in customer.http.session.cookie_jar
        ]
    )
    response = await cust_page.goto("/c")
    assert response is not None
    assert_csp(await response.all_headers(), "customer")
    for page, who in ((room_page, "room-advisor"), (cust_page, "customer")):
        # start the call, then wait until the last payload is on screen (chat and files)
        await page.get_by_test_id("start-media").click()
        await expect(page.get_by_text("p499").first).to_be_attached(timeout=30_000)
        await detector.canary(page, who)
    # the advisor's chat record of the consultation, on the dashboard
    await room_page.goto("/dashboard")
    await room_page.get_by_test_id("chat-record-button").first.click()
    record = room_page.get_by_test_id("chat-record")
    await expect(record.get_by_text("p499").first).to_be_attached(timeout=30_000)
    await detector.canary(room_page, "room-advisor")
    await asyncio.sleep(1.0)  # let deferred handlers (onerror, onload, animations) fire
    for page in (adv_page, room_page, cust_page):
        await page.mouse.move(300, 300)
        await page.keyboard.press("Tab")
    await asyncio.sleep(0.5)
    assert detector.calls == [], detector.calls[:20]
    assert detector.dialogs == [], detector.dialogs[:20]
    for page in (adv_page, room_page, cust_page):
        await page.context.close()
