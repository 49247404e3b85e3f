"""Data-subject rights with marker names and phrases: export holds the subject's data and
nobody else's, rectification changes the name everywhere, restriction freezes content,
erasure leaves no trace; each is audited, and the customer's receipt link works alone."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
import zipfile

from sqlalchemy import func, select

from server.state import CORE
from storage import audit
from storage.models import AuditEntry, ChatMessage, Participant, StoredFile
from tests.flows import admitted_pair, join_customer


async def second_customer(server, advisor, cid):
    _status, body = await advisor.http.post(f"/api/consultations/{cid}/invites", {})
    token = body["data"]["invite"]["url"].rsplit("/", 1)[1]
    other = await join_customer(server, invite=token, first="Numbat", last="Wombatsen")
    await advisor.sock.ok(
        "lobby_admit", {"consultation_id": cid, "participant_id": other.participant_id}
    )
    await other.sock.until("lobby_state", lambda d: d["status"] == "admitted")
    await other.sock.ok("room_join", {"consultation_id": cid})
    return other


async def with_markers(server, seed_advisor):
    advisor, quokka, cid = await admitted_pair(server, seed_advisor)
    numbat = await second_customer(server, advisor, cid)
    for who, word in ((quokka, "quokka"), (numbat, "numbat")):
        await who.sock.ok(
            "chat_send",
            {"consultation_id": cid, "client_id": f"{word}-0001", "body": f"{word}-phrase"},
        )
        status, _ = await who.http.post(
            f"/api/consultations/{cid}/files?name={word}.txt", data=f"{word}-file".encode()
        )
        assert status == 201
    return advisor, quokka, numbat, cid


async def fetch_zip(client, path) -> zipfile.ZipFile:
    async with client.http.session.get(client.http.base + path) as resp:
        assert resp.status == 200, await resp.text()
        assert resp.headers["Content-Type"] == "application/zip"
        return zipfile.ZipFile(io.BytesIO(await resp.read()))


def everything(archive: zipfile.ZipFile) -> str:
    return "\n".join(archive.read(n).decode() for n in archive.namelist())


async def test_export_of_one_participant_holds_nobody_else(server, seed_advisor):
    advisor, quokka, _numbat, cid = await with_markers(server, seed_advisor)
    archive = await fetch_zip(advisor, f"/api/participants/{quokka.participant_id}/export")
    document = json.loads(archive.read("export.json"))
    assert document["subject"]["name"] == "Erika Mustermann"
    assert [m["body"] for m in document["chat_messages"] if m["kind"] == "text"] == [
        "quokka-phrase"
    ]
    text = everything(archive)
    assert "quokka-file" in text and "numbat" not in text.lower() and "Wombatsen" not in text
    whole = everything(await fetch_zip(advisor, f"/api/consultations/{cid}/export"))
    for marker in (
        "quokka-phrase",
        "numbat-phrase",
        "quokka-file",
        "numbat-file",
        "Numbat Wombatsen",
    ):
        assert marker in whole


async def test_rectification_changes_the_name_everywhere(server, seed_advisor):
    advisor, quokka, numbat, cid = await with_markers(server, seed_advisor)
    people = (await advisor.http.get(f"/api/consultations/{cid}/participants"))[1]["data"]
    assert {p["name"] for p in people["participants"]} == {
        "Anna Advisor",
        "Erika Mustermann",
        "Numbat Wombatsen",
    }
    path = f"/api/participants/{numbat.participant_id}/rectify"
    status, body = await advisor.http.post(path, {"first_name": "<b>", "last_name": "X"})
    assert (status, body["error"]["code"]) == (400, "invalid_payload")
    assert (await advisor.http.post(path, {"first_name": "Numbat", "last_name": "Wombatz"}))[
        0
    ] == 200
    transcript = (await advisor.http.get(f"/api/consultations/{cid}/chat"))[1]["data"]["messages"]
    assert {m["name"] for m in transcript if m["from"] == numbat.participant_id} == {
        "Numbat Wombatz"
    }
    history = await quokka.sock.ok("chat_history", {"consultation_id": cid})
    assert "Numbat Wombatsen" not in json.dumps(history)


async def test_restriction_freezes_content_until_lifted(server, seed_advisor):
    advisor, quokka, numbat, cid = await with_markers(server, seed_advisor)
    assert (await advisor.http.post(f"/api/consultations/{cid}/restrict"))[0] == 200
    ack = await quokka.sock.call(
        "chat_send", {"consultation_id": cid, "client_id": "quokka-0002", "body": "more"}
    )
    assert ack["error"]["code"] == "restricted"
    assert (await quokka.sock.call("chat_history", {"consultation_id": cid}))["error"][
        "code"
    ] == "restricted"
    for path in (
        f"/api/consultations/{cid}/chat",
        f"/api/consultations/{cid}/export",
        f"/api/participants/{quokka.participant_id}/export",
    ):
        status, body = await advisor.http.get(path)
        assert (status, body["error"]["code"]) == (423, "restricted"), path
    status, body = await quokka.http.post(f"/api/consultations/{cid}/files?name=x.txt", data=b"x")
    assert body["error"]["code"] == "restricted"

    out = server.settings.data_dir / "admin-export.zip"
    done = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "server",
            "gdpr",
            "export",
            "--consultation",
            cid,
            "--out",
            str(out),
            "--data-dir",
            str(server.settings.data_dir),
            "--database-url",
            server.settings.db_url,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "numbat-phrase" in everything(zipfile.ZipFile(out))  # an administrator still can

    for path, body in [
        (
            f"/api/participants/{numbat.participant_id}/rectify",
            {"first_name": "A", "last_name": "B"},
        ),
        (f"/api/participants/{numbat.participant_id}/erase", None),
        (f"/api/consultations/{cid}/erase", None),
    ]:
        status, answer = await advisor.http.post(path, body)
        assert answer["error"]["code"] in ("restricted", "invalid_state"), path
    status, answer = await advisor.http.post(
        f"/api/participants/{numbat.participant_id}/rectify", {"first_name": "A", "last_name": "B"}
    )
    assert (status, answer["error"]["code"]) == (423, "restricted")  # frozen, not corrected

    assert (await advisor.http.post(f"/api/consultations/{cid}/unrestrict"))[0] == 200
    await quokka.sock.ok(
        "chat_send", {"consultation_id": cid, "client_id": "quokka-0003", "body": "again"}
    )


async def counts(server, participant_id):
    async with server.app[CORE].db.session() as s:
        return (
            await s.scalar(
                select(func.count())
                .select_from(Participant)
                .where(Participant.id == participant_id)
            ),
            await s.scalar(
                select(func.count())
                .select_from(ChatMessage)
                .where(ChatMessage.sender_id == participant_id)
            ),
            await s.scalar(
                select(func.count())
                .select_from(StoredFile)
                .where(StoredFile.uploader_id == participant_id)
            ),
        )


async def test_erasure_of_a_participant_and_of_a_consultation(server, seed_advisor):
    advisor, quokka, numbat, cid = await with_markers(server, seed_advisor)
    path = f"/api/participants/{numbat.participant_id}/erase"
    status, body = await advisor.http.post(path)
    assert (status, body["error"]["code"]) == (409, "invalid_state")  # not while it is live
    await advisor.http.post(f"/api/consultations/{cid}/end")
    blobs_before = {p.stem for p in server.settings.blob_path.rglob("*.blob")}
    assert (await advisor.http.post(path))[0] == 200
    assert await counts(server, numbat.participant_id) == (0, 0, 0)
    assert len({p.stem for p in server.settings.blob_path.rglob("*.blob")}) == len(blobs_before) - 1
    transcript = json.dumps((await advisor.http.get(f"/api/consultations/{cid}/chat"))[1])
    assert "numbat" not in transcript.lower() and "quokka-phrase" in transcript

    assert (await advisor.http.post(f"/api/consultations/{cid}/erase"))[0] == 200
    assert list(server.settings.blob_path.rglob("*.blob")) == []
    assert await counts(server, quokka.participant_id) == (0, 0, 0)
    status, body = await advisor.http.get(f"/api/consultations/{cid}/chat")
    assert (status, body["error"]["code"]) == (410, "content_erased")

    async with server.app[CORE].db.session() as s:
        entries = (await s.scalars(select(AuditEntry).order_by(AuditEntry.seq))).all()
        assert (await audit.verify(s)).ok
    actions = [e.action for e in entries]
    assert actions.count("erased") == 2 and "privacy_notice_acknowledged" in actions
    assert "admitted" in actions
    text = " ".join(f"{e.actor} {e.subject} {e.details}" for e in entries)
    assert "Numbat" not in text and "Erika" not in text and "phrase" not in text


async def test_the_customer_receipt_link(server, seed_advisor):
    advisor, quokka, _numbat, cid = await with_markers(server, seed_advisor)
    status, body = await quokka.http.post("/api/receipt")
    assert status == 201
    path = "/api/receipt/" + body["data"]["url"].rsplit("/", 1)[1]
    stranger = server.http()
    assert (await stranger.get(path))[0] == 200
    archive = await fetch_zip(type(quokka)(stranger, None, "", ""), f"{path}/export")
    text = everything(archive)
    assert "quokka-phrase" in text and "numbat" not in text.lower()
    status, body = await stranger.post(f"{path}/erase")
    assert (status, body["error"]["code"]) == (409, "invalid_state")
    await advisor.http.post(f"/api/consultations/{cid}/end")
    assert (await stranger.post(f"{path}/erase"))[0] == 200
    assert await counts(server, quokka.participant_id) == (0, 0, 0)
    status, body = await stranger.get(path)
    assert (status, body["error"]["code"]) == (404, "receipt_invalid")
    status, body = await stranger.get("/api/receipt/" + "x" * 43)
    assert (status, body["error"]["code"]) == (404, "receipt_invalid")
