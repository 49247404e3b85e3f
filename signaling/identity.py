"""Who a cookie belongs to. Shared by the HTTP API and the Socket.IO adapter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from signaling.rules import Actor
from storage.clock import Clock
from storage.db import Database
from storage.models import Account, Participant, Role
from storage.repositories import AuthSessionRepository, ParticipantRepository
from storage.tokens import hash_token

ADVISOR_COOKIE = "parley_session"
GUEST_COOKIE = "parley_guest"
CSRF_COOKIE = "parley_csrf"


@dataclass(frozen=True, slots=True)
class Identity:
    actor: Actor
    session_key: str  # the hash of the authenticating token
    role: str  # "advisor", "ops" or "customer"
    account: Account | None = None
    participant: Participant | None = None


def account_actor(account: Account) -> Actor:
    kind: Literal["advisor", "ops"] = "ops" if account.role == Role.ops else "advisor"
    return Actor(kind, account_id=account.id, team_id=account.team_id)


async def resolve(db: Database, clock: Clock, cookies: dict[str, str]) -> Identity | None:
    """The advisor/ops session if there is a valid one, else the guest session, else None."""
    advisor_token = cookies.get(ADVISOR_COOKIE)
    guest_token = cookies.get(GUEST_COOKIE)
    async with db.session() as s:
        if advisor_token:
            key = hash_token(advisor_token)
            account = await AuthSessionRepository(s).account_for(key, clock())
            if account is not None:
                return Identity(account_actor(account), key, str(account.role), account=account)
        if guest_token:
            key = hash_token(guest_token)
            p = await ParticipantRepository(s).by_session(key)
            if p is not None:
                actor = Actor("customer", participant_id=p.id, consultation_id=p.consultation_id)
                return Identity(actor, key, "customer", participant=p)
    return None
