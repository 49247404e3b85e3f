"""File exchange: streamed, sealed, typed by content, visible only when whole, and nothing
left behind by any refused or aborted upload."""

from __future__ import annotations

import asyncio
import sys
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from server.state import CORE, FILES
from storage.models import BlobChunk, StoredFile
from storage.repositories import FileRepository, ParticipantRepository
from tests.clients import WAIT
from tests.conftest import FakeClock
from tests.flows import admitted_pair, join_customer

PDF = b"%PDF-1.7\n% Angebot Hausrat\n" + bytes(range(256)) * 4
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 2048
# 2.4 MB, ten chunks: the upload hands them to the store in batches of four, four and two
BIG_TEXT = ("Zeile mit Inhalt äöü\n" * 100_000).encode()

STORES = pytest.mark.parametrize(
    "settings_overrides", [{"blob_store": "local"}, {"blob_store": "database"}], ids=["local", "db"]
)


async def upload(client, cid, name, data, **kw):
    return await client.http.post(
        f"/api/consultations/{cid}/files?name={quote(name)}",
        data=data,
        headers={"Content-Type": "application/octet-stream"},
        **kw,
    )


async def download(client, file_id):
    async with client.http.session.get(f"{client.http.base}/api/files/{file_id}") as resp:
        return resp.status, resp.headers, await resp.read()


async def leftovers(server):
    """Every trace an upload can leave: file rows, database chunks, blob files."""
    async with server.app[CORE].db.session() as s:
        rows = await s.scalar(select(func.count()).select_from(StoredFile))
        chunks = await s.scalar(select(func.count()).select_from(BlobChunk))
    blob_files = [p for p in server.settings.blob_path.rglob("*") if p.is_file()]
    return rows, chunks, blob_files


@STORES
async def test_round_trip_announced_in_the_chat(server, seed_advisor):
    advisor, customer, cid = await admitted_pair(server, seed_advisor)
    status, body = await upload(customer, cid, "Angebot 2026.pdf", PDF)
    assert status == 201, body
    file = body["data"]["file"]
    assert (file["name"], file["size"], file["content_type"]) == (
        "Angebot 2026.pdf",
        len(PDF),
        "application/pdf",
    )
    seen = await advisor.sock.until("chat_message", lambda m: m["kind"] == "file")
    assert seen["file"]["id"] == file["id"] and seen["seq"] == body["data"]["seq"]

    status, headers, data = await download(advisor, file["id"])
    assert status == 200 and data == PDF
    assert headers["Content-Type"] == "application/pdf"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''Angebot%202026.pdf" in headers["Content-Disposition"]

    status, body = await upload(advisor, cid, "notes.txt", BIG_TEXT)
    assert status == 201
    status, _, data = await download(customer, body["data"]["file"]["id"])
    assert status == 200 and data == BIG_TEXT
    listing = (await customer.http.get(f"/api/consultations/{cid}/files"))[1]["data"]["files"]
    assert [f["name"] for f in listing] == ["Angebot 2026.pdf", "notes.txt"]


async def test_delete_by_uploader_or_advisor_only(server, seed_advisor):
    advisor, customer, cid = await admitted_pair(server, seed_advisor)
    mine = (await upload(customer, cid, "a.png", PNG))[1]["data"]["file"]["id"]
    theirs = (await upload(advisor, cid, "b.png", PNG))[1]["data"]["file"]["id"]
    status, body = await customer.http.request("DELETE", f"/api/files/{theirs}")
    assert (status, body["error"]["code"]) == (403, "not_authorised")
    assert (await customer.http.request("DELETE", f"/api/files/{mine}"))[0] == 200
    assert (await advisor.sock.next("file_deleted"))["file_id"] == mine
    assert (await advisor.http.request("DELETE", f"/api/files/{theirs}"))[0] == 200
    status, body = await customer.http.get(f"/api/files/{mine}")
    assert (status, body["error"]["code"]) == (404, "not_found")
    _rows, chunks, blob_files = await leftovers(server)
    assert blob_files == [] and chunks == 0
    history = await customer.sock.ok("chat_history", {"consultation_id": cid})
    assert [m["file"]["deleted"] for m in history["messages"]] == [True, True]


@pytest.mark.parametrize(
    ("name", "data", "status", "code"),
    [
        ("invoice.pdf", PNG, 415, "file_type_refused"),  # a PNG disguised as PDF
        ("photo.png", PDF, 415, "file_type_refused"),
        ("setup.exe", b"MZ\x90\x00" + b"\x00" * 100, 415, "file_type_refused"),
        ("drawing.svg", b"<svg onload=alert(1)>", 415, "file_type_refused"),
        ("page.html", b"<html><script>alert(1)</script>", 415, "file_type_refused"),
        ("noext", PDF, 415, "file_type_refused"),
        ("empty.txt", b"", 415, "file_type_refused"),
        ("binary.txt", b"\x00\x01\x02", 415, "file_type_refused"),
        ("", PDF, 400, "invalid_payload"),
    ],
)
async def test_refused_types_leave_nothing(server, seed_advisor, name, data, status, code):
    advisor, customer, cid = await admitted_pair(server, seed_advisor)
    got, body = await upload(customer, cid, name, data)
    assert (got, body["error"]["code"]) == (status, code)
    assert await leftovers(server) == (0, 0, [])
    await advisor.sock.ok("dashboard_get")
    assert advisor.sock.received("chat_message") == []


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd.txt",
        "..\\..\\boot.ini.txt",
        "/abs/path.txt",
        "a\x00b.txt",
        "\u202etxt.exe.txt",
    ],
)
async def test_file_names_are_only_ever_shown(server, seed_advisor, name):
    _, customer, cid = await admitted_pair(server, seed_advisor)
    status, body = await upload(customer, cid, name, b"plain text")
    assert status == 201, body
    shown = body["data"]["file"]["name"]
    assert "/" not in shown and "\\" not in shown and "\x00" not in shown and "\u202e" not in shown
    stored = [p for p in server.settings.blob_path.rglob("*") if p.is_file()]
    assert len(stored) == 1 and stored[0].is_relative_to(server.settings.blob_path)
    assert stored[0].stem == body["data"]["file"]["id"]


@pytest.mark.parametrize("settings_overrides", [{"upload_max_bytes": 300_000}])
async def test_over_the_limit_with_and_without_content_length(server, seed_advisor):
    _, customer, cid = await admitted_pair(server, seed_advisor)
    status, body = await upload(customer, cid, "big.txt", b"a" * 300_001)
    assert (status, body["error"]["code"]) == (413, "payload_too_large")

    async def stream():  # chunked: the server finds out only while reading
        for _ in range(10):
            yield b"a" * 65_536

    status, body = await upload(customer, cid, "big.txt", stream())
    assert (status, body["error"]["code"]) == (413, "payload_too_large")
    assert await leftovers(server) == (0, 0, [])
    assert (await upload(customer, cid, "ok.txt", b"a" * 300_000))[0] == 201


async def test_who_may_upload_and_download(server, seed_advisor):
    advisor, customer, cid = await admitted_pair(server, seed_advisor)
    file_id = (await upload(customer, cid, "a.pdf", PDF))[1]["data"]["file"]["id"]
    other_advisor, other_customer, _other_cid = await admitted_pair(server, seed_advisor)
    status, token_body = await advisor.http.post(f"/api/consultations/{cid}/invites", {})
    lobby = await join_customer(
        server, invite=token_body["data"]["invite"]["url"].rsplit("/", 1)[1]
    )
    anonymous = type(customer)(server.http(), None, "", "")

    for who, code in [
        (other_customer, "not_authorised"),
        (other_advisor, "not_authorised"),
        (lobby, "not_authorised"),
        (anonymous, "not_authenticated"),
    ]:
        status, body = await upload(who, cid, "x.pdf", PDF)
        assert body["error"]["code"] == code
        status, body = await who.http.get(f"/api/files/{file_id}")
        assert body["error"]["code"] == code
    assert (await leftovers(server))[0] == 1

    await advisor.http.post(f"/api/consultations/{cid}/end")
    status, body = await customer.http.get(f"/api/files/{file_id}")
    assert (status, body["error"]["code"]) == (410, "consultation_ended")
    assert (await download(advisor, file_id))[0] == 200  # the advisor keeps the record


async def test_an_aborted_upload_leaves_nothing(server, seed_advisor):
    _, customer, cid = await admitted_pair(server, seed_advisor)
    host, port = server.url.removeprefix("http://").split(":")
    token = customer.http.cookie("parley_csrf")
    _reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        (
            f"POST /api/consultations/{cid}/files?name=big.txt HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Origin: {server.url}\r\nX-CSRF-Token: {token}\r\n"
            f"Cookie: {customer.http.cookie_header()}\r\n"
            "Content-Length: 2000000\r\n\r\n"
        ).encode()
        + b"a" * 700_000
    )
    await writer.drain()
    async with asyncio.timeout(WAIT):  # wait until the server has really begun storing it
        while (await leftovers(server))[0] == 0:
            await asyncio.sleep(0.02)
    writer.close()
    async with asyncio.timeout(WAIT):
        while await leftovers(server) != (0, 0, []):
            await asyncio.sleep(0.05)


SCANNER = [
    sys.executable,
    "-c",
    "import sys; sys.exit(1 if b'EICAR' in sys.stdin.buffer.read() else 0)",
]


@pytest.mark.parametrize("settings_overrides", [{"scan_command": SCANNER}])
async def test_the_malware_scan_can_reject_an_upload(server, seed_advisor):
    advisor, customer, cid = await admitted_pair(server, seed_advisor)
    infected = (
        b"harmless text " * 30_000
        + b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE"
    )
    status, body = await upload(customer, cid, "report.txt", infected)
    assert (status, body["error"]["code"]) == (422, "file_rejected")
    assert await leftovers(server) == (0, 0, [])
    assert (await upload(customer, cid, "clean.txt", b"nothing to see"))[0] == 201
    await advisor.sock.until("chat_message", lambda m: m["kind"] == "file")
    assert len(advisor.sock.received("chat_message")) == 1


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
@pytest.mark.parametrize(
    "settings_overrides", [{"blob_store": "database", "retention_interval_seconds": 1}]
)
@pytest.mark.parametrize("server_clock", [FakeClock()], ids=["clock"])
async def test_an_upload_whose_node_died_is_swept_an_hour_later(server, seed_advisor):
    """On a shared database the nodes that run on remove what a dead node was receiving,
    once it is an hour old and so certainly dead; younger uploads are left to their node."""
    clock = server.clock
    _advisor, customer, _cid = await admitted_pair(server, seed_advisor)
    files = server.app[FILES]
    async with server.app[CORE].db.reading() as s:
        uploader = await ParticipantRepository(s).get(customer.participant_id)
    dead = await files.begin(uploader, "halb.pdf", "application/pdf")  # the dead node's
    await files.blobs.write(dead.id, 0, [b"x" * 1024] * 4)
    await files.blobs.write(dead.id, 4, [b"x" * 1024] * 6)
    assert (await leftovers(server))[:2] == (1, 10)

    clock.advance(minutes=59)
    live = await files.begin(uploader, "frisch.pdf", "application/pdf")  # being received
    await asyncio.sleep(2.5)  # two sweeps: the dead one is not an hour old yet
    assert (await leftovers(server))[:2] == (2, 10)

    clock.advance(minutes=2)
    for _ in range(int(WAIT * 10)):
        if (await leftovers(server))[:2] == (1, 0):
            break
        await asyncio.sleep(0.1)
    async with server.app[CORE].db.reading() as s:
        assert [f.id for f in await FileRepository(s).unfinished()] == [live.id]
        assert (await leftovers(server))[:2] == (1, 0)
