"""What each HTTP operation is for and what it answers: the part of the OpenAPI document
(server/openapi.py) that the router and the pydantic models cannot say themselves."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from server.ops_api import HistoryQuery
from server.precall import PrecallOffer
from server.privacy_api import RectifyBody, StatsQuery
from signaling.protocol import (
    BookBody,
    CreateConsultationBody,
    CreateInviteBody,
    CreateSlotBody,
    Id,
    JoinBody,
    LoginBody,
    Slug,
    Token,
    TranscriptQuery,
)


@dataclass(frozen=True)
class Operation:
    summary: str
    tag: str
    who: str = "anyone"
    answer: str = "done"
    status: int = 200
    data: dict[str, Any] = field(default_factory=lambda: {"type": "object"})
    media_type: str = "application/json"
    enveloped: bool = True
    body: type[BaseModel] | None = None
    body_required: bool = True
    raw_body: str | None = None
    query: type[BaseModel] | None = None
    security: tuple[str, ...] = ()
    server_errors: tuple[int, ...] = ()
    responses: dict[str, Any] = field(default_factory=dict)  # further answers, by status
    operation_id: str | None = None


PATH_PARAMS: dict[str, Any] = {
    "consultation_id": Id,
    "invite_id": Id,
    "participant_id": Id,
    "file_id": Id,
    "slot_id": Id,
    "slug": Slug,
    "token": Token,
}

# -- small JSON Schema helpers ----------------------------------------------------------------

STR: dict[str, Any] = {"type": "string"}
INT: dict[str, Any] = {"type": "integer"}
NUM: dict[str, Any] = {"type": "number"}
BOOL: dict[str, Any] = {"type": "boolean"}
TIME: dict[str, Any] = {"type": ["string", "null"], "format": "date-time"}
OPT_STR: dict[str, Any] = {"type": ["string", "null"]}


def obj(required: bool = True, **props: dict[str, Any]) -> dict[str, Any]:
    """An object with these properties (all required unless `required` is False)."""
    schema: dict[str, Any] = {"type": "object", "properties": props}
    if required and props:
        schema["required"] = sorted(props)
    return schema


def array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


STATE = {"enum": ["waiting", "lobby", "active", "ended"]}
INVITE = {
    **obj(id=STR, expires_at=TIME, revoked=BOOL),
    "properties": {
        "id": STR,
        "expires_at": TIME,
        "revoked": BOOL,
        "url": STR,
    },
}
CONSULTATION = obj(
    id=STR,
    kind={"enum": ["instant", "invite"]},
    state=STATE,
    title=STR,
    created_at=TIME,
    ended_at=TIME,
    restricted=BOOL,
    erased=BOOL,
    invites=array(INVITE),
)
TEAM = obj(id=STR, slug=STR, name=STR)
ACCOUNT = obj(
    id=STR,
    username=STR,
    display_name=STR,
    role={"enum": ["advisor", "ops"]},
    team=nullable(TEAM),
)
NOTICE = obj(version=STR, text=obj(de=STR, en=STR))
FILE = obj(False, id=STR, name=STR, size=INT, content_type=STR)
CHAT_MESSAGE = obj(False, seq=INT, id=STR, kind=STR, created_at=TIME)
BRANDING = obj(
    name=STR,
    logo_url=OPT_STR,
    colors=obj(primary=STR, accent=STR),
    imprint_url=OPT_STR,
    notice=NOTICE,
)
PRECALL_REPORT = obj(
    False,
    session_id=STR,
    state=STR,
    elapsed_seconds=NUM,
    seconds_left=NUM,
    media={"type": "object"},
    rtt_ms={"type": ["number", "null"]},
    probe_messages=INT,
    path={"enum": ["host", "srflx", "relay", "none"]},
    candidates={"type": "object"},
)
STATS_GROUP = obj(
    day=STR,
    team=STR,
    consultations={"type": ["integer", "null"]},
    suppressed=BOOL,
    duration_avg={"type": ["number", "null"]},
    duration_p90={"type": ["number", "null"]},
    waiting_avg={"type": ["number", "null"]},
    waiting_p90={"type": ["number", "null"]},
)
SLOT = obj(id=STR, starts_at=TIME, ends_at=TIME)
APPOINTMENT = obj(
    id=STR,
    starts_at=TIME,
    ends_at=TIME,
    state={"enum": ["free", "booked"]},
    booking=nullable(obj(id=STR, consultation_id=STR, name=STR, url=STR, reminder=BOOL)),
)
BOOKING = obj(
    id=STR,
    starts_at=TIME,
    ends_at=TIME,
    opens_at=TIME,
    url=STR,
    calendar_url=STR,
    reminder=BOOL,
)
INVITE_FACTS = {
    **obj(consultation=obj(id=STR, state=STATE, title=STR), notice=NOTICE),
}
INVITE_FACTS["properties"] = {
    **INVITE_FACTS["properties"],
    "appointment": obj(starts_at=TIME, ends_at=TIME, opens_at=TIME, open=BOOL),
}
HTML = "the browser client (index.html); 503 text when the client is not built"
ADVISOR = ("advisorSession",)
GUEST = ("guestSession",)
ANY_SESSION = ("advisorSession", "guestSession")


def page(summary: str) -> Operation:
    return Operation(summary, "pages", answer=HTML, media_type="text/html", enveloped=False)


OPERATIONS: dict[tuple[str, str], Operation] = {
    # -- health, pages, assets --------------------------------------------------------------
    ("GET", "/healthz"): Operation(
        "Liveness", "health", data=obj(status={"const": "alive"}), operation_id="healthz"
    ),
    ("GET", "/readyz"): Operation(
        "Readiness (the database answers)",
        "health",
        data=obj(status={"const": "ready"}),
        server_errors=(503,),
        operation_id="readyz",
    ),
    ("GET", "/metrics"): Operation(
        "Prometheus metrics",
        "health",
        who="the networks in PARLEY_METRICS_NETWORKS or the bearer of PARLEY_METRICS_TOKEN",
        answer="Prometheus text format",
        media_type="text/plain",
        enveloped=False,
        operation_id="metrics",
    ),
    ("GET", "/"): page("Start page"),
    ("GET", "/login"): page("Advisor and ops login page"),
    ("GET", "/dashboard"): page("Advisor dashboard page"),
    ("GET", "/ops"): page("Ops dashboard page"),
    ("GET", "/check"): page("Pre-call check page"),
    ("GET", "/c"): page("The customer's lobby and room page"),
    ("GET", "/t/{slug}"): page("A team's instant-consultation join page"),
    ("GET", "/t/{slug}/book"): page("A team's appointment booking page"),
    ("GET", "/i/{token}"): page("An invite link's join page"),
    ("GET", "/r/{token}"): page("A customer's receipt page"),
    ("GET", "/room/{consultation_id}"): page("The advisor's room page"),
    ("GET", "/assets/{filename}"): Operation(
        "Static files of the browser client",
        "pages",
        answer="the file",
        media_type="application/octet-stream",
        enveloped=False,
        responses={"404": {"description": "no such file (an empty body)"}},
        operation_id="asset",
    ),
    ("GET", "/socket.io/"): Operation(
        "Socket.IO transport (Engine.IO handshake and websocket upgrade)",
        "realtime",
        who="a browser of Parley's own origin with a session; see docs/protocol.md",
        answer="Engine.IO packets",
        media_type="text/plain",
        enveloped=False,
        operation_id="socketio_get",
    ),
    ("POST", "/socket.io/"): Operation(
        "Socket.IO transport (Engine.IO long-polling packets)",
        "realtime",
        who="a connected Socket.IO client",
        answer="Engine.IO packets",
        media_type="text/plain",
        enveloped=False,
        raw_body="text/plain",
        operation_id="socketio_post",
    ),
    ("OPTIONS", "/socket.io/"): Operation(
        "Socket.IO transport (CORS preflight, answered for Parley's own origin only)",
        "realtime",
        answer="no content",
        media_type="text/plain",
        enveloped=False,
        operation_id="socketio_options",
    ),
    # -- branding and the embeddable button ---------------------------------------------------
    ("GET", "/api/branding"): Operation(
        "The business's name, logo, colours, privacy notice and imprint link",
        "branding",
        data=BRANDING,
        operation_id="branding",
    ),
    ("GET", "/branding.css"): Operation(
        "The brand colours as CSS variables",
        "branding",
        answer="a stylesheet",
        media_type="text/css",
        enveloped=False,
        operation_id="branding_css",
    ),
    ("GET", "/brand/logo"): Operation(
        "The logo file configured as PARLEY_BRAND_LOGO_FILE",
        "branding",
        answer="the image; 404 when none is configured",
        media_type="image/*",
        enveloped=False,
        operation_id="brand_logo",
    ),
    ("GET", "/embed.js"): Operation(
        "The script of the embeddable 'talk to an advisor now' button",
        "branding",
        who="anyone; served Cross-Origin-Resource-Policy: cross-origin",
        answer="JavaScript",
        media_type="text/javascript",
        enveloped=False,
        operation_id="embed_script",
    ),
    ("GET", "/api/teams/{slug}/availability"): Operation(
        "Whether advisors of the team are available and how long the queue is",
        "branding",
        who="anyone, from any origin (CORS *), without cookies; limited per caller and minute",
        data=obj(
            available=BOOL,
            waiting={"type": "integer", "minimum": 0},
            wait_seconds_estimate={"type": ["integer", "null"], "minimum": 0},
        ),
        operation_id="team_availability",
    ),
    ("GET", "/api/openapi.json"): Operation(
        "This document",
        "meta",
        answer="the OpenAPI 3.1 document (not wrapped in the envelope)",
        data={"type": "object", "required": ["openapi", "paths"]},
        enveloped=False,
        operation_id="openapi",
    ),
    # -- session and auth ---------------------------------------------------------------------
    ("GET", "/api/session"): Operation(
        "Who this browser is: the CSRF token, the signed-in account or the customer",
        "auth",
        data=obj(
            csrf_token=STR,
            account=nullable(ACCOUNT),
            guest=nullable(
                obj(False, participant_id=STR, consultation_id=STR, status=STR, name=STR)
            ),
        ),
        operation_id="session",
    ),
    ("POST", "/api/auth/login"): Operation(
        "Sign in (sets parley_session)",
        "auth",
        data=obj(account=ACCOUNT),
        body=LoginBody,
        operation_id="login",
    ),
    ("POST", "/api/auth/logout"): Operation(
        "Sign out and close the account's sockets",
        "auth",
        who="advisor or ops",
        security=ADVISOR,
        operation_id="logout",
    ),
    # -- consultations ------------------------------------------------------------------------
    ("GET", "/api/consultations"): Operation(
        "The advisor's own consultations, newest first",
        "consultations",
        who="advisor",
        data=obj(consultations=array(CONSULTATION)),
        security=ADVISOR,
        operation_id="list_consultations",
    ),
    ("POST", "/api/consultations"): Operation(
        "Create a consultation with its first invite link",
        "consultations",
        who="advisor",
        status=201,
        data=obj(consultation=CONSULTATION, invite=INVITE),
        body=CreateConsultationBody,
        body_required=False,
        security=ADVISOR,
        operation_id="create_consultation",
    ),
    ("POST", "/api/consultations/{consultation_id}/invites"): Operation(
        "Create another invite link",
        "consultations",
        who="the owning advisor",
        status=201,
        data=obj(invite=INVITE),
        body=CreateInviteBody,
        body_required=False,
        security=ADVISOR,
        operation_id="create_invite",
    ),
    ("DELETE", "/api/consultations/{consultation_id}/invites/{invite_id}"): Operation(
        "Revoke an invite link",
        "consultations",
        who="the owning advisor",
        data=obj(invite=INVITE),
        security=ADVISOR,
        operation_id="revoke_invite",
    ),
    ("POST", "/api/consultations/{consultation_id}/end"): Operation(
        "End a consultation for everyone",
        "consultations",
        who="the owning advisor",
        data=obj(consultation=CONSULTATION),
        security=ADVISOR,
        operation_id="end_consultation",
    ),
    ("GET", "/api/consultations/{consultation_id}/chat"): Operation(
        "The chat record of a live or past consultation",
        "consultations",
        who="the owning advisor",
        data=obj(messages=array(CHAT_MESSAGE), more=BOOL),
        query=TranscriptQuery,
        security=ADVISOR,
        operation_id="chat_transcript",
    ),
    ("GET", "/api/consultations/{consultation_id}/board"): Operation(
        "The whiteboard of a live or past consultation: its root maps as JSON and the "
        "complete Yjs update (base64)",
        "consultations",
        who="the owning advisor",
        data=obj(
            format=STR,
            document={"type": "object"},
            yjs_update_base64=STR,
        ),
        security=ADVISOR,
        operation_id="board_record",
    ),
    # -- joining ------------------------------------------------------------------------------
    ("GET", "/api/join/team/{slug}"): Operation(
        "What a customer sees before joining a team's queue",
        "join",
        data=obj(team=obj(slug=STR, name=STR), notice=NOTICE),
        operation_id="join_team_facts",
    ),
    ("GET", "/api/join/invite/{token}"): Operation(
        "What a customer sees before joining an invited consultation",
        "join",
        data=INVITE_FACTS,
        operation_id="join_invite_facts",
    ),
    ("POST", "/api/join"): Operation(
        "Join a team's queue or an invited consultation's lobby (sets parley_guest)",
        "join",
        status=201,
        data=obj(participant_id=STR, consultation_id=STR, status=STR),
        body=JoinBody,
        responses={
            "503": {
                "description": "busy: too many customers joining at this moment; nothing "
                "was done, send the same join again after Retry-After seconds",
                "headers": {"Retry-After": {"schema": INT}},
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }
        },
        operation_id="join",
    ),
    # -- appointments ---------------------------------------------------------------------
    ("GET", "/api/appointments"): Operation(
        "The advisor's slots that have not ended, soonest first, with who booked them",
        "appointments",
        who="advisor",
        data=obj(appointments=array(APPOINTMENT)),
        security=ADVISOR,
        operation_id="list_appointments",
    ),
    ("POST", "/api/appointments/slots"): Operation(
        "Offer a time for appointments",
        "appointments",
        who="advisor",
        status=201,
        data=obj(slot=APPOINTMENT),
        body=CreateSlotBody,
        security=ADVISOR,
        operation_id="create_slot",
    ),
    ("DELETE", "/api/appointments/slots/{slot_id}"): Operation(
        "Withdraw a slot nobody has booked",
        "appointments",
        who="the advisor who offered it",
        security=ADVISOR,
        operation_id="cancel_slot",
    ),
    ("GET", "/api/appointments/slots/{slot_id}/calendar.ics"): Operation(
        "The advisor's calendar file of a booked slot (RFC 5545)",
        "appointments",
        who="the advisor who offered it",
        answer="text/calendar, Content-Disposition: attachment",
        media_type="text/calendar",
        enveloped=False,
        security=ADVISOR,
        operation_id="advisor_calendar",
    ),
    ("GET", "/api/teams/{slug}/slots"): Operation(
        "A team's free slots (no names), its privacy notice, whether reminders are offered",
        "appointments",
        data=obj(team=obj(slug=STR, name=STR), slots=array(SLOT), reminders=BOOL, notice=NOTICE),
        operation_id="free_slots",
    ),
    ("POST", "/api/bookings"): Operation(
        "Book a free slot by name (an e-mail address only for a reminder)",
        "appointments",
        status=201,
        data=obj(booking=BOOKING),
        body=BookBody,
        operation_id="book",
    ),
    ("GET", "/api/bookings/{token}/calendar.ics"): Operation(
        "The customer's calendar file of their appointment (RFC 5545)",
        "appointments",
        who="the holder of the appointment's link",
        answer="text/calendar, Content-Disposition: attachment",
        media_type="text/calendar",
        enveloped=False,
        operation_id="customer_calendar",
    ),
    # -- files --------------------------------------------------------------------------------
    ("POST", "/api/consultations/{consultation_id}/files"): Operation(
        "Upload a file into the consultation (raw bytes, streamed; ?name=<file name>)",
        "files",
        who="an admitted participant or the owning advisor, in the room",
        status=201,
        data=obj(file=FILE, seq=INT),
        raw_body="application/octet-stream",
        security=ANY_SESSION,
        server_errors=(500,),
        operation_id="upload_file",
    ),
    ("GET", "/api/consultations/{consultation_id}/files"): Operation(
        "The consultation's files",
        "files",
        who="an admitted participant or the owning advisor",
        data=obj(files=array(FILE)),
        security=ANY_SESSION,
        operation_id="list_files",
    ),
    ("GET", "/api/files/{file_id}"): Operation(
        "Download a file",
        "files",
        who="an admitted participant of its consultation or the owning advisor",
        answer="the bytes, Content-Disposition: attachment",
        media_type="application/octet-stream",
        enveloped=False,
        security=ANY_SESSION,
        server_errors=(500,),
        operation_id="download_file",
    ),
    ("DELETE", "/api/files/{file_id}"): Operation(
        "Delete a file",
        "files",
        who="its uploader or the owning advisor",
        security=ANY_SESSION,
        operation_id="delete_file",
    ),
    # -- data-subject rights -----------------------------------------------------------------
    ("GET", "/api/consultations/{consultation_id}/participants"): Operation(
        "Who took part",
        "privacy",
        who="the owning advisor",
        data=obj(participants=array(obj(id=STR, role=STR, name=STR, status=STR))),
        security=ADVISOR,
        operation_id="participants",
    ),
    ("GET", "/api/consultations/{consultation_id}/export"): Operation(
        "Export a consultation as a ZIP",
        "privacy",
        who="the owning advisor",
        answer="a ZIP with export.json and files/",
        media_type="application/zip",
        enveloped=False,
        security=ADVISOR,
        operation_id="export_consultation",
    ),
    ("GET", "/api/participants/{participant_id}/export"): Operation(
        "Export one participant's record as a ZIP",
        "privacy",
        who="the owning advisor",
        answer="a ZIP",
        media_type="application/zip",
        enveloped=False,
        security=ADVISOR,
        operation_id="export_participant",
    ),
    ("POST", "/api/participants/{participant_id}/rectify"): Operation(
        "Correct a participant's name",
        "privacy",
        who="the owning advisor",
        body=RectifyBody,
        security=ADVISOR,
        operation_id="rectify",
    ),
    ("POST", "/api/participants/{participant_id}/erase"): Operation(
        "Erase a participant's data (once the consultation has ended)",
        "privacy",
        who="the owning advisor",
        security=ADVISOR,
        operation_id="erase_participant",
    ),
    ("POST", "/api/consultations/{consultation_id}/erase"): Operation(
        "Erase a consultation (destroys its data key)",
        "privacy",
        who="the owning advisor",
        security=ADVISOR,
        operation_id="erase_consultation",
    ),
    ("POST", "/api/consultations/{consultation_id}/restrict"): Operation(
        "Restrict processing of a consultation",
        "privacy",
        who="the owning advisor",
        data=obj(restricted=BOOL),
        security=ADVISOR,
        operation_id="restrict",
    ),
    ("POST", "/api/consultations/{consultation_id}/unrestrict"): Operation(
        "Lift the restriction",
        "privacy",
        who="the owning advisor",
        data=obj(restricted=BOOL),
        security=ADVISOR,
        operation_id="unrestrict",
    ),
    ("POST", "/api/receipt"): Operation(
        "A new personal receipt link for the customer",
        "privacy",
        who="a customer who took part",
        status=201,
        data=obj(url=STR),
        security=GUEST,
        operation_id="new_receipt",
    ),
    ("GET", "/api/receipt/{token}"): Operation(
        "What the receipt link is about",
        "privacy",
        who="the holder of the link",
        data=obj(consultation=obj(state=STATE, started_at=TIME, ended_at=TIME, restricted=BOOL)),
        operation_id="receipt",
    ),
    ("GET", "/api/receipt/{token}/export"): Operation(
        "The customer's own data as a ZIP",
        "privacy",
        who="the holder of the link",
        answer="a ZIP",
        media_type="application/zip",
        enveloped=False,
        operation_id="receipt_export",
    ),
    ("POST", "/api/receipt/{token}/erase"): Operation(
        "Erase the customer's data (once the consultation has ended)",
        "privacy",
        who="the holder of the link",
        operation_id="receipt_erase",
    ),
    # -- ops ----------------------------------------------------------------------------------
    ("GET", "/api/ops/stats"): Operation(
        "Anonymous statistics per day and team",
        "ops",
        who="ops",
        data=obj(groups=array(STATS_GROUP), min_group=INT),
        query=StatsQuery,
        security=ADVISOR,
        operation_id="ops_stats",
    ),
    ("GET", "/api/ops/stats.csv"): Operation(
        "The same statistics as CSV",
        "ops",
        who="ops",
        answer="CSV",
        media_type="text/csv",
        enveloped=False,
        query=StatsQuery,
        security=ADVISOR,
        operation_id="ops_stats_csv",
    ),
    ("GET", "/api/ops/consultations"): Operation(
        "Ended consultations of one day, metadata only",
        "ops",
        who="ops",
        data=obj(consultations=array({"type": "object"}), day=STR),
        query=HistoryQuery,
        security=ADVISOR,
        operation_id="ops_history",
    ),
    # -- pre-call check -----------------------------------------------------------------------
    ("GET", "/api/precall"): Operation(
        "How to run the pre-call check: data channel, time limit, ICE servers",
        "precall",
        data=obj(channel=STR, session_seconds=NUM, ice_servers=array({"type": "object"})),
        operation_id="precall_facts",
    ),
    ("POST", "/api/precall"): Operation(
        "Start a pre-call check: the server peer answers the offer and echoes media",
        "precall",
        who="anyone, limited per caller and minute and in concurrent sessions",
        status=201,
        data=obj(type={"const": "answer"}, sdp=STR, session_id=STR, expires_in=NUM),
        body=PrecallOffer,
        server_errors=(503,),
        operation_id="precall_start",
    ),
    ("GET", "/api/precall/{session_id}"): Operation(
        "The running check's report",
        "precall",
        who="the holder of the session id",
        data=PRECALL_REPORT,
        operation_id="precall_report",
    ),
    ("DELETE", "/api/precall/{session_id}"): Operation(
        "End the check; the final report",
        "precall",
        who="the holder of the session id",
        data=PRECALL_REPORT,
        operation_id="precall_end",
    ),
}
