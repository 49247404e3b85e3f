"""The steps of a consultation, as a browser would take them, for reuse across tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.clients import Http, Socket


@dataclass
class Advisor:
    http: Http
    sock: Socket
    account: dict[str, Any]


@dataclass
class Customer:
    http: Http
    sock: Socket
    participant_id: str
    consultation_id: str


async def login_advisor(server: Any, seed: dict[str, str], connect: bool = True) -> Advisor:
    http = server.http()
    status, body = await http.post(
        "/api/auth/login", {"username": seed["username"], "password": seed["password"]}
    )
    assert status == 200, body
    sock = await server.socket(http) if connect else None
    return Advisor(http, sock, body["data"]["account"])  # type: ignore[arg-type]


async def join_customer(
    server: Any,
    *,
    team: str | None = None,
    invite: str | None = None,
    first: str = "Erika",
    last: str = "Mustermann",
) -> Customer:
    http = server.http()
    body: dict[str, Any] = {
        "first_name": first,
        "last_name": last,
        "notice_version": server.settings.notice_version,
    }
    body.update({"team": team} if team else {"invite": invite})
    status, answer = await http.post("/api/join", body)
    assert status == 201, answer
    data = answer["data"]
    sock = await server.socket(http)
    return Customer(http, sock, data["participant_id"], data["consultation_id"])


def token_of(invite_url: str) -> str:
    return invite_url.rsplit("/i/", 1)[1]


async def invite_consultation(advisor: Advisor) -> tuple[str, str]:
    status, body = await advisor.http.post("/api/consultations", {"title": "Hausrat"})
    assert status == 201, body
    return body["data"]["consultation"]["id"], token_of(body["data"]["invite"]["url"])


async def admitted_pair(server: Any, seed_advisor: Any) -> tuple[Advisor, Customer, str]:
    """An advisor and a customer, both in the room of an invite consultation."""
    advisor = await login_advisor(server, await seed_advisor())
    cid, token = await invite_consultation(advisor)
    customer = await join_customer(server, invite=token)
    await advisor.sock.ok(
        "lobby_admit", {"consultation_id": cid, "participant_id": customer.participant_id}
    )
    await customer.sock.until("lobby_state", lambda d: d["status"] == "admitted")
    await advisor.sock.ok("room_join", {"consultation_id": cid})
    await customer.sock.ok("room_join", {"consultation_id": cid})
    return advisor, customer, cid
