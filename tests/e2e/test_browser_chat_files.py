"""End to end in real Chromium: chat and file exchange in the room. Hostile text stays text,
links are inert until clicked, files go up and come down byte for byte, the advisor reads
the record back from the dashboard, and the chat stays reachable on a phone."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import struct
import zlib
from pathlib import Path

import pytest
from playwright.async_api import (
    Browser,
    ConsoleMessage,
    Dialog,
    Locator,
    Page,
    Request,
    Route,
    WebSocketRoute,
    expect,
)

from tests.conftest import RunningServer, Seed
from tests.e2e.steps import STEP_MS, join_instant, log_in, pick_up

pytestmark = pytest.mark.e2e

HOSTILE = "<img src=x onerror=alert(1)>"
LINK = "https://example.org/tarif?plan=basis&jahr=2026"
CUSTOMER_TEXT = f"Guten Tag {HOSTILE}\nDas Angebot: {LINK}."
PDF = (
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
    b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"
)


def _png() -> bytes:
    """A valid 2x2 RGB PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x1f\x5f\x8b" * 2 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PNG = _png()
NOTE = "Notiz: Rückruf am Dienstag.\n"
DROP_TEXT_FILE = """(panel, text) => {
  const transfer = new DataTransfer();
  transfer.items.add(new File([text], "notiz.txt", { type: "text/plain" }));
  for (const type of ["dragenter", "dragover", "drop"]) {
    panel.dispatchEvent(
      new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true })
    );
  }
}"""
SEND_TIMEOUT_MS = 10_000  # the client's chat_send timeout (client/src/protocol/chat.ts)
CHAT_SEND = re.compile(r"^42(\d+)(\[.*)$", re.DOTALL)  # a Socket.IO event with an ack id
ACK = re.compile(r"^43(\d+)\[")
CHAT_MESSAGE = re.compile(r'^42\[\s*"chat_message"')


@pytest.fixture
def settings_overrides() -> dict[str, float]:
    """A grace period long enough for the forced reconnect below."""
    return {"grace_seconds": 30.0}


class SocketTap:
    """Sits on the customer's Socket.IO websocket: records what the page sends, can hold
    back the answers to `chat_send` and chosen `chat_message` events, and can cut the line
    (the client then reconnects through the tap again)."""

    def __init__(self) -> None:
        self.from_page: list[tuple[str, list[object]]] = []
        self.hold_chat_send = False
        self.held_acks: set[str] = set()
        self.drop_containing: set[str] = set()
        self.lines: list[tuple[WebSocketRoute, WebSocketRoute]] = []

    def events(self, name: str) -> list[dict[str, object]]:
        """Payloads of the events the page sent under this name, in order."""
        return [p[1] for n, p in self.from_page if n == name and isinstance(p[1], dict)]

    async def handle(self, page_side: WebSocketRoute) -> None:
        server_side = page_side.connect_to_server()
        self.lines.append((page_side, server_side))

        def from_page(message: str | bytes) -> None:
            if isinstance(message, str) and (event := CHAT_SEND.match(message)):
                packet = json.loads(event.group(2))
                self.from_page.append((str(packet[0]), packet))
                if packet[0] == "chat_send" and self.hold_chat_send:
                    self.held_acks.add(event.group(1))
                    self.drop_containing.add(str(packet[1]["client_id"]))
            server_side.send(message)

        def from_server(message: str | bytes) -> None:
            if isinstance(message, str):
                ack = ACK.match(message)
                if ack and ack.group(1) in self.held_acks:
                    return
                if CHAT_MESSAGE.match(message) and any(s in message for s in self.drop_containing):
                    return
            page_side.send(message)

        page_side.on_message(from_page)
        server_side.on_message(from_server)

    async def cut(self) -> None:
        page_side, server_side = self.lines[-1]
        for side in (server_side, page_side):
            with contextlib.suppress(Exception):  # closing one side may close the other
                await side.close()


class Watch:
    """What a page did that it must not: dialogs, requests to other origins, errors."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.dialogs: list[str] = []
        self.foreign: list[str] = []
        self.log: list[str] = []

    def attach(self, page: Page, who: str) -> None:
        async def on_dialog(dialog: Dialog) -> None:
            self.dialogs.append(f"{who}: {dialog.type} {dialog.message}")
            await dialog.dismiss()

        def on_request(request: Request) -> None:
            if not request.url.startswith((self.origin + "/", "data:", "blob:")):
                self.foreign.append(f"{who}: {request.method} {request.url}")

        def on_console(message: ConsoleMessage) -> None:
            if message.type in ("error", "warning"):
                self.log.append(f"{who} console {message.type}: {message.text}")

        page.on("dialog", on_dialog)
        page.on("request", on_request)
        page.on("console", on_console)
        page.on("pageerror", lambda err: self.log.append(f"{who} page error: {err}"))


@pytest.fixture
def upload_files(tmp_path: Path) -> dict[str, Path]:
    """A PDF, a PNG and a "PDF" that is none, on disk for the file picker."""
    files = {
        "pdf": tmp_path / "Angebot 2026.pdf",
        "png": tmp_path / "foto.png",
        "fake_pdf": tmp_path / "kein-pdf.pdf",
    }
    files["pdf"].write_bytes(PDF)
    files["png"].write_bytes(PNG)
    files["fake_pdf"].write_bytes(b"this is not a PDF at all\n")
    return files


async def _page(browser: Browser, base_url: str, watch: Watch, who: str) -> Page:
    """A page in its own browser context (own cookies), fake camera and microphone allowed."""
    context = await browser.new_context(
        base_url=base_url, viewport={"width": 1100, "height": 800}, accept_downloads=True
    )
    await context.grant_permissions(["camera", "microphone"], origin=base_url)
    page = await context.new_page()
    page.set_default_timeout(STEP_MS)
    watch.attach(page, who)
    return page


async def _downloaded(page: Page, message: Locator, expected_name: str) -> bytes:
    link = message.get_by_test_id("file-link")
    async with page.expect_download(timeout=STEP_MS) as info:
        await link.click()
    download = await info.value
    assert download.suggested_filename == expected_name
    path = await download.path()
    return await asyncio.to_thread(Path(path).read_bytes)


async def test_chat_and_files_between_customer_and_advisor(
    client_built: Path,
    server: RunningServer,
    seed_advisor: Seed,
    browser: Browser,
    artifacts: Path,
    upload_files: dict[str, Path],
) -> None:
    account = await seed_advisor()
    watch = Watch(server.url)
    advisor = await _page(browser, server.url, watch, "advisor")
    customer = await _page(browser, server.url, watch, "customer")
    tap = SocketTap()
    await customer.route_web_socket(lambda url: "/socket.io/" in url, tap.handle)
    try:
        # The advisor signs in; the customer comes through the instant link; pick-up.
        await log_in(advisor, account)
        await advisor.wait_for_url("**/dashboard")

        await join_instant(customer, account["team_slug"])
        consultation_id = await pick_up(advisor)

        # Both enter the room (fake camera and microphone).
        for page in (customer, advisor):
            await page.get_by_test_id("start-media").click()
            await expect(page.get_by_test_id("chat-panel")).to_be_visible()
            await expect(page.get_by_test_id("chat-input")).to_be_editable()
        await expect(advisor.get_by_test_id("remote-video")).to_have_count(1)
        await expect(customer.get_by_test_id("remote-video")).to_have_count(1)

        # The customer sends hostile markup, a newline and a link; Enter sends.
        await customer.get_by_test_id("chat-input").fill(CUSTOMER_TEXT)
        await customer.get_by_test_id("chat-input").press("Enter")
        await expect(customer.get_by_test_id("chat-input")).to_have_value("")
        own = customer.get_by_test_id("chat-message").filter(has_text=HOSTILE)
        await expect(own).to_have_attribute("data-state", "sent")
        await expect(own).to_have_attribute("data-seq", "1")

        # The advisor sees it as literal text: no <img>, no dialog, the link inert.
        panel = advisor.get_by_test_id("chat-panel")
        received = panel.get_by_test_id("chat-message").filter(has_text=HOSTILE)
        await expect(received).to_have_count(1)
        await expect(received).to_have_attribute("data-state", "sent")
        assert await received.locator(".msg-body").text_content() == CUSTOMER_TEXT
        await expect(received).to_contain_text("Erika Mustermann")
        await expect(panel.locator("img")).to_have_count(0)
        await expect(advisor.locator("img[src='x']")).to_have_count(0)
        link = received.get_by_role("link", name=LINK)
        await expect(link).to_have_count(1)
        await expect(link).to_have_attribute("href", LINK)
        await expect(link).to_have_attribute("target", "_blank")
        rel = (await link.get_attribute("rel") or "").split()
        assert "noopener" in rel and "noreferrer" in rel, rel

        # The advisor replies over two lines (Shift+Enter); the customer sees it.
        reply = advisor.get_by_test_id("chat-input")
        await reply.fill("Danke, Frau Mustermann.")
        await reply.press("Shift+Enter")
        await reply.press_sequentially("Ich schicke Ihnen gleich ein Foto.")
        await advisor.get_by_test_id("chat-send").click()
        answer = customer.get_by_test_id("chat-message").filter(has_text="Danke, Frau Mustermann.")
        await expect(answer).to_have_count(1)
        assert (
            await answer.locator(".msg-body").text_content()
            == "Danke, Frau Mustermann.\nIch schicke Ihnen gleich ein Foto."
        )
        await expect(answer).to_have_attribute("data-seq", "2")

        # The customer shares a PDF; the advisor downloads exactly those bytes.
        await customer.get_by_test_id("file-input").set_input_files(str(upload_files["pdf"]))
        pdf_at_advisor = panel.get_by_test_id("chat-message").filter(has_text="Angebot 2026.pdf")
        await expect(pdf_at_advisor.get_by_test_id("file-link")).to_have_count(1)
        await expect(pdf_at_advisor.get_by_test_id("file-link")).to_have_attribute(
            "download", "Angebot 2026.pdf"
        )
        assert await _downloaded(advisor, pdf_at_advisor, "Angebot 2026.pdf") == PDF
        pdf_at_customer = customer.get_by_test_id("chat-message").filter(
            has_text="Angebot 2026.pdf"
        )
        await expect(pdf_at_customer.get_by_test_id("file-delete")).to_have_count(1)

        # The advisor shares a PNG; the customer sees and downloads it, and may not delete it.
        await advisor.get_by_test_id("file-input").set_input_files(str(upload_files["png"]))
        png_at_customer = customer.get_by_test_id("chat-message").filter(has_text="foto.png")
        await expect(png_at_customer.get_by_test_id("file-link")).to_have_count(1)
        await expect(png_at_customer).to_contain_text("Anna Advisor")
        await expect(png_at_customer.get_by_test_id("file-delete")).to_have_count(0)
        assert await _downloaded(customer, png_at_customer, "foto.png") == PNG

        # A file whose content does not match its extension is refused by the server, and
        # the customer is told what happened and what to do.
        await customer.get_by_test_id("file-input").set_input_files(str(upload_files["fake_pdf"]))
        refused = customer.get_by_test_id("upload-error")
        await expect(refused).to_have_count(1)
        await expect(refused).to_contain_text("kein-pdf.pdf")
        await expect(refused).to_contain_text("not shared")
        await expect(refused).to_contain_text("PDF")
        await expect(customer.get_by_test_id("chat-message")).to_have_count(4)

        # An upload in progress shows a progress bar and can be cancelled (the request is
        # held here so that it cannot finish first).
        held: list[Route] = []

        def is_upload(url: str) -> bool:
            return "/files?name=" in url

        async def hold(route: Route) -> None:
            held.append(route)

        await customer.route(is_upload, hold)
        await customer.get_by_test_id("file-input").set_input_files(str(upload_files["pdf"]))
        progress = customer.get_by_test_id("file-upload-progress")
        await expect(progress).to_have_count(1)
        await customer.get_by_test_id("file-upload-cancel").click()
        await expect(progress).to_have_count(0)
        assert len(held) == 1
        # End the held request without sending it, before unrouting (which would continue
        # it): the page has given it up, but a continuation could still reach the server
        # on a loaded machine (Playwright, not the browser, holds it) and share the file.
        await held[0].abort()
        await customer.unroute(is_upload, hold)
        await expect(customer.get_by_test_id("upload-error")).to_have_count(1)
        await expect(customer.get_by_test_id("chat-message")).to_have_count(4)

        # A chat_send whose answer never comes is "not sent"; Retry sends the same client id
        # again, the server answers as the first time, and the advisor has it only once.
        tap.hold_chat_send = True
        callback = "Bitte rufen Sie mich morgen an."
        await customer.get_by_test_id("chat-input").fill(callback)
        await customer.get_by_test_id("chat-send").click()
        unsent = customer.get_by_test_id("chat-message").filter(has_text=callback)
        await expect(unsent).to_have_attribute("data-state", "pending")
        await expect(unsent).to_have_attribute(
            "data-state", "failed", timeout=SEND_TIMEOUT_MS + STEP_MS
        )
        await expect(unsent).to_contain_text("not sent")
        tap.hold_chat_send = False
        await unsent.get_by_test_id("chat-retry").click()
        await expect(unsent).to_have_attribute("data-state", "sent")
        await expect(unsent).to_have_attribute("data-seq", "5")
        sends = [e for e in tap.events("chat_send") if e["body"] == callback]
        assert len(sends) == 2 and sends[0]["client_id"] == sends[1]["client_id"], sends
        assert re.fullmatch(r"[A-Za-z0-9_-]{8,64}", str(sends[0]["client_id"]))
        await expect(panel.get_by_test_id("chat-message").filter(has_text=callback)).to_have_count(
            1
        )

        # A message the customer missed arrives after a reconnect (chat_history after the
        # highest seq seen), exactly once.
        missed = "Gern, ich rufe Sie um zehn Uhr an."
        tap.drop_containing.add(missed)
        await advisor.get_by_test_id("chat-input").fill(missed)
        await advisor.get_by_test_id("chat-input").press("Enter")
        await expect(
            panel.get_by_test_id("chat-message").filter(has_text=missed)
        ).to_have_attribute("data-state", "sent")
        late = customer.get_by_test_id("chat-message").filter(has_text=missed)
        await expect(late).to_have_count(0)
        histories = len(tap.events("chat_history"))
        await tap.cut()
        await expect(late).to_have_count(1)
        await expect(late).to_have_attribute("data-seq", "6")
        resumed = tap.events("chat_history")[histories:]
        assert resumed and resumed[0]["after_seq"] == 5, resumed
        await expect(customer.get_by_test_id("chat-message")).to_have_count(6)

        # Files dropped onto the chat panel are shared as well.
        await customer.get_by_test_id("chat-panel").evaluate(DROP_TEXT_FILE, NOTE)
        note_at_advisor = panel.get_by_test_id("chat-message").filter(has_text="notiz.txt")
        await expect(note_at_advisor.get_by_test_id("file-link")).to_have_count(1)
        assert await _downloaded(advisor, note_at_advisor, "notiz.txt") == NOTE.encode()
        await expect(customer.get_by_test_id("chat-message")).to_have_count(7)

        await advisor.screenshot(path=str(artifacts / "chat-advisor.png"))
        await customer.screenshot(path=str(artifacts / "chat-customer.png"))

        # The advisor deletes the PDF; the customer's list marks it deleted.
        await pdf_at_advisor.get_by_test_id("file-delete").click()
        await pdf_at_advisor.get_by_test_id("file-delete-confirm").click()
        await expect(pdf_at_customer.get_by_test_id("file-link")).to_have_count(0)
        await expect(pdf_at_customer).to_contain_text("deleted")
        await expect(pdf_at_advisor.get_by_test_id("file-link")).to_have_count(0)

        # On a phone the chat is one tap away, and nothing scrolls sideways.
        await customer.set_viewport_size({"width": 390, "height": 844})
        await expect(customer.get_by_test_id("chat-tab")).to_be_visible()
        await customer.get_by_test_id("chat-tab").click()
        await expect(customer.get_by_test_id("chat-panel")).to_be_visible()
        await expect(customer.get_by_test_id("chat-input")).to_be_visible()
        overflow = await customer.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"the page scrolls sideways by {overflow}px"
        await customer.screenshot(path=str(artifacts / "chat-customer-phone.png"))
        await customer.get_by_test_id("lang-de").click()
        await expect(customer.get_by_test_id("chat-panel")).to_contain_text("Bis 25 MB")
        await expect(customer.get_by_test_id("chat-send")).to_contain_text("Senden")

        # The advisor reads the record back on the dashboard: text only, same rules.
        await advisor.goto("/dashboard")
        row = advisor.locator(
            f'[data-testid="consultation"][data-consultation-id="{consultation_id}"]'
        )
        await row.get_by_test_id("chat-record-button").click()
        record = row.get_by_test_id("chat-record")
        await expect(record.get_by_test_id("chat-message")).to_have_count(7)
        first = record.get_by_test_id("chat-message").first
        assert await first.locator(".msg-body").text_content() == CUSTOMER_TEXT
        await expect(record.locator("img")).to_have_count(0)
        record_link = first.get_by_role("link", name=LINK)
        await expect(record_link).to_have_attribute("rel", "noopener noreferrer")
        await advisor.screenshot(path=str(artifacts / "chat-record.png"))

        # Once the consultation has ended, its record is still there to read.
        await row.get_by_test_id("end-consultation-button").click()
        await row.get_by_test_id("end-consultation-button-confirm").click()
        await expect(customer.get_by_test_id("room-ended")).to_be_visible()
        await advisor.get_by_role("button", name=re.compile("Show ended")).click()
        await expect(row).to_contain_text("Ended")
        await row.get_by_test_id("chat-record-button").click()
        ended_record = row.get_by_test_id("chat-record")
        await expect(ended_record.get_by_test_id("chat-message")).to_have_count(7)
        await expect(ended_record.get_by_test_id("chat-message").first).to_contain_text(HOSTILE)

        assert watch.dialogs == [], watch.dialogs
        assert watch.foreign == [], watch.foreign
    except BaseException:
        for name, page in (("advisor", advisor), ("customer", customer)):
            try:
                shot = artifacts / f"failed-chat-{name}.png"
                await page.screenshot(path=str(shot), timeout=5_000)
            except Exception as err:  # the page may be gone already
                watch.log.append(f"no screenshot of {name}: {err}")
        print("\n".join(watch.log))
        print("customer sent:", [(n, p[1]) for n, p in tap.from_page])
        raise
    finally:
        await advisor.context.close()
        await customer.context.close()
