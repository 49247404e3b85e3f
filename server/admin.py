"""What an administrator does on the host: teams and accounts."""

from __future__ import annotations

import re

from signaling.errors import InvalidPayload, InvalidState, NotFound
from storage.clock import Clock
from storage.db import Database
from storage.models import Account, Role, Team
from storage.passwords import hash_password
from storage.repositories import AccountRepository, TeamRepository

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
PASSWORD_MIN = 12


async def add_team(db: Database, clock: Clock, slug: str, name: str) -> Team:
    if not SLUG.match(slug):
        raise InvalidPayload("slug: lower-case letters, digits and hyphens, at most 64")
    if not 1 <= len(name.strip()) <= 100:
        raise InvalidPayload("name: 1 to 100 characters")
    async with db.session() as s:
        teams = TeamRepository(s)
        if await teams.by_slug(slug) is not None:
            raise InvalidState(f"a team with slug {slug!r} exists already")
        return await teams.add(Team(slug=slug, name=name.strip(), created_at=clock()))


async def add_account(
    db: Database,
    clock: Clock,
    *,
    username: str,
    display_name: str,
    password: str,
    role: Role,
    team_slug: str | None = None,
) -> Account:
    if not USERNAME.match(username):
        raise InvalidPayload("username: 2 to 64 lower-case letters, digits, '.', '_' or '-'")
    if not 1 <= len(display_name.strip()) <= 100:
        raise InvalidPayload("display name: 1 to 100 characters")
    if len(password) < PASSWORD_MIN:
        raise InvalidPayload(f"password: at least {PASSWORD_MIN} characters")
    async with db.session() as s:
        team_id = None
        if team_slug is not None:
            team = await TeamRepository(s).by_slug(team_slug)
            if team is None:
                raise NotFound(f"no team with slug {team_slug!r}")
            team_id = team.id
        accounts = AccountRepository(s)
        if await accounts.by_username(username) is not None:
            raise InvalidState(f"the username {username!r} is taken")
        return await accounts.add(
            Account(
                username=username,
                display_name=display_name.strip(),
                role=role,
                team_id=team_id,
                password_hash=hash_password(password),
                created_at=clock(),
            )
        )
