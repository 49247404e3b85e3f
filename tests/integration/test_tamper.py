"""Tampered ciphertext is detected and reported, never returned as plain text."""

from __future__ import annotations

import aiohttp
import pytest
from sqlalchemy import select, update

from server.state import CORE
from storage.models import BlobChunk, ChatMessage, Participant, StoredFile
from tests.flows import admitted_pair

BIG = b"%PDF-1.4\n" + b"0123456789abcdef" * 40_000  # 640 KB: three chunks


def flipped(data: bytes, at: int = -5) -> bytes:
    out = bytearray(data)
    out[at] ^= 0x01
    return bytes(out)


async def chat_pair(server, seed_advisor):
    advisor, customer, cid = await admitted_pair(server, seed_advisor)
    for n, body in enumerate(["erste", "zweite"], 1):
        await customer.sock.ok(
            "chat_send", {"consultation_id": cid, "client_id": f"m-0000000{n}", "body": body}
        )
    return advisor, customer, cid


async def rows(server, model, *where):
    async with server.app[CORE].db.session() as s:
        return (await s.scalars(select(model).where(*where))).all()


async def change(server, model, where, **values):
    async with server.app[CORE].db.session() as s:
        await s.execute(update(model).where(where).values(**values))


async def test_a_flipped_bit_in_a_chat_message(server, seed_advisor):
    advisor, _customer, cid = await chat_pair(server, seed_advisor)
    first = (await rows(server, ChatMessage, ChatMessage.seq == 1))[0]
    await change(
        server, ChatMessage, ChatMessage.id == first.id, body_sealed=flipped(first.body_sealed)
    )
    ack = await advisor.sock.call("chat_history", {"consultation_id": cid})
    assert ack["ok"] is False and ack["error"]["code"] == "integrity_error"
    assert "erste" not in str(ack)


async def test_a_ciphertext_copied_to_another_row(server, seed_advisor):
    advisor, _customer, cid = await chat_pair(server, seed_advisor)
    one, two = sorted(
        await rows(server, ChatMessage, ChatMessage.consultation_id == cid), key=lambda m: m.seq
    )
    await change(server, ChatMessage, ChatMessage.id == two.id, body_sealed=one.body_sealed)
    ack = await advisor.sock.call("chat_history", {"consultation_id": cid, "after_seq": 1})
    assert ack["error"]["code"] == "integrity_error"

    # a customer's sealed name pasted onto the advisor's participant row
    people = await rows(server, Participant, Participant.consultation_id == cid)
    by_role = {p.role: p for p in people}
    await change(
        server,
        Participant,
        Participant.id == by_role["advisor"].id,
        name_sealed=by_role["customer"].name_sealed,
    )
    status, body = await advisor.http.get(f"/api/consultations/{cid}/chat")
    assert (status, body["error"]["code"]) == (500, "integrity_error")
    assert "Erika" not in str(body)


async def upload(client, cid, data):
    status, body = await client.http.post(f"/api/consultations/{cid}/files?name=a.pdf", data=data)
    assert status == 201, body
    return body["data"]["file"]["id"]


async def fetch(client, file_id):
    async with client.http.session.get(f"{client.http.base}/api/files/{file_id}") as resp:
        return resp.status, await resp.read()


DB = pytest.mark.parametrize("settings_overrides", [{"blob_store": "database"}])


@DB
async def test_a_flipped_bit_in_the_first_chunk(server, seed_advisor):
    advisor, customer, cid = await admitted_pair(server, seed_advisor)
    file_id = await upload(customer, cid, BIG)
    chunk = (await rows(server, BlobChunk, BlobChunk.blob_id == file_id, BlobChunk.idx == 0))[0]
    await change(
        server,
        BlobChunk,
        (BlobChunk.blob_id == file_id) & (BlobChunk.idx == 0),
        data=flipped(chunk.data),
    )
    status, body = await fetch(advisor, file_id)
    assert status == 500 and b'"integrity_error"' in body and b"0123456789" not in body


@DB
@pytest.mark.parametrize("damage", ["flip-later-chunk", "swap-chunks", "truncate", "other-file"])
async def test_later_damage_cuts_the_download(server, seed_advisor, damage):
    advisor, customer, cid = await admitted_pair(server, seed_advisor)
    file_id = await upload(customer, cid, BIG)
    other_id = await upload(customer, cid, BIG)
    chunks = {c.idx: c.data for c in await rows(server, BlobChunk, BlobChunk.blob_id == file_id)}
    assert len(chunks) == 3
    at = (BlobChunk.blob_id == file_id) & (BlobChunk.idx == 1)
    if damage == "flip-later-chunk":
        await change(server, BlobChunk, at, data=flipped(chunks[1]))
    elif damage == "swap-chunks":
        await change(server, BlobChunk, at, data=chunks[2])
        await change(
            server, BlobChunk, (BlobChunk.blob_id == file_id) & (BlobChunk.idx == 2), data=chunks[1]
        )
    elif damage == "truncate":
        async with server.app[CORE].db.session() as s:
            await s.delete(
                (
                    await s.scalars(
                        select(BlobChunk).where(BlobChunk.blob_id == file_id, BlobChunk.idx == 2)
                    )
                ).one()
            )
    else:  # a chunk of another file with the same content at the same index
        other = (await rows(server, BlobChunk, BlobChunk.blob_id == other_id, BlobChunk.idx == 1))[
            0
        ]
        await change(server, BlobChunk, at, data=other.data)
    with pytest.raises(aiohttp.ClientPayloadError):
        await fetch(advisor, file_id)
    assert (await fetch(advisor, other_id)) == (200, BIG)  # the neighbour is untouched


async def test_a_truncated_local_blob_file(server, seed_advisor):
    advisor, customer, cid = await admitted_pair(server, seed_advisor)
    file_id = await upload(customer, cid, BIG)
    (path,) = server.settings.blob_path.rglob(f"{file_id}.blob")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 1000])
    with pytest.raises(aiohttp.ClientPayloadError):
        await fetch(advisor, file_id)
    path.write_bytes(flipped(data, 30))  # inside the first chunk
    status, body = await fetch(advisor, file_id)
    assert status == 500 and b"integrity_error" in body
    stored = (await rows(server, StoredFile, StoredFile.id == file_id))[0]
    assert stored.size == len(BIG)
