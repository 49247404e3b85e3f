"""Key rotation re-wraps without touching content; destroying a data key erases a
consultation for good; a restart with the same KEK reads everything."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from aiohttp import web
from sqlalchemy import select

from server.access import runner as access_runner
from server.app import create_app
from server.state import CORE
from storage.models import ChatMessage, ConsultationKey
from tests.clients import Http
from tests.flows import admitted_pair

PDF = b"%PDF-1.4 Vertrag\n" * 100


async def consultation_with_content(server, seed_advisor):
    advisor, customer, cid = await admitted_pair(server, seed_advisor)
    await customer.sock.ok(
        "chat_send", {"consultation_id": cid, "client_id": "m-00000001", "body": "Hallo"}
    )
    status, body = await customer.http.post(f"/api/consultations/{cid}/files?name=v.pdf", data=PDF)
    assert status == 201
    return advisor, cid, body["data"]["file"]["id"]


async def read_back(url: str, advisor_http: Http, cid: str, file_id: str):
    """The chat record and the file, as the advisor reads them from the server at `url`."""
    http = Http(url)
    http.session.cookie_jar.update_cookies(
        {c.key: c.value for c in advisor_http.session.cookie_jar}
    )
    try:
        status, body = await http.get(f"/api/consultations/{cid}/chat")
        assert status == 200, body
        async with http.session.get(f"{url}/api/files/{file_id}") as resp:
            return [m["body"] for m in body["data"]["messages"]], resp.status, await resp.read()
    finally:
        await http.close()


async def second_instance(settings, clock=None):
    """The same data directory served by a fresh process state (a restart)."""
    app = create_app(settings, **({"clock": clock} if clock else {}))
    runner = access_runner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


async def keys_rows(server):
    async with server.app[CORE].db.session() as s:
        return {
            k.consultation_id: (k.kek_id, k.wrapped_dek)
            for k in (await s.scalars(select(ConsultationKey))).all()
        }


async def test_restart_and_rotation(server, seed_advisor):
    advisor, cid, file_id = await consultation_with_content(server, seed_advisor)
    before = await keys_rows(server)
    async with server.app[CORE].db.session() as s:
        sealed_before = (await s.scalars(select(ChatMessage.body_sealed))).all()
    await server.app_stop()

    runner, url = await second_instance(server.settings)
    try:
        assert await read_back(url, advisor.http, cid, file_id) == (["Hallo", ""], 200, PDF)
    finally:
        await runner.cleanup()

    command = [
        sys.executable,
        "-m",
        "server",
        "keys",
        "rotate",
        "--retire",
        "--data-dir",
        str(server.settings.data_dir),
        "--database-url",
        server.settings.db_url,
    ]
    rotated = await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, timeout=60, check=False
    )
    assert rotated.returncode == 0, rotated.stderr
    keys = sorted(p.stem for p in server.settings.key_path.glob("*.kek"))
    (old_kek,) = {kek for kek, _ in before.values()}
    assert old_kek not in keys and len(keys) == 1
    assert f"retired {old_kek}" in rotated.stdout

    runner, url = await second_instance(server.settings)
    try:
        after = await keys_rows(server)
        assert {kek for kek, _ in after.values()} == set(keys)
        assert all(after[c][1] != before[c][1] for c in before)  # every DEK re-wrapped
        async with server.app[CORE].db.session() as s:
            assert (await s.scalars(select(ChatMessage.body_sealed))).all() == sealed_before
        assert await read_back(url, advisor.http, cid, file_id) == (["Hallo", ""], 200, PDF)
    finally:
        await runner.cleanup()


async def test_destroying_the_data_key_erases_the_consultation(server, seed_advisor):
    advisor, cid, file_id = await consultation_with_content(server, seed_advisor)
    core = server.app[CORE]
    async with core.db.session() as s:
        await core.vault.shred(s, cid)
    ack = await advisor.sock.call("chat_history", {"consultation_id": cid})
    assert ack["error"]["code"] == "content_erased"
    status, body = await advisor.http.get(f"/api/files/{file_id}")
    assert (status, body["error"]["code"]) == (410, "content_erased")
    status, body = await advisor.http.get(f"/api/consultations/{cid}/chat")
    assert (status, body["error"]["code"]) == (410, "content_erased")
    assert cid not in await keys_rows(server)
