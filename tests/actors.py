"""Every kind of caller Parley knows, set up once on a running server, for the authorization
matrix (tests/integration/test_authz_matrix.py) and the fuzzing tests.

Two consultations: A (team X, advisor `advisor`) and B (team Y, advisor `other_advisor`).
In A: a customer still in the lobby, an admitted one, a removed one; in B: an admitted
customer (`other_customer`). Each actor has an *own* consultation (A, or B for the actors of
B) and a *foreign* one (the other). Each consultation's advisor has offered an appointment
slot that a customer booked (its advisor's calendar file, the customer's calendar link);
calls that use a slot up get a fresh one (`fresh_slot`). Requests are sent with the actor's
cookies written by hand, never through a cookie jar, so no answer (a login, a join) changes
who an actor is."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import aiohttp

from server.state import CORE
from storage.models import Role
from tests.clients import WAIT, Socket
from tests.flows import invite_consultation, join_customer, login_advisor

ACTORS = (
    "anonymous",
    "lobby_customer",
    "admitted_customer",
    "removed_customer",
    "other_customer",
    "advisor",
    "other_advisor",
    "ops",
    "admin",
    "logged_out",
)
CSRF = "matrix-csrf-token-0123456789abcdef"
MISSING_ID = "0123456789abcdef0123456789abcdef"  # well-formed, never issued


@dataclass
class Answer:
    status: int
    code: str | None  # the envelope's error code, None for a success or a non-JSON body
    body: Any = None


@dataclass
class Consultation:
    id: str
    token: str  # an invite token that stays valid
    invite_id: str
    team_slug: str
    owner: str  # the actor name of its advisor
    customer: str  # the actor name of its admitted customer
    advisor_pid: str = ""
    customer_pid: str = ""
    file_id: str = ""
    receipt: str = ""
    booked_slot: str = ""  # a slot of its advisor that a customer has booked
    booking: str = ""  # that booking's link token (the customer's calendar file)


@dataclass
class Actor:
    name: str
    cookies: dict[str, str]
    headers: dict[str, str] = field(default_factory=dict)
    own: str = "A"  # the key of the actor's own consultation
    sock: Socket | None = None

    @property
    def foreign(self) -> str:
        return "B" if self.own == "A" else "A"


@dataclass
class World:
    server: Any
    actors: dict[str, Actor]
    consultations: dict[str, Consultation]
    spare: dict[str, str]  # credentials of an account nobody else uses, for login cells
    http: aiohttp.ClientSession
    slots_offered: int = 0  # slots offered so far, so each new one starts at its own hour

    def cid(self, key: str) -> str:
        return self.consultations[key].id

    async def request(
        self,
        who: Actor,
        method: str,
        path: str,
        json: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        cookies = {"parley_csrf": CSRF, **who.cookies}
        hdrs = {
            "Origin": self.server.url,
            "X-CSRF-Token": CSRF,
            "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
            **who.headers,
            **(headers or {}),
        }
        async with self.http.request(
            method, self.server.url + path, json=json, data=data, headers=hdrs
        ) as resp:
            await resp.read()
            body: Any = None
            code = None
            if resp.content_type == "application/json":
                body = await resp.json()
                if isinstance(body, dict) and body.get("ok") is False:
                    code = body["error"]["code"]
            return Answer(resp.status, code, body)

    async def socket(self, who: Actor) -> Socket:
        sock = Socket()
        cookie = "; ".join(f"{k}={v}" for k, v in who.cookies.items())
        await sock.connect(self.server.url, cookie, self.server.url)
        self.server._closers.append(sock.close)
        return sock

    # fresh resources, for cells that use one up --------------------------------------------

    async def fresh_waiting(self, key: str) -> str:
        """A new customer in consultation `key`'s lobby; returns the participant id."""
        c = self.consultations[key]
        status, body = await self._join({"invite": c.token})
        assert status == 201, body
        return str(body["data"]["participant_id"])

    async def fresh_queue_entry(self, key: str) -> str:
        """A new instant consultation waiting in the queue of `key`'s team."""
        status, body = await self._join({"team": self.consultations[key].team_slug})
        assert status == 201, body
        return str(body["data"]["consultation_id"])

    async def fresh_admitted(self, key: str) -> str:
        pid = await self.fresh_waiting(key)
        owner = self.actors[self.consultations[key].owner]
        assert owner.sock is not None
        await owner.sock.ok(
            "lobby_admit", {"consultation_id": self.cid(key), "participant_id": pid}
        )
        return pid

    async def fresh_invite(self, key: str) -> str:
        owner = self.actors[self.consultations[key].owner]
        got = await self.request(owner, "POST", f"/api/consultations/{self.cid(key)}/invites", {})
        assert got.status == 201, got
        return str(got.body["data"]["invite"]["id"])

    async def fresh_file(self, key: str) -> str:
        c = self.consultations[key]
        got = await self.request(
            self.actors[c.customer],
            "POST",
            f"/api/consultations/{c.id}/files?name={quote('notiz.txt')}",
            data=b"Hallo\n",
        )
        assert got.status == 201, got
        return str(got.body["data"]["file"]["id"])

    def next_slot_start(self) -> str:
        """A start time in the future that no slot offered so far overlaps (slots last 30
        minutes, one an hour)."""
        self.slots_offered += 1
        now = self.server.app[CORE].clock()
        return (now + timedelta(days=2, hours=self.slots_offered)).isoformat()

    async def fresh_slot(self, key: str) -> str:
        """A new free slot offered by the advisor of consultation `key`."""
        owner = self.actors[self.consultations[key].owner]
        body = {"starts_at": self.next_slot_start(), "duration_minutes": 30}
        got = await self.request(owner, "POST", "/api/appointments/slots", body)
        assert got.status == 201, got
        return str(got.body["data"]["slot"]["id"])

    def booking_body(self, slot_id: str) -> dict[str, Any]:
        return {
            "slot_id": slot_id,
            "first_name": "Erika",
            "last_name": "Mustermann",
            "notice_version": self.server.settings.notice_version,
        }

    async def fresh_booking(self, key: str) -> tuple[str, str]:
        """A slot of `key`'s advisor, booked by a customer: (slot id, link token)."""
        slot_id = await self.fresh_slot(key)
        anonymous = Actor("anonymous", {})
        got = await self.request(anonymous, "POST", "/api/bookings", self.booking_body(slot_id))
        assert got.status == 201, got
        return slot_id, got.body["data"]["booking"]["url"].rsplit("/i/", 1)[1]

    async def _join(self, how: dict[str, str]) -> tuple[int, Any]:
        body = {
            **how,
            "first_name": "Max",
            "last_name": "Probe",
            "notice_version": self.server.settings.notice_version,
        }
        got = await self.request(Actor("anonymous", {}), "POST", "/api/join", body)
        return got.status, got.body


def jar_cookies(http: Any) -> dict[str, str]:
    return {c.key: c.value for c in http.session.cookie_jar if c.key != "parley_csrf"}


async def build_world(server: Any, seed_advisor: Any) -> World:
    """Both consultations with every kind of participant, each actor with a live socket
    where it can have one. About a second on a laptop."""
    team_x, team_y = f"x-{uuid.uuid4().hex[:6]}", f"y-{uuid.uuid4().hex[:6]}"
    adv_a = await login_advisor(server, await seed_advisor(team_x))
    adv_b = await login_advisor(server, await seed_advisor(team_y))
    ops = await login_advisor(server, await seed_advisor(role=Role.ops))
    spare = await seed_advisor(team_x)

    cid_a, token_a = await invite_consultation(adv_a)
    cid_b, token_b = await invite_consultation(adv_b)
    consultations = {
        "A": Consultation(cid_a, token_a, "", team_x, "advisor", "admitted_customer"),
        "B": Consultation(cid_b, token_b, "", team_y, "other_advisor", "other_customer"),
    }
    for key, adv in (("A", adv_a), ("B", adv_b)):
        status, body = await adv.http.get("/api/consultations")
        assert status == 200
        (mine,) = [c for c in body["data"]["consultations"] if c["id"] == consultations[key].id]
        consultations[key].invite_id = mine["invites"][0]["id"]

    async def admitted(adv: Any, cid: str, token: str) -> Any:
        customer = await join_customer(server, invite=token)
        ref = {"consultation_id": cid, "participant_id": customer.participant_id}
        await adv.sock.ok("lobby_admit", ref)
        await customer.sock.until("lobby_state", lambda d: d["status"] == "admitted")
        await customer.sock.ok("room_join", {"consultation_id": cid})
        return customer

    cust_a = await admitted(adv_a, cid_a, token_a)
    cust_b = await admitted(adv_b, cid_b, token_b)
    for key, adv in (("A", adv_a), ("B", adv_b)):
        joined = await adv.sock.ok("room_join", {"consultation_id": consultations[key].id})
        consultations[key].advisor_pid = joined["self"]["id"]
    consultations["A"].customer_pid = cust_a.participant_id
    consultations["B"].customer_pid = cust_b.participant_id

    lobby = await join_customer(server, invite=token_a, first="Lena")
    removed = await admitted(adv_a, cid_a, token_a)
    ref = {"consultation_id": cid_a, "participant_id": removed.participant_id}
    await adv_a.sock.ok("participant_remove", ref)
    await removed.sock.until("lobby_state", lambda d: d["status"] == "removed")

    gone = await login_advisor(server, await seed_advisor(team_x), connect=False)
    logged_out_cookies = jar_cookies(gone.http)
    status, _ = await gone.http.post("/api/auth/logout")
    assert status == 200

    actors = {
        "anonymous": Actor("anonymous", {}),
        "lobby_customer": Actor("lobby_customer", jar_cookies(lobby.http), sock=lobby.sock),
        "admitted_customer": Actor("admitted_customer", jar_cookies(cust_a.http), sock=cust_a.sock),
        "removed_customer": Actor("removed_customer", jar_cookies(removed.http)),
        "other_customer": Actor(
            "other_customer", jar_cookies(cust_b.http), own="B", sock=cust_b.sock
        ),
        "advisor": Actor("advisor", jar_cookies(adv_a.http), sock=adv_a.sock),
        "other_advisor": Actor("other_advisor", jar_cookies(adv_b.http), own="B", sock=adv_b.sock),
        "ops": Actor("ops", jar_cookies(ops.http), sock=ops.sock),
        # the administrator works on the host with `parley ...`: no account, no cookie, no
        # token. Whatever a caller claiming to be them sends gets them nothing.
        "admin": Actor(
            "admin",
            {"parley_session": "admin", "parley_admin": "1", "parley_guest": "admin"},
            {
                "Authorization": "Bearer admin",
                "X-Parley-Role": "admin",
                "X-Forwarded-User": "admin",
            },
        ),
        "logged_out": Actor("logged_out", logged_out_cookies),
    }
    assert set(actors) == set(ACTORS)
    assert all(len(a.cookies) for n, a in actors.items() if n != "anonymous")
    session = aiohttp.ClientSession(
        cookie_jar=aiohttp.DummyCookieJar(), timeout=aiohttp.ClientTimeout(total=WAIT * 3)
    )
    server._closers.append(session.close)
    world = World(server, actors, consultations, spare, session)
    # the removed customer's socket was closed by the server; it may connect again
    actors["removed_customer"].sock = await world.socket(actors["removed_customer"])
    for key in ("A", "B"):
        c = consultations[key]
        c.file_id = await world.fresh_file(key)
        got = await world.request(actors[c.customer], "POST", "/api/receipt")
        assert got.status == 201, got
        c.receipt = got.body["data"]["url"].rsplit("/r/", 1)[1]
        c.booked_slot, c.booking = await world.fresh_booking(key)
    return world
