"""HTTP API handlers. Each one parses its input at the edge and calls the core."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web
from pydantic import TypeAdapter, ValidationError

from server.state import (
    BOARDS,
    CHAT,
    CLUSTER,
    CONSULTATIONS,
    CORE,
    DRAINING,
    LOBBY,
    NOTIFIER,
    ROOM,
)
from server.web_helpers import SETTINGS, cookies, csrf_token, envelope, read_json, set_cookie
from signaling.core import consultation_view, names_of
from signaling.errors import (
    InvalidCredentials,
    InviteInvalid,
    NotAuthenticated,
    NotAuthorised,
    NotReady,
)
from signaling.identity import Identity, resolve
from signaling.protocol import (
    CreateConsultationBody,
    CreateInviteBody,
    Id,
    JoinBody,
    LoginBody,
    Slug,
    Token,
    TranscriptQuery,
    parse,
)
from signaling.rules import Actor
from storage.models import Account, AuthSession, ParticipantStatus, Team
from storage.passwords import verify_password
from storage.repositories import AccountRepository, AuthSessionRepository, TeamRepository
from storage.tokens import hash_token, new_token

routes = web.RouteTableDef()


async def identity_of(request: web.Request) -> Identity | None:
    core = request.app[CORE]
    return await resolve(
        core.db, core.clock, dict(request.cookies), cookies(request), core.sessions
    )


async def advisor(request: web.Request) -> Actor:
    who = await identity_of(request)
    if who is None or who.account is None:
        raise NotAuthenticated("please sign in")
    if not who.actor.is_advisor:
        raise NotAuthorised("only advisors may do this")
    return who.actor


ID = TypeAdapter(Id)
SLUG = TypeAdapter(Slug)
TOKEN = TypeAdapter(Token)


def path_param(request: web.Request, name: str, kind: TypeAdapter[str]) -> str:
    """A path segment of the expected shape, or a plain 404 (never an echo of the value)."""
    try:
        return kind.validate_python(request.match_info[name])
    except ValidationError:
        raise web.HTTPNotFound() from None


def account_view(account: Account, team: Team | None) -> dict[str, Any]:
    return {
        "id": account.id,
        "username": account.username,
        "display_name": account.display_name,
        "role": str(account.role),
        "team": {"id": team.id, "slug": team.slug, "name": team.name} if team else None,
    }


async def team_of(request: web.Request, account: Account) -> Team | None:
    if account.team_id is None:
        return None
    async with request.app[CORE].db.session() as s:
        return await TeamRepository(s).get(account.team_id)


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return envelope({"status": "alive"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    try:
        await request.app[CORE].db.ping()
    except Exception:
        raise NotReady("the database is not reachable") from None
    if request.app[DRAINING].is_set():
        raise NotReady("this node is stopping; its clients move to another")
    cluster = request.app.get(CLUSTER)
    if cluster is not None:
        try:
            await cluster.ping()
        except Exception:
            raise NotReady("Redis is not reachable") from None
        if not cluster.ready:
            raise NotReady("not yet hearing the other nodes through Redis") from None
    return envelope({"status": "ready"})


@routes.get("/api/session")
async def session(request: web.Request) -> web.Response:
    who = await identity_of(request)
    data: dict[str, Any] = {"csrf_token": csrf_token(request), "account": None, "guest": None}
    if who is not None and who.account is not None:
        data["account"] = account_view(who.account, await team_of(request, who.account))
    elif who is not None and who.participant is not None:
        core = request.app[CORE]
        status = await request.app[LOBBY].status(who.actor)
        async with core.db.reading() as s:
            names = await names_of(core, s, [who.participant])
        data["guest"] = {**status, "name": names[who.participant.id]}
    return envelope(data)


@routes.post("/api/auth/login")
async def login(request: web.Request) -> web.Response:
    body = parse(LoginBody, await read_json(request))
    core = request.app[CORE]
    now = core.clock()
    token = new_token()
    async with core.db.session() as s:
        account = await AccountRepository(s).by_username(body.username)
        ok = verify_password(account.password_hash if account else None, body.password)
        if account is None or not ok or account.disabled:
            raise InvalidCredentials("wrong username or password")
        sessions = AuthSessionRepository(s)
        old = request.cookies.get(cookies(request).advisor)
        if old:
            await sessions.remove(hash_token(old))  # a fresh token on every login
        await sessions.remove_expired(now, core.sessions.idle)
        hours = request.app[SETTINGS].advisor_session_hours
        await sessions.add(
            AuthSession(
                token_hash=hash_token(token),
                account_id=account.id,
                created_at=now,
                expires_at=now + timedelta(hours=hours),
            )
        )
    response = envelope({"account": account_view(account, await team_of(request, account))})
    set_cookie(request, response, cookies(request).advisor, token, max_age=hours * 3600)
    return response


@routes.post("/api/auth/logout")
async def logout(request: web.Request) -> web.Response:
    who = await identity_of(request)
    if who is None or who.account is None:
        raise NotAuthenticated("not signed in")
    async with request.app[CORE].db.session() as s:
        await AuthSessionRepository(s).remove(who.session_key)
    sids = request.app[CORE].presence.sids_of_session(who.session_key)
    await request.app[NOTIFIER].close(sids, "logout")
    response = envelope({})
    # with the attributes it was set with: a `__Host-` cookie is only replaced by a Secure one
    set_cookie(request, response, cookies(request).advisor, "", max_age=0)
    return response


@routes.get("/api/consultations")
async def list_consultations(request: web.Request) -> web.Response:
    return envelope(await request.app[CONSULTATIONS].of_advisor(await advisor(request)))


@routes.post("/api/consultations")
async def create_consultation(request: web.Request) -> web.Response:
    actor = await advisor(request)
    body = parse(CreateConsultationBody, await read_json(request))
    data = await request.app[CONSULTATIONS].create(actor, body.title, body.expires_in_hours)
    return envelope(data, status=201)


@routes.post("/api/consultations/{consultation_id}/invites")
async def create_invite(request: web.Request) -> web.Response:
    actor = await advisor(request)
    consultation_id = path_param(request, "consultation_id", ID)
    body = parse(CreateInviteBody, await read_json(request))
    data = await request.app[CONSULTATIONS].add_invite(
        actor, consultation_id, body.expires_in_hours
    )
    return envelope(data, status=201)


@routes.delete("/api/consultations/{consultation_id}/invites/{invite_id}")
async def revoke_invite(request: web.Request) -> web.Response:
    actor = await advisor(request)
    consultation_id = path_param(request, "consultation_id", ID)
    invite_id = path_param(request, "invite_id", ID)
    return envelope(
        await request.app[CONSULTATIONS].revoke_invite(actor, consultation_id, invite_id)
    )


@routes.post("/api/consultations/{consultation_id}/end")
async def end_consultation(request: web.Request) -> web.Response:
    actor = await advisor(request)
    consultation_id = path_param(request, "consultation_id", ID)
    c = await request.app[ROOM].end(actor, consultation_id)
    return envelope({"consultation": consultation_view(c)})


@routes.get("/api/consultations/{consultation_id}/chat")
async def chat_transcript(request: web.Request) -> web.Response:
    """The advisor reads back a consultation's chat, live or past."""
    actor = await advisor(request)
    consultation_id = path_param(request, "consultation_id", ID)
    query = parse(TranscriptQuery, dict(request.query))
    await request.app[CONSULTATIONS].owned(actor, consultation_id)
    data = await request.app[CHAT].transcript(consultation_id, query.after_seq, query.limit)
    return envelope(data)


@routes.get("/api/consultations/{consultation_id}/board")
async def board_record(request: web.Request) -> web.Response:
    """The advisor reads back a consultation's whiteboard, live or past."""
    actor = await advisor(request)
    consultation_id = path_param(request, "consultation_id", ID)
    await request.app[CONSULTATIONS].owned(actor, consultation_id)
    return envelope(await request.app[BOARDS].store.record(consultation_id))


def notice(request: web.Request) -> dict[str, Any]:
    settings = request.app[SETTINGS]
    text = {"de": settings.notice_de, "en": settings.notice_en}
    return {"version": settings.notice_version, "text": text}


@routes.get("/api/join/team/{slug}")
async def join_team_facts(request: web.Request) -> web.Response:
    slug = path_param(request, "slug", SLUG)
    data = await request.app[CONSULTATIONS].team_facts(slug)
    return envelope({**data, "notice": notice(request)})


@routes.get("/api/join/invite/{token}")
async def join_invite_facts(request: web.Request) -> web.Response:
    try:
        token = TOKEN.validate_python(request.match_info["token"])
    except ValidationError:
        raise InviteInvalid(
            "this invite link is not valid; ask your advisor for a new one"
        ) from None
    data = await request.app[CONSULTATIONS].invite_facts(token)
    return envelope({**data, "notice": notice(request)})


@routes.post("/api/join")
async def join(request: web.Request) -> web.Response:
    body = parse(JoinBody, await read_json(request))
    joined, token = await request.app[LOBBY].join(body)
    response = envelope(
        {
            "participant_id": joined.participant_id,
            "consultation_id": joined.consultation_id,
            "status": str(ParticipantStatus.waiting),
        },
        status=201,
    )
    set_cookie(request, response, cookies(request).guest, token)
    return response
