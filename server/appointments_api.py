"""HTTP handlers of appointments: advisors' slots, customers' bookings, calendar files."""

from __future__ import annotations

from aiohttp import web
from pydantic import TypeAdapter, ValidationError

from server.api import ID, SLUG, advisor, notice, path_param
from server.state import APPOINTMENTS
from server.web_helpers import envelope, own_origin, read_json
from signaling.errors import InviteInvalid
from signaling.protocol import BookBody, CreateSlotBody, Token, parse

routes = web.RouteTableDef()
TOKEN = TypeAdapter(Token)


def calendar_response(data: bytes, filename: str) -> web.Response:
    return web.Response(
        body=data,
        content_type="text/calendar",
        charset="utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@routes.get("/api/appointments")
async def upcoming(request: web.Request) -> web.Response:
    actor = await advisor(request)
    return envelope(await request.app[APPOINTMENTS].upcoming(actor))


@routes.post("/api/appointments/slots")
async def create_slot(request: web.Request) -> web.Response:
    actor = await advisor(request)
    body = parse(CreateSlotBody, await read_json(request))
    return envelope(await request.app[APPOINTMENTS].create_slot(actor, body), status=201)


@routes.delete("/api/appointments/slots/{slot_id}")
async def cancel_slot(request: web.Request) -> web.Response:
    actor = await advisor(request)
    slot_id = path_param(request, "slot_id", ID)
    return envelope(await request.app[APPOINTMENTS].cancel_slot(actor, slot_id))


@routes.get("/api/appointments/slots/{slot_id}/calendar.ics")
async def advisor_calendar(request: web.Request) -> web.Response:
    actor = await advisor(request)
    slot_id = path_param(request, "slot_id", ID)
    data = await request.app[APPOINTMENTS].advisor_calendar(actor, slot_id, own_origin(request))
    return calendar_response(data, "appointment.ics")


@routes.get("/api/teams/{slug}/slots")
async def free_slots(request: web.Request) -> web.Response:
    slug = path_param(request, "slug", SLUG)
    data = await request.app[APPOINTMENTS].free_slots(slug)
    return envelope({**data, "notice": notice(request)})


@routes.post("/api/bookings")
async def book(request: web.Request) -> web.Response:
    body = parse(BookBody, await read_json(request))
    data = await request.app[APPOINTMENTS].book(body, own_origin(request))
    return envelope(data, status=201)


@routes.get("/api/bookings/{token}/calendar.ics")
async def customer_calendar(request: web.Request) -> web.Response:
    try:
        token = TOKEN.validate_python(request.match_info["token"])
    except ValidationError:
        raise InviteInvalid("this appointment link is not valid") from None
    data = await request.app[APPOINTMENTS].customer_calendar(token)
    return calendar_response(data, "appointment.ics")
