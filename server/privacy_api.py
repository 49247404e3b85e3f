"""HTTP routes for data-subject rights (the consultation's advisor, and the customer through
a personal receipt link) and for the anonymous statistics (ops)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from aiohttp import web
from pydantic import ConfigDict, Field
from sqlalchemy import select

from server import rights
from server.api import ID, TOKEN, advisor, identity_of, path_param
from server.state import CONSULTATIONS, CORE, FILES
from server.web_helpers import SETTINGS, envelope, read_json
from signaling import rules
from signaling.core import names_of
from signaling.errors import (
    InvalidPayload,
    NotAuthenticated,
    NotAuthorised,
    ReceiptInvalid,
    Restricted,
)
from signaling.protocol import Payload, Slug, clean_name, parse
from signaling.rules import Actor
from storage import stats
from storage.models import Consultation, Participant, Role, Team
from storage.repositories import ParticipantRepository, TeamRepository
from storage.tokens import hash_token, new_token

routes = web.RouteTableDef()


class RectifyBody(Payload):
    first_name: Annotated[str, Field(max_length=240)]
    last_name: Annotated[str, Field(max_length=240)]


class StatsQuery(Payload):
    model_config = ConfigDict(extra="forbid", strict=False, frozen=True)
    start: date | None = Field(default=None, alias="from")
    end: date | None = Field(default=None, alias="to")
    team: Slug | None = None


def actor_label(actor: Actor) -> str:
    return f"{actor.kind}:{actor.account_id or actor.participant_id}"


async def zip_response(request: web.Request, filename: str, fill: Any) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={
            "Content-Type": "application/zip",
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, no-store",
        }
    )

    async def write(data: bytes) -> None:
        if not response.prepared:
            await response.prepare(request)
        if data:
            await response.write(data)

    await fill(write)
    await write(b"")
    await response.write_eof()
    return response


async def owned_consultation(
    request: web.Request, actor: Actor, consultation_id: str
) -> Consultation:
    c = await request.app[CONSULTATIONS].owned(actor, consultation_id)
    if c.erased_at is not None:
        raise web.HTTPNotFound()
    return c


async def owned_participant(request: web.Request, actor: Actor, participant_id: str) -> Participant:
    async with request.app[CORE].db.session() as s:
        p = await ParticipantRepository(s).get(participant_id)
    if p is None:
        rules.unknown(rules.check_owner, actor, None)
    await owned_consultation(request, actor, p.consultation_id)
    return p


# -- the consultation's advisor ---------------------------------------------------------


async def advisor_export(
    request: web.Request, actor: Actor, c: Consultation, **subject: str
) -> web.StreamResponse:
    """A ZIP of a consultation or of one participant in it, unless it is restricted (then
    only an administrator on the host exports it)."""
    if c.restricted_at is not None:
        raise Restricted("restricted content is exported only by an administrator")
    core, blobs = request.app[CORE], request.app[FILES].blobs
    ((kind, subject_id),) = subject.items()
    return await zip_response(
        request,
        f"{kind}-{subject_id}.zip",
        lambda write: rights.export(core, blobs, actor_label(actor), write, **subject),
    )


@routes.get("/api/consultations/{consultation_id}/export")
async def export_consultation(request: web.Request) -> web.StreamResponse:
    actor = await advisor(request)
    c = await owned_consultation(request, actor, path_param(request, "consultation_id", ID))
    return await advisor_export(request, actor, c, consultation=c.id)


@routes.get("/api/participants/{participant_id}/export")
async def export_participant(request: web.Request) -> web.StreamResponse:
    actor = await advisor(request)
    p = await owned_participant(request, actor, path_param(request, "participant_id", ID))
    c = await owned_consultation(request, actor, p.consultation_id)
    return await advisor_export(request, actor, c, participant=p.id)


@routes.get("/api/consultations/{consultation_id}/participants")
async def participants(request: web.Request) -> web.Response:
    """Who took part, for the advisor's data-subject actions (ids, roles, names, status)."""
    actor = await advisor(request)
    c = await owned_consultation(request, actor, path_param(request, "consultation_id", ID))
    if c.restricted_at is not None:
        raise Restricted("this consultation is restricted; names are not shown")
    core = request.app[CORE]
    async with core.db.session() as s:
        people = await ParticipantRepository(s).of_consultation(c.id)
        names = await names_of(core, s, people)
    return envelope(
        {
            "participants": [
                {"id": p.id, "role": str(p.role), "name": names[p.id], "status": str(p.status)}
                for p in people
            ]
        }
    )


@routes.post("/api/participants/{participant_id}/rectify")
async def rectify(request: web.Request) -> web.Response:
    actor = await advisor(request)
    p = await owned_participant(request, actor, path_param(request, "participant_id", ID))
    body = parse(RectifyBody, await read_json(request))
    try:
        first, last = clean_name(body.first_name), clean_name(body.last_name)
    except ValueError as bad:
        raise InvalidPayload(f"name: {bad}") from None
    await rights.rectify(request.app[CORE], actor_label(actor), p.id, first, last)
    return envelope({})


@routes.post("/api/participants/{participant_id}/erase")
async def erase_participant(request: web.Request) -> web.Response:
    actor = await advisor(request)
    p = await owned_participant(request, actor, path_param(request, "participant_id", ID))
    await rights.erase(
        request.app[CORE], request.app[FILES].blobs, actor_label(actor), participant=p.id
    )
    return envelope({})


@routes.post("/api/consultations/{consultation_id}/erase")
async def erase_consultation(request: web.Request) -> web.Response:
    actor = await advisor(request)
    c = await owned_consultation(request, actor, path_param(request, "consultation_id", ID))
    await rights.erase(
        request.app[CORE], request.app[FILES].blobs, actor_label(actor), consultation=c.id
    )
    return envelope({})


@routes.post("/api/consultations/{consultation_id}/restrict")
@routes.post("/api/consultations/{consultation_id}/unrestrict")
async def restrict(request: web.Request) -> web.Response:
    actor = await advisor(request)
    c = await owned_consultation(request, actor, path_param(request, "consultation_id", ID))
    on = request.path.endswith("/restrict")
    await rights.restrict(request.app[CORE], actor_label(actor), c.id, on)
    return envelope({"restricted": on})


# -- the customer's receipt link ----------------------------------------------------------


@routes.post("/api/receipt")
async def new_receipt(request: web.Request) -> web.Response:
    """A personal link for the customer: download their data or have it erased. A new link
    each time (only the latest works); shown once, kept by the customer."""
    who = await identity_of(request)
    if who is None or who.participant is None:
        raise NotAuthenticated("only a customer who took part gets a receipt")
    token = new_token()
    async with request.app[CORE].db.session() as s:
        p = await ParticipantRepository(s).get(who.participant.id)
        assert p is not None
        p.receipt_token_hash = hash_token(token)
    base = request.app[SETTINGS].public_url or ""
    return envelope({"url": f"{base}/r/{token}"}, status=201)


async def receipt_holder(request: web.Request) -> Participant:
    try:
        token = TOKEN.validate_python(request.match_info["token"])
    except ValueError:
        raise ReceiptInvalid("this receipt link is not valid") from None
    async with request.app[CORE].db.session() as s:
        p = await ParticipantRepository(s).by_receipt(hash_token(token))
    if p is None:
        raise ReceiptInvalid("this receipt link is not valid (or the data is erased already)")
    return p


@routes.get("/api/receipt/{token}")
async def receipt(request: web.Request) -> web.Response:
    p = await receipt_holder(request)
    async with request.app[CORE].db.session() as s:
        c = await s.get(Consultation, p.consultation_id)
    assert c is not None
    return envelope(
        {
            "consultation": {
                "state": str(c.state),
                "started_at": c.started_at.isoformat() if c.started_at else None,
                "ended_at": c.ended_at.isoformat() if c.ended_at else None,
                "restricted": c.restricted_at is not None,
            },
        }
    )


@routes.get("/api/receipt/{token}/export")
async def receipt_export(request: web.Request) -> web.StreamResponse:
    p = await receipt_holder(request)
    core, blobs = request.app[CORE], request.app[FILES].blobs
    async with core.db.session() as s:
        c = await s.get(Consultation, p.consultation_id)
    if c is not None and c.restricted_at is not None:
        raise Restricted("your data is restricted; ask the business to export it for you")
    return await zip_response(
        request,
        "my-parley-data.zip",
        lambda write: rights.export(core, blobs, f"customer:{p.id}", write, participant=p.id),
    )


@routes.post("/api/receipt/{token}/erase")
async def receipt_erase(request: web.Request) -> web.Response:
    p = await receipt_holder(request)
    await rights.erase(
        request.app[CORE], request.app[FILES].blobs, f"customer:{p.id}", participant=p.id
    )
    return envelope({})


# -- anonymous statistics for ops -----------------------------------------------------------


async def ops_only(request: web.Request) -> None:
    who = await identity_of(request)
    if who is None or who.account is None:
        raise NotAuthenticated("please sign in")
    if who.account.role != Role.ops:
        raise NotAuthorised("only ops accounts see statistics")


async def stats_groups(request: web.Request) -> list[stats.Group]:
    await ops_only(request)
    query = parse(StatsQuery, dict(request.query))
    core = request.app[CORE]
    today = core.clock().date()
    end = query.end or today
    start = query.start or end - timedelta(days=30)
    async with core.db.session() as s:
        team_id = None
        if query.team is not None:
            team = await TeamRepository(s).by_slug(query.team)
            if team is None:
                raise web.HTTPNotFound()
            team_id = team.id
        return await stats.aggregate(
            s,
            datetime.combine(start, datetime.min.time(), UTC),
            datetime.combine(end + timedelta(days=1), datetime.min.time(), UTC),
            team_id,
            request.app[SETTINGS].stats_min_group,
        )


GROUP_FIELDS = (
    "day",
    "team",
    "consultations",
    "suppressed",
    "duration_avg",
    "duration_p90",
    "waiting_avg",
    "waiting_p90",
)


async def group_rows(request: web.Request) -> list[dict[str, Any]]:
    """Groups as ops see them: the team by its slug; a group below the minimum size shows
    only that it is small, not how small."""
    groups = await stats_groups(request)
    async with request.app[CORE].db.session() as s:
        slugs = {t.id: t.slug for t in (await s.scalars(select(Team))).all()}
    return [
        {
            "day": str(g.day),
            "team": slugs.get(g.team_id, ""),
            "consultations": None if g.suppressed else g.consultations,
            "suppressed": g.suppressed,
            "duration_avg": g.duration_avg,
            "duration_p90": g.duration_p90,
            "waiting_avg": g.waiting_avg,
            "waiting_p90": g.waiting_p90,
        }
        for g in groups
    ]


@routes.get("/api/ops/stats")
async def ops_stats(request: web.Request) -> web.Response:
    rows = await group_rows(request)
    return envelope({"groups": rows, "min_group": request.app[SETTINGS].stats_min_group})


@routes.get("/api/ops/stats.csv")
async def ops_stats_csv(request: web.Request) -> web.Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(GROUP_FIELDS)
    for row in await group_rows(request):
        writer.writerow(["" if row[f] is None else row[f] for f in GROUP_FIELDS])
    return web.Response(
        text=out.getvalue(),
        content_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="parley-statistics.csv"'},
    )
