"""Who a cookie belongs to. Shared by the HTTP API and the Socket.IO adapter."""

from __future__ import annotations

import functools
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from signaling.rules import Actor
from storage.clock import Clock
from storage.db import Database
from storage.models import Account, Role
from storage.repositories import AuthSessionRepository, Guest, guests_by_sessions
from storage.tokens import hash_token

ADVISOR_COOKIE = "parley_session"
GUEST_COOKIE = "parley_guest"
CSRF_COOKIE = "parley_csrf"
# Under TLS every cookie carries the `__Host-` prefix: the browser then accepts it only
# from a secure origin, with `Path=/` and without `Domain`, so no sibling host or plain-http
# page can plant or overwrite one. Exactly one set of names is accepted per deployment.
HOST_PREFIX = "__Host-"


@dataclass(frozen=True, slots=True)
class CookieNames:
    advisor: str
    guest: str
    csrf: str


PLAIN_COOKIES = CookieNames(ADVISOR_COOKIE, GUEST_COOKIE, CSRF_COOKIE)
TLS_COOKIES = CookieNames(
    HOST_PREFIX + ADVISOR_COOKIE, HOST_PREFIX + GUEST_COOKIE, HOST_PREFIX + CSRF_COOKIE
)


def cookie_names(tls: bool) -> CookieNames:
    return TLS_COOKIES if tls else PLAIN_COOKIES


@dataclass(frozen=True, slots=True)
class Identity:
    actor: Actor
    session_key: str  # the hash of the authenticating token
    role: str  # "advisor", "ops" or "customer"
    account: Account | None = None
    participant: Guest | None = None
    valid_until: datetime | None = None  # when the session ends unless it is used again
    seen_at: datetime | None = None  # advisor/ops: the last use the database knows of
    expires_at: datetime | None = None  # advisor/ops: the absolute end, set at login

    def bare(self) -> Identity:
        """Without the rows it was read from: what a connection keeps for its lifetime.
        (An ORM object per socket was about a kilobyte of each idle connection.)"""
        return replace(self, account=None, participant=None)


def account_actor(account: Account) -> Actor:
    kind: Literal["advisor", "ops"] = "ops" if account.role == Role.ops else "advisor"
    return Actor(kind, account_id=account.id, team_id=account.team_id)


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """How long sessions last. Advisor and ops sessions end `idle` after their last use
    (sliding; the database is told at most once per `touch_every`) and at the latest at
    their absolute expiry (set at login). A guest session lets a dropped customer rejoin: it
    ends `guest_after_end` after its consultation ended, and `guest_max` after joining at
    the latest; removal and erasure end it at once (the participant loses the token)."""

    idle: timedelta = timedelta(minutes=60)
    guest_max: timedelta = timedelta(hours=12)
    guest_after_end: timedelta = timedelta(minutes=10)
    touch_every: timedelta = timedelta(minutes=1)


def guest_deadline(g: Guest, policy: SessionPolicy) -> datetime:
    deadline = g.created_at + policy.guest_max
    if g.ended_at is not None:
        deadline = min(deadline, g.ended_at + policy.guest_after_end)
    return deadline


async def resolve(
    db: Database,
    clock: Clock,
    cookies: dict[str, str],
    names: CookieNames = PLAIN_COOKIES,
    policy: SessionPolicy = SessionPolicy(),
) -> Identity | None:
    """The advisor/ops session if there is a valid one, else the guest session, else None.
    A use of an advisor/ops session slides its idle timeout."""
    advisor_token = cookies.get(names.advisor)
    guest_token = cookies.get(names.guest)
    if advisor_token:
        key = hash_token(advisor_token)
        valid = await still_valid(db, clock(), policy, accounts=[key])
        if key in valid:
            return await touch(db, clock(), valid[key], policy)
    if guest_token:
        key = hash_token(guest_token)
        valid = await still_valid(db, clock(), policy, guests=[key])
        if key in valid:
            return valid[key]
    return None


async def still_valid(
    db: Database,
    now: datetime,
    policy: SessionPolicy,
    *,
    accounts: Collection[str] = (),
    guests: Collection[str] = (),
) -> dict[str, Identity]:
    """Of these session keys (hashes of advisor/ops tokens in `accounts`, of guest tokens
    in `guests`), the ones still valid now, with whom they identify. One query per kind
    asked for, however many keys (the periodic sweep asks for every live socket at once);
    a customer's connect asks only the participants."""
    found: dict[str, Identity] = {}
    if accounts:
        async with db.reading() as s:
            sessions = await AuthSessionRepository(s).active(accounts, now, policy.idle)
        for session, account in sessions:
            seen = session.last_seen_at or session.created_at
            until = min(session.expires_at, seen + policy.idle)
            found[session.token_hash] = Identity(
                account_actor(account),
                session.token_hash,
                str(account.role),
                account=account,
                valid_until=until,
                seen_at=seen,
                expires_at=session.expires_at,
            )
    # a plain unit of one query: every customer's connect asks
    for g in await db.run_reading(functools.partial(guests_by_sessions, guests)) if guests else []:
        until = guest_deadline(g, policy)
        if now < until:
            actor = Actor("customer", participant_id=g.id, consultation_id=g.consultation_id)
            found[g.session_token_hash] = Identity(
                actor, g.session_token_hash, "customer", participant=g, valid_until=until
            )
    return found


async def touch(db: Database, now: datetime, who: Identity, policy: SessionPolicy) -> Identity:
    """Slide an advisor/ops session's idle timeout, writing at most once per `touch_every`."""
    if who.seen_at is None or now - who.seen_at < policy.touch_every:  # seen_at: accounts
        return who
    async with db.session() as s:
        await AuthSessionRepository(s).touch(who.session_key, now)
    assert who.expires_at is not None
    return replace(who, seen_at=now, valid_until=min(who.expires_at, now + policy.idle))
