"""What advisors do over HTTP: create consultations and invite links, list, revoke; and the
public facts a join page shows before anyone enters a name."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from signaling import rules
from signaling.core import Core, consultation_view, invite_view, iso
from signaling.errors import NotAuthorised, NotFound
from signaling.lobby import Lobby
from signaling.rules import Actor
from storage.appointments import AppointmentRepository
from storage.models import Consultation, ConsultationKind, ConsultationState, InviteLink
from storage.repositories import ConsultationRepository, InviteRepository, TeamRepository
from storage.tokens import hash_token, new_token

# teams whose join page facts are kept (each a slug and a name)
TEAM_FACTS_KEPT = 1024


class Consultations:
    def __init__(self, core: Core, lobby: Lobby) -> None:
        self.core = core
        self.lobby = lobby
        # slug -> the team's join page facts. A team's slug and name never change once it
        # exists (nothing renames or removes a team), so they are read once: every
        # customer's join page asks for them, and no one need sign in to ask.
        self._team_facts: dict[str, dict[str, Any]] = {}

    def invite_url(self, token: str) -> str:
        return f"{self.core.public_url}/i/{token}"

    async def create(self, actor: Actor, title: str, hours: int | None) -> dict[str, Any]:
        assert actor.account_id is not None and actor.team_id is not None
        if not actor.is_advisor:
            raise NotAuthorised("only advisors create consultations")
        now = self.core.clock()
        async with self.core.db.session() as s:
            c = await ConsultationRepository(s).add(
                Consultation(
                    team_id=actor.team_id,
                    advisor_id=actor.account_id,
                    kind=ConsultationKind.invite,
                    state=ConsultationState.waiting,
                    title=title,
                    created_at=now,
                )
            )
            await self.core.vault.create(s, c.id, now)
            invite, token = await self._new_invite(InviteRepository(s), c, actor, hours)
        return {
            "consultation": consultation_view(c, [invite]),
            "invite": invite_view(invite, self.invite_url(token)),
        }

    async def _new_invite(
        self, invites: InviteRepository, c: Consultation, actor: Actor, hours: int | None
    ) -> tuple[InviteLink, str]:
        assert actor.account_id is not None
        now = self.core.clock()
        token = new_token()
        invite = await invites.add(
            InviteLink(
                consultation_id=c.id,
                token_hash=hash_token(token),
                created_by=actor.account_id,
                created_at=now,
                expires_at=now + timedelta(hours=hours or self.core.limits.invite_hours),
            )
        )
        return invite, token

    async def owned(self, actor: Actor, consultation_id: str) -> Consultation:
        """A consultation the actor owns, or a refusal."""
        async with self.core.db.reading() as s:
            return await self._owned(s, actor, consultation_id)

    async def _owned(self, s: Any, actor: Actor, consultation_id: str) -> Consultation:
        c = await ConsultationRepository(s).get(consultation_id)
        if c is None:
            rules.unknown(rules.check_owner, actor, None)
        rules.check_owner(actor, c.advisor_id)
        return c

    async def add_invite(
        self, actor: Actor, consultation_id: str, hours: int | None
    ) -> dict[str, Any]:
        async with self.core.db.session() as s:
            c = await self._owned(s, actor, consultation_id)
            rules.check_open(c.state)
            invite, token = await self._new_invite(InviteRepository(s), c, actor, hours)
        return {"invite": invite_view(invite, self.invite_url(token))}

    async def revoke_invite(
        self, actor: Actor, consultation_id: str, invite_id: str
    ) -> dict[str, Any]:
        async with self.core.db.session() as s:
            c = await self._owned(s, actor, consultation_id)
            invite = await InviteRepository(s).get(invite_id)
            if invite is None or invite.consultation_id != c.id:
                raise NotFound("no such invite link")
            invite.revoked_at = invite.revoked_at or self.core.clock()
        return {"invite": invite_view(invite)}

    async def of_advisor(self, actor: Actor) -> dict[str, Any]:
        if not actor.is_advisor or actor.account_id is None:
            raise NotAuthorised("only advisors have consultations")
        async with self.core.db.reading() as s:
            own = await ConsultationRepository(s).of_advisor(actor.account_id)
            invites = await InviteRepository(s).of_consultations([c.id for c in own])
        return {
            "consultations": [
                consultation_view(c, [i for i in invites if i.consultation_id == c.id]) for c in own
            ]
        }

    async def team_facts(self, slug: str) -> dict[str, Any]:
        known = self._team_facts.get(slug)
        if known is not None:
            return known
        async with self.core.db.reading() as s:
            team = await TeamRepository(s).by_slug(slug)
        if team is None:  # not kept: a team made later is found at once
            raise NotFound("no such team")
        if len(self._team_facts) >= TEAM_FACTS_KEPT:
            self._team_facts.clear()
        facts = {"team": {"slug": team.slug, "name": team.name}}
        self._team_facts[slug] = facts
        return facts

    async def invite_facts(self, token: str) -> dict[str, Any]:
        """What the join page shows; for an appointment also when its lobby opens (the page
        says so before then, and joining is refused until then)."""
        async with self.core.db.reading() as s:
            invite = await self.lobby.valid_invite(InviteRepository(s), token, early=True)
            c = await ConsultationRepository(s).get(invite.consultation_id)
            slots = await AppointmentRepository(s).bookings_of(invite.consultation_id)
        if c is None:
            raise NotFound("no such consultation")
        rules.check_open(c.state)
        data: dict[str, Any] = {
            "consultation": {"id": c.id, "state": str(c.state), "title": c.title}
        }
        if slots and invite.not_before is not None:
            _, slot = slots[0]
            data["appointment"] = {
                "starts_at": iso(slot.starts_at),
                "ends_at": iso(slot.ends_at),
                "opens_at": iso(invite.not_before),
                "open": self.core.clock() >= invite.not_before,
            }
        return data
