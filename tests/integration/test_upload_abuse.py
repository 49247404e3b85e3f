"""Upload abuse beyond tests/integration/test_files.py (which covers wrong magic bytes, SVG,
`../`, absolute and NUL names, and oversized uploads with and without Content-Length):
polyglots and markup hidden in allowed types, hostile names in the download header, pixel
floods, and uploads that trickle. Each is refused or neutralised: stored byte for byte,
never decoded or converted, served only as an attachment that cannot run; nothing partial
is left when one is refused."""

from __future__ import annotations

import asyncio
import logging
import struct
import zlib
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.clients import WAIT, reset
from tests.flows import admitted_pair
from tests.integration.test_files import download, leftovers, upload

ROOT = Path(__file__).resolve().parents[2]

# a valid PDF (header, one object, trailer) that is also an HTML page with a script
POLYGLOT_PDF = (
    b"%PDF-1.4\n<html><body><script>window.__pwned('pdf')</script>"
    b"<img src=x onerror=\"window.__pwned('pdf-img')\"></body></html>\n"
    b"1 0 obj << /Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >> endobj\n"
    b"trailer << /Root 1 0 R >>\n%%EOF\n"
)
HTML_AS_TEXT = b"<!doctype html><html><script>window.__pwned('txt')</script></html>"
SVG_AS_TEXT = (
    b'<svg xmlns="http://www.w3.org/2000/svg" onload="window.__pwned(1)"><script>x</script></svg>'
)
# JPEG magic bytes, then HTML: a browser sniffing it would find markup
JPEG_HTML = b"\xff\xd8\xff\xe0<html><script>window.__pwned('jpg')</script></html>" + b"\x00" * 64


def png_declaring(width: int, height: int) -> bytes:
    """A well-formed PNG whose header declares width x height pixels (a pixel flood: a
    decoder would try to allocate width*height*4 bytes) with a tiny compressed body."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 65536, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def assert_cannot_run(headers, content_type: str) -> None:
    assert headers["Content-Type"] == content_type
    assert headers["Content-Disposition"].startswith("attachment; ")
    assert headers["X-Content-Type-Options"] == "nosniff"
    csp = [d.strip() for d in headers["Content-Security-Policy"].split(";")]
    assert "sandbox" in csp, csp
    assert "default-src 'none'" in csp, csp
    assert "'unsafe-inline'" not in headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("name", "data", "content_type"),
    [
        ("angebot.pdf", POLYGLOT_PDF, "application/pdf"),
        ("notes.txt", HTML_AS_TEXT, "text/plain; charset=utf-8"),
        ("drawing.txt", SVG_AS_TEXT, "text/plain; charset=utf-8"),
        ("photo.jpg", JPEG_HTML, "image/jpeg"),
    ],
    ids=["pdf-html-polyglot", "html-as-txt", "svg-as-txt", "jpeg-html"],
)
async def test_markup_in_an_allowed_type_is_served_as_an_inert_attachment(
    server, seed_advisor, name, data, content_type
):
    advisor, customer, cid = await admitted_pair(server, seed_advisor)
    status, body = await upload(customer, cid, name, data)
    assert status == 201, body
    status, headers, got = await download(advisor, body["data"]["file"]["id"])
    assert status == 200
    assert got == data  # stored and served byte for byte: never converted
    assert_cannot_run(headers, content_type)


@pytest.mark.parametrize(
    "name",
    [
        'a"; filename="evil.html.txt',
        "line\r\nSet-Cookie: x=1.txt",
        "tab\tand\x7fdel\x1b[31m.txt",
        "..%2f..%2fetc%2fpasswd.txt",
        "C:\\Windows\\system32\\x.txt",
        "\u202egnp.txt",
        "Ärger über Öl 😀.txt",
    ],
)
async def test_hostile_names_give_a_safe_download_header(server, seed_advisor, name):
    advisor, customer, cid = await admitted_pair(server, seed_advisor)
    status, body = await upload(customer, cid, name, b"plain text")
    assert status == 201, body
    shown = body["data"]["file"]["name"]
    status, headers, _ = await download(advisor, body["data"]["file"]["id"])
    assert status == 200
    disposition = headers["Content-Disposition"]
    assert disposition.isascii() and disposition.isprintable()
    assert headers.getall("Set-Cookie", []) == []
    fallback = disposition.split('filename="', 1)[1].split('"', 1)[0]
    assert all(c not in fallback for c in '"\\/\r\n')
    encoded = disposition.split("filename*=UTF-8''", 1)[1]
    assert unquote(encoded) == shown
    assert "/" not in shown and "\\" not in shown
    assert not any(ord(c) < 32 or ord(c) == 127 or c == "\u202e" for c in shown)
    assert_cannot_run(headers, "text/plain; charset=utf-8")


async def test_a_pixel_flood_is_stored_as_it_is_and_never_decoded(server, seed_advisor):
    advisor, customer, cid = await admitted_pair(server, seed_advisor)
    flood = png_declaring(100_000, 100_000)  # 40 GB once decoded
    status, body = await upload(customer, cid, "flood.png", flood)
    assert status == 201, body
    assert body["data"]["file"]["size"] == len(flood)
    status, headers, got = await download(advisor, body["data"]["file"]["id"])
    assert (status, got) == (200, flood)
    assert_cannot_run(headers, "image/png")
    # the server has no image decoder to be flooded: no Parley module imports one
    decoders = ("PIL", "imageio", "cv2", "wand", "pyvips", "skimage", "cairosvg", "fitz")
    for package in ("server", "signaling", "storage"):
        for source in (ROOT / package).rglob("*.py"):
            text = source.read_text()
            for lib in decoders:
                assert f"import {lib}" not in text and f"from {lib}" not in text, (source, lib)


async def raw_upload(server, customer, cid, headers: str, parts, pause: float) -> bytes:
    """Send an upload by hand, part by part with pauses; return the server's answer."""
    host, port = server.url.removeprefix("http://").split(":")
    token = customer.http.csrf_cookie()
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        (
            f"POST /api/consultations/{cid}/files?name=slow.txt HTTP/1.1\r\n"
            f"Host: {host}:{port}\r\nOrigin: {server.url}\r\nX-CSRF-Token: {token}\r\n"
            f"Cookie: {customer.http.cookie_header()}\r\n{headers}\r\n"
        ).encode()
    )
    answer = b""
    try:
        for part in parts:
            writer.write(part)
            await writer.drain()
            try:  # has the server answered (and given up) already?
                answer += await asyncio.wait_for(reader.read(65536), pause)
            except TimeoutError:
                continue
            if answer:
                break
        if not answer:
            answer = await asyncio.wait_for(reader.read(65536), WAIT)
    except (ConnectionResetError, BrokenPipeError):
        pass
    finally:
        writer.close()
    return answer


@pytest.mark.parametrize("settings_overrides", [{"upload_read_timeout_seconds": 0.5}])
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
async def test_a_trickling_upload_is_ended_and_leaves_nothing(server, seed_advisor, framing):
    _, customer, cid = await admitted_pair(server, seed_advisor)
    if framing == "chunked":
        headers = "Transfer-Encoding: chunked\r\n"
        first = b"40000\r\n" + b"a" * 0x40000 + b"\r\n"  # one whole chunk: storing begins
        trickle = [b"10000\r\n"] + [b"a"] * 400
    else:
        headers = "Content-Length: 2000000\r\n"
        first = b"a" * 0x40000
        trickle = [b"a"] * 400
    # a first full piece so that the server has begun storing, then a byte every 0.2 s
    answer = await raw_upload(server, customer, cid, headers, [first, *trickle], 0.2)
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b'"upload_timeout"' in answer
    async with asyncio.timeout(WAIT):
        while await leftovers(server) != (0, 0, []):
            await asyncio.sleep(0.05)
    # and the next upload works
    assert (await upload(customer, cid, "ok.txt", b"fine"))[0] == 201


async def test_an_upload_the_client_resets_leaves_nothing_and_no_error_in_the_log(
    server, seed_advisor, caplog
):
    """A browser that goes away in the middle of an upload (a closed tab): what was stored
    of it is removed, and a client that left is logged as such, not as a server error."""
    caplog.set_level(logging.INFO)
    _, customer, cid = await admitted_pair(server, seed_advisor)
    host, port = server.url.removeprefix("http://").split(":")
    _, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        (
            f"POST /api/consultations/{cid}/files?name=gone.txt HTTP/1.1\r\n"
            f"Host: {host}:{port}\r\nOrigin: {server.url}\r\n"
            f"X-CSRF-Token: {customer.http.csrf_cookie()}\r\n"
            f"Cookie: {customer.http.cookie_header()}\r\nContent-Length: 4000000\r\n\r\n"
        ).encode()
        + b"a" * 0x60000  # more than a chunk: storing has begun
    )
    await writer.drain()
    async with asyncio.timeout(WAIT):  # the server has begun storing it
        while (await leftovers(server))[0] == 0:
            await asyncio.sleep(0.02)
    reset(writer)
    async with asyncio.timeout(WAIT):
        while "client went away" not in caplog.text:
            await asyncio.sleep(0.02)
        while await leftovers(server) != (0, 0, []):
            await asyncio.sleep(0.05)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]
