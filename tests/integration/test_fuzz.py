"""Fuzzing with hypothesis against a real server: every Socket.IO event, unknown events and
every HTTP body and query string, with wrong types, unknown fields, deep nesting, huge
strings, lone surrogates, binary where text is expected and invalid UTF-8.

Every generated message is invalid by construction (an unknown field, a wrong type, a lone
surrogate, a missing field, no object at all, too large ...), so the server must refuse
each one with an error envelope, change nothing, never answer 5xx or `internal_error`, and
keep answering /healthz. `PARLEY_FUZZ_EXAMPLES` is the total number of messages (default
10,000: each hypothesis example becomes one message per event and one per HTTP body or
query route)."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from server.state import CORE
from signaling.adapter import SocketAdapter
from storage.models import Base
from tests.actors import Actor, World, build_world
from tests.integration.test_bad_input import valid_payloads

TOTAL = int(os.environ.get("PARLEY_FUZZ_EXAMPLES", "10000"))
RESERVED = {"connect", "connect_error", "disconnect", "message", "ping", "pong", "*"}
NOT_CHANGED = [t for t in Base.metadata.sorted_tables if t.name != "access_log"]

surrogates = st.characters(categories=["Cs"])  # one: a pair would be a valid character
junk_text = st.one_of(
    st.text(max_size=40),
    surrogates,
    st.builds(lambda a, s: a + s, st.text(max_size=10), surrogates),
    st.sampled_from(["", "../../etc/passwd", "\x00", "<script>", "a" * 70_000]),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    junk_text,
    st.binary(max_size=64),
)


def deep(depth: int) -> Any:
    value: Any = {}
    for i in range(depth):
        value = [value] if i % 2 else {"n": value}
    return value


values = st.one_of(
    scalars,
    st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=10,
    ),
    st.integers(min_value=20, max_value=200).map(deep),
)


def wrong(old: Any, new: Any, lone: str) -> Any:
    """A value the field cannot take: `new` if its type differs, else a lone surrogate in a
    string, else `new` wrapped in a list."""
    if (
        new is not None  # optional fields take None
        and type(new) is not type(old)
        and not (isinstance(old, int) and isinstance(new, int))
    ):
        return new
    if isinstance(old, str):
        return old[:4] + lone
    return [new]


@pytest.fixture
def settings_overrides():
    # thousands of events a second over one socket: the flood limits (tests/integration/
    # test_floods.py) would close it; here every message must reach its handler
    return {
        "events_per_second": 100_000,
        "login_failures_per_minute": 10_000,
        "token_failures_per_minute": 10_000,
    }


KINDS = ["not_object", "extra", "wrong", "missing", "surrogate"]
# one drawn case is applied to every event (or route): many messages per example
Case = tuple[str, Any, str, str, int]
case = st.tuples(
    st.sampled_from([*KINDS, "unknown_event"]),
    values,
    st.text(min_size=1, max_size=20),  # a field name or an event name
    surrogates,
    st.integers(0, 1000),  # which field
)


def socket_messages(c: Case, samples: dict[str, dict[str, Any]]) -> list[tuple[str, Any]]:
    how, value, name, lone, pick = c
    if how == "unknown_event":
        names = [name, name + lone, f"{name}_get", "x" * 300]
        return [(n, value) for n in names if n not in RESERVED and n not in SocketAdapter.EVENTS]
    out = []
    for event, valid in samples.items():
        fields = sorted(valid)
        required = [
            f for f, info in SocketAdapter.EVENTS[event].model_fields.items() if info.is_required()
        ]
        if how == "not_object" or not fields:
            # (no payload at all, None, means {} for the events that take nothing)
            payload = value if not isinstance(value, dict | None) else [value]
        elif how == "extra" or (how == "missing" and not required):
            payload = {**valid, ("_" + name if name in valid else name): value}
        elif how == "missing":
            gone = required[pick % len(required)]
            payload = {k: v for k, v in valid.items() if k != gone}
        else:
            field = fields[pick % len(fields)]
            new = lone if how == "surrogate" else value
            payload = {**valid, field: wrong(valid[field], new, lone)}
        out.append((event, payload))
    return out


BODY_ROUTES = {
    "/api/auth/login": {"username": "x", "password": "y"},
    "/api/consultations": {"title": "t"},
    "/api/consultations/{cid}/invites": {"expires_in_hours": 1},
    "/api/join": {"invite": "x" * 43, "first_name": "A", "last_name": "B", "notice_version": "1"},
    "/api/participants/{pid}/rectify": {"first_name": "A", "last_name": "B"},
    "/api/precall": {"type": "offer", "sdp": "v=0"},
}
QUERY_ROUTES = [
    "/api/consultations/{cid}/chat",
    "/api/ops/stats",
    "/api/ops/stats.csv",
    "/api/ops/consultations",
]


def encode(value: Any) -> bytes:
    import json

    try:
        return json.dumps(value, default=list).encode("utf-8", "surrogatepass")
    except (ValueError, OverflowError, RecursionError):
        return b"\xff"


def pct(value: str | bytes) -> str:
    """Percent-encoded; bytes as they are (often invalid UTF-8), lone surrogates kept."""
    raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
    return quote(raw, safe="")


def http_messages(c: Case, raw: bytes) -> list[tuple[str, str, bytes]]:
    how, value, name, lone, pick = c
    out = []
    for route in QUERY_ROUTES:  # an unknown parameter always, so no query is valid
        query = f"{pct(name)}={pct(raw)}&{pct(lone)}={pct(str(value)[:100])}"
        out.append(("GET", f"{route}?zz=1&{query}", b""))
    for route, valid in BODY_ROUTES.items():
        fields = sorted(valid)
        if how == "not_object":
            body = encode(value if not isinstance(value, dict) else [value])
        elif how in ("extra", "unknown_event"):
            body = encode({**valid, ("_" + name if name in valid else name): value})
        elif how == "missing":
            body = b"\xff" + raw  # invalid UTF-8
        elif how == "surrogate":
            body = encode({**valid, fields[pick % len(fields)]: lone})
        else:
            field = fields[pick % len(fields)]
            body = encode({**valid, field: wrong(valid[field], value, lone)})
        out.append(("POST", route, body))
    out.append(("POST", sorted(BODY_ROUTES)[pick % len(BODY_ROUTES)], b'{"a": "' + b"a" * 70_000))
    return out


def generate(
    samples: dict[str, dict[str, Any]], count: int
) -> tuple[list[tuple[str, Any]], list[tuple[str, str, bytes]]]:
    """At least `count` messages from hypothesis: each drawn case becomes one message per
    event and one per HTTP route; 70 % events, 30 % HTTP."""
    socket_out: list[tuple[str, Any]] = []
    http_out: list[tuple[str, str, bytes]] = []
    per_case = len(samples) + len(QUERY_ROUTES) + len(BODY_ROUTES) + 1

    @settings(
        max_examples=max(1, 2 * count // per_case),  # some cases make fewer messages
        database=None,
        deadline=None,
        derandomize=os.environ.get("PARLEY_FUZZ_SEED") is None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case, st.binary(max_size=64))
    def collect(c: Case, raw: bytes) -> None:
        socket_out.extend(socket_messages(c, samples))
        http_out.extend(http_messages(c, raw))

    collect()
    keep = count / (len(socket_out) + len(http_out))
    return socket_out[: int(len(socket_out) * keep) + 1], http_out[: int(len(http_out) * keep) + 1]


async def dump(server: Any) -> dict[str, list[tuple[Any, ...]]]:
    async with server.app[CORE].db.reading() as s:
        return {
            t.name: sorted(map(tuple, (await s.execute(select(t))).all()), key=repr)
            for t in NOT_CHANGED
        }


async def healthy(world: World) -> None:
    got = await world.request(Actor("anonymous", {}), "GET", "/healthz")
    assert got.status == 200, "the server stopped answering /healthz"


def short(value: Any) -> str:
    return repr(value)[:300]


async def test_fuzz_every_event_and_body(server, seed_advisor) -> None:
    started = time.monotonic()
    world = await build_world(server, seed_advisor)
    a = world.consultations["A"]
    samples = valid_payloads(a.id, a.customer_pid)
    sockets = [world.actors[n].sock for n in ("advisor", "admitted_customer", "lobby_customer")]
    http_actors = [world.actors[n] for n in ("advisor", "admitted_customer", "ops", "anonymous")]
    # generated in a thread: the event loop keeps answering the sockets' pings meanwhile
    socket_msgs, http_msgs = await asyncio.to_thread(generate, samples, TOTAL)
    generated = time.monotonic()
    print(f"generated in {generated - started:.1f} s")
    before = await dump(server)

    problems: list[str] = []
    for i, (event, payload) in enumerate(socket_msgs):
        sock = sockets[i % len(sockets)]
        assert sock is not None
        try:
            ack = await sock.call(event, payload)
        except Exception as exc:  # the connection went away: that is a failure
            raise AssertionError(f"{event} {short(payload)} broke the connection: {exc!r}") from exc
        error = ack.get("error") if isinstance(ack, dict) else None
        if (
            not isinstance(error, dict)
            or ack.get("ok") is not False
            or set(error) != {"code", "message"}
            or error["code"] == "internal_error"
        ):
            problems.append(f"{event} {short(payload)} -> {short(ack)}")
        if i % 500 == 0:
            await healthy(world)
    fills = {"{cid}": a.id, "{pid}": a.customer_pid, "{slug}": a.team_slug}
    for i, (method, route, raw) in enumerate(http_msgs):
        path = route
        for placeholder, value in fills.items():
            path = path.replace(placeholder, value)
        who = http_actors[i % len(http_actors)]
        got = await world.request(
            who, method, path, data=raw or None, headers={"Content-Type": "application/json"}
        )
        if got.status >= 500 or got.status < 400 or got.code is None:
            answer = f"{got.status} {short(got.body)}"
            problems.append(f"{method} {route} {short(raw)} as {who.name} -> {answer}")
        if i % 500 == 0:
            await healthy(world)
    await healthy(world)
    assert len(socket_msgs) + len(http_msgs) >= TOTAL
    assert not problems, f"{len(problems)} bad answers:\n" + "\n".join(problems[:30])
    assert await dump(server) == before, "stored state changed"
    # the sockets are still the same connections and still work
    assert (await sockets[0].call("dashboard_get", {}))["ok"]
    assert (await sockets[1].call("lobby_status", {}))["ok"]
    print(
        f"\nfuzz: {len(socket_msgs)} Socket.IO events + {len(http_msgs)} HTTP requests; "
        f"generated in {generated - started:.1f} s, sent in {time.monotonic() - generated:.1f} s"
    )


async def test_a_null_body_is_not_an_empty_one(server, seed_advisor) -> None:
    """Found by the fuzzer: `null` was taken for an empty body and created an invite."""
    world = await build_world(server, seed_advisor)
    before = await dump(server)
    advisor = world.actors["advisor"]
    for path in (f"/api/consultations/{world.cid('A')}/invites", "/api/consultations"):
        got = await world.request(
            advisor, "POST", path, data=b"null", headers={"Content-Type": "application/json"}
        )
        assert (got.status, got.code) == (400, "invalid_payload")
    assert await dump(server) == before
