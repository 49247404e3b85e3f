"""The embeddable "talk to an advisor now" button: the script a business puts on its own
website, and the public availability of a team it shows (no names, no cookies).

This is the only part of Parley another origin may read: the availability answer carries
`Access-Control-Allow-Origin: *` (and no credentials are ever accepted), the script is
served `Cross-Origin-Resource-Policy: cross-origin`. Everything else stays same-origin."""

from __future__ import annotations

import hashlib
import json
import math
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import select

from server.api import SLUG, path_param
from server.branding import branding_of
from server.checks import client_key
from server.state import CORE
from server.web_helpers import SETTINGS, envelope
from signaling.errors import LimitExceeded, NotFound
from storage.models import (
    Consultation,
    ConsultationKind,
    Participant,
    ParticipantRole,
)
from storage.repositories import ConsultationRepository, TeamRepository

routes = web.RouteTableDef()

AVAILABILITY_MAX_AGE = 15  # seconds a browser or proxy may reuse an availability answer
DEFAULT_PICKUP_SECONDS = 60  # assumed time to pick a customer up when there is no history
RECENT = timedelta(hours=24)
RECENT_PICKUPS = 20
CONFIG_MARK = '"__PARLEY_EMBED_CONFIG__"'
CORS = {"Access-Control-Allow-Origin": "*"}


class RateLimit:
    """At most `per_minute` calls per caller in any minute; callers are kept hashed."""

    def __init__(self, per_minute: int, clock: Callable[[], float]) -> None:
        self.per_minute, self.clock = per_minute, clock
        self._calls: dict[str, deque[float]] = {}

    def admit(self, caller: str) -> None:
        now = self.clock()
        for key, calls in list(self._calls.items()):
            while calls and calls[0] <= now - 60:
                calls.popleft()
            if not calls:
                del self._calls[key]
        key = hashlib.sha256(caller.encode()).hexdigest()[:32]
        calls = self._calls.setdefault(key, deque())
        if len(calls) >= self.per_minute:
            raise LimitExceeded("too many availability requests from here; try again shortly")
        calls.append(now)


AVAILABILITY_LIMIT = web.AppKey("availability_limit", RateLimit)


async def recent_pickup_seconds(request: web.Request, team_id: str, now: datetime) -> float:
    """The average time customers of the team's queue waited lately (the last pickups of the
    past day), or a modest default when there are none."""
    stmt = (
        select(Participant.waiting_since, Participant.admitted_at)
        .join(Consultation, Consultation.id == Participant.consultation_id)
        .where(
            Consultation.team_id == team_id,
            Consultation.kind == ConsultationKind.instant,
            Participant.role == ParticipantRole.customer,
            Participant.admitted_at.is_not(None),
            Participant.waiting_since.is_not(None),
            Participant.admitted_at >= now - RECENT,
        )
        .order_by(Participant.admitted_at.desc())
        .limit(RECENT_PICKUPS)
    )
    async with request.app[CORE].db.session() as s:
        rows = (await s.execute(stmt)).all()
    waits = [
        max(0.0, (admitted - since).total_seconds())
        for since, admitted in rows
        if since is not None and admitted is not None
    ]
    return sum(waits) / len(waits) if waits else float(DEFAULT_PICKUP_SECONDS)


def estimate(waiting: int, advisors: int, per_pickup: float) -> int | None:
    """A rough wait for someone joining now, rounded up to 10 s; None without advisors."""
    if advisors == 0:
        return None
    rounds = math.ceil((waiting + 1) / advisors)
    return int(math.ceil(rounds * per_pickup / 10) * 10)


@routes.get("/api/teams/{slug}/availability")
async def availability(request: web.Request) -> web.Response:
    request.app[AVAILABILITY_LIMIT].admit(client_key(request))
    slug = path_param(request, "slug", SLUG)
    core = request.app[CORE]
    async with core.db.session() as s:
        team = await TeamRepository(s).by_slug(slug)
        if team is None:
            raise NotFound("no such team")
        waiting = await ConsultationRepository(s).count_queue(team.id)
    advisors = core.presence.advisors_online(team.id)
    per_pickup = await recent_pickup_seconds(request, team.id, core.clock()) if advisors else 0
    data: dict[str, Any] = {
        "available": advisors > 0,
        "waiting": waiting,
        "wait_seconds_estimate": estimate(waiting, advisors, per_pickup),
    }
    response = envelope(data)
    response.headers.update(CORS)
    response.headers["Cache-Control"] = f"public, max-age={AVAILABILITY_MAX_AGE}"
    return response


@routes.get("/embed.js")
async def embed_script(request: web.Request) -> web.StreamResponse:
    """The button's script with the brand's name and colours filled in. The team comes from
    the script's own URL (`?team=<slug>`) or the host element's `data-team`."""
    settings = request.app[SETTINGS]
    built = settings.client_dir / "assets" / "embed.js"
    if not built.is_file():
        raise web.HTTPNotFound()
    brand = branding_of(settings)
    config = {"name": brand["name"], "colors": brand["colors"]}
    # a JS string literal holding JSON: the script JSON.parse()s it
    literal = json.dumps(json.dumps(config))
    text = built.read_text(encoding="utf-8").replace(CONFIG_MARK, literal, 1)
    return web.Response(
        text=text,
        content_type="text/javascript",
        headers={
            "Cache-Control": "public, max-age=300",
            "Cross-Origin-Resource-Policy": "cross-origin",
        },
    )
