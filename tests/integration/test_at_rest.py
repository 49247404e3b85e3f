"""Nothing a participant says, shares or is called is readable at rest: marker strings are
written through the real server, then looked for in the raw bytes."""

from __future__ import annotations

from urllib.parse import quote

import asyncpg
import pytest

from tests.flows import invite_consultation, join_customer, login_advisor

MARKERS = ("quokka", "wombatprufung", "numbat")


async def fill_with_markers(server, seed_advisor) -> str:
    # (the advisor's own display name is account data, kept in the clear like the username)
    advisor = await login_advisor(server, await seed_advisor())
    cid, token = await invite_consultation(advisor)
    customer = await join_customer(server, invite=token, first="Quokka", last="Wombatprufung")
    await advisor.sock.ok(
        "lobby_admit", {"consultation_id": cid, "participant_id": customer.participant_id}
    )
    await advisor.sock.ok("room_join", {"consultation_id": cid})
    await customer.sock.ok("room_join", {"consultation_id": cid})
    await customer.sock.ok(
        "chat_send",
        {
            "consultation_id": cid,
            "client_id": "m-00000001",
            "body": "my quokka policy number is WOMBATPRUFUNG-4711",
        },
    )
    for name, data in [
        ("quokka-notes.txt", b"numbat and quokka " * 40_000),
        ("Wombatprufung.pdf", b"%PDF-1.4 quokka numbat " * 100),
    ]:
        status, body = await customer.http.post(
            f"/api/consultations/{cid}/files?name={quote(name)}", data=data
        )
        assert status == 201, body
    await server.app_stop()
    return cid


def assert_no_marker(blob: bytes, where: str) -> None:
    lowered = blob.lower()
    for marker in MARKERS:
        assert marker.encode() not in lowered, f"{marker!r} found in {where}"
        assert marker.encode("utf-16-le") not in lowered, f"{marker!r} (UTF-16) found in {where}"


@pytest.mark.parametrize("settings_overrides", [{"blob_store": "local"}])
async def test_sqlite_file_and_blob_directory_hold_no_marker(server, seed_advisor, tmp_path):
    await fill_with_markers(server, seed_advisor)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "parley.db" for p in files)
    assert any(p.suffix == ".blob" for p in files)
    for path in files:
        assert_no_marker(path.read_bytes(), str(path.relative_to(tmp_path)))


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
@pytest.mark.parametrize("settings_overrides", [{"blob_store": "database"}])
async def test_postgres_tables_hold_no_marker(server, seed_advisor, database_url, tmp_path):
    await fill_with_markers(server, seed_advisor)
    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        tables = [
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        assert {"participants", "chat_messages", "files", "blob_chunks"} <= set(tables)
        for table in tables:
            for row in await conn.fetch(f'SELECT * FROM "{table}"'):  # noqa: S608 - our tables
                for value in row.values():
                    data = value if isinstance(value, bytes) else str(value).encode()
                    assert_no_marker(data, f"{table}")
    finally:
        await conn.close()
    for path in (p for p in tmp_path.rglob("*") if p.is_file()):
        assert_no_marker(path.read_bytes(), str(path))
