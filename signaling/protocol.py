"""Payloads of every client-to-server event and HTTP body, parsed into typed objects.
Unknown fields, wrong types and out-of-range values are refused with `InvalidPayload`."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any, Literal, Self, TypeVar

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from signaling.errors import InvalidPayload

NAME_MAX = 60
SDP_MAX = 32 * 1024
CANDIDATE_MAX = 1024

Id = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
Token = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{20,128}$")]


def clean_name(value: str) -> str:
    """NFC-normalise and check a person's name: letters of any script, combining marks,
    spaces, hyphen, apostrophe, full stop; 1 to NAME_MAX characters after trimming."""
    name = " ".join(unicodedata.normalize("NFC", value).split())
    if not 1 <= len(name) <= NAME_MAX:
        raise ValueError(f"must be 1 to {NAME_MAX} characters")
    for char in name:
        if not (unicodedata.category(char)[0] in "LM" or char in " -'.\u2019"):
            raise ValueError("may contain only letters, spaces, hyphens, apostrophes and dots")
    if not any(unicodedata.category(char)[0] == "L" for char in name):
        raise ValueError("must contain a letter")
    return name


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Empty(Payload):
    pass


P = TypeVar("P", bound=Payload)


# HTTP bodies -------------------------------------------------------------------------------


class LoginBody(Payload):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class JoinBody(Payload):
    team: Slug | None = None
    invite: Token | None = None
    first_name: Annotated[str, StringConstraints(max_length=4 * NAME_MAX)]
    last_name: Annotated[str, StringConstraints(max_length=4 * NAME_MAX)]
    notice_version: Annotated[str, StringConstraints(min_length=1, max_length=32)]

    @model_validator(mode="after")
    def _check(self) -> Self:
        if (self.team is None) == (self.invite is None):
            raise ValueError("give exactly one of team or invite")
        return self

    @field_validator("first_name", "last_name")
    @classmethod
    def _name(cls, value: str) -> str:
        return clean_name(value)


class CreateConsultationBody(Payload):
    title: Annotated[str, StringConstraints(max_length=100, strip_whitespace=True)] = ""
    expires_in_hours: Annotated[int, Field(ge=1, le=720)] | None = None


class CreateInviteBody(Payload):
    expires_in_hours: Annotated[int, Field(ge=1, le=720)] | None = None


EMAIL_MAX = 254
EMAIL = re.compile(
    r"[^@\s\x00-\x1f\x7f<>,;\"]+@[^@\s\x00-\x1f\x7f<>,;\"]+\.[^@\s\x00-\x1f\x7f<>,;\"]+"
)
SLOT_MINUTES_MAX = 8 * 60


class CreateSlotBody(Payload):
    """An advisor offers a time. The start is an ISO 8601 time with its offset."""

    model_config = ConfigDict(extra="forbid", strict=False, frozen=True)
    starts_at: AwareDatetime
    duration_minutes: Annotated[int, Field(ge=5, le=SLOT_MINUTES_MAX, strict=True)]


class BookBody(Payload):
    """A customer books a free slot: a name like /api/join, an e-mail address only for a
    reminder."""

    slot_id: Id
    first_name: Annotated[str, StringConstraints(max_length=4 * NAME_MAX)]
    last_name: Annotated[str, StringConstraints(max_length=4 * NAME_MAX)]
    notice_version: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    reminder: bool = False
    email: Annotated[str, StringConstraints(max_length=EMAIL_MAX, strip_whitespace=True)] | None = (
        None
    )
    lang: Literal["de", "en"] = "de"

    @field_validator("first_name", "last_name")
    @classmethod
    def _name(cls, value: str) -> str:
        return clean_name(value)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not EMAIL.fullmatch(value):
            raise ValueError("must be an e-mail address like name@example.com")
        return value

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.reminder and self.email is None:
            raise ValueError("give an e-mail address to get a reminder")
        if not self.reminder and self.email is not None:
            raise ValueError("an e-mail address is only asked for, and kept, for a reminder")
        return self


# Socket.IO events --------------------------------------------------------------------------


class ConsultationRef(Payload):
    consultation_id: Id


class ParticipantRef(Payload):
    consultation_id: Id
    participant_id: Id


class MediaUpdate(Payload):
    consultation_id: Id
    audio: bool
    video: bool


class SessionDescription(Payload):
    type: Literal["offer", "answer", "pranswer", "rollback"]
    sdp: Annotated[str, StringConstraints(max_length=SDP_MAX)] = ""


class IceCandidate(Payload):
    candidate: Annotated[str, StringConstraints(max_length=CANDIDATE_MAX)]
    sdpMid: Annotated[str, StringConstraints(max_length=64)] | None = None
    sdpMLineIndex: Annotated[int, Field(ge=0, le=1024)] | None = None
    usernameFragment: Annotated[str, StringConstraints(max_length=256)] | None = None


class RtcSignal(Payload):
    consultation_id: Id
    to: Id
    description: SessionDescription | None = None
    candidate: IceCandidate | None = None
    end_of_candidates: bool = False

    @model_validator(mode="after")
    def _check(self) -> Self:
        given = (self.description is not None) + (self.candidate is not None)
        if given + self.end_of_candidates != 1:
            raise ValueError("give exactly one of description, candidate or end_of_candidates")
        return self

    def wire(self, sender: str) -> dict[str, Any]:
        out: dict[str, Any] = {"consultation_id": self.consultation_id, "from": sender}
        if self.description is not None:
            out["description"] = self.description.model_dump()
        elif self.candidate is not None:
            out["candidate"] = self.candidate.model_dump()
        else:
            out["candidate"] = None
        return out


CHAT_HARD_MAX = 10_000
ClientId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{8,64}$")]


class ChatSend(Payload):
    consultation_id: Id
    client_id: ClientId
    body: Annotated[str, StringConstraints(min_length=1, max_length=CHAT_HARD_MAX)]

    @field_validator("body")
    @classmethod
    def _text_only(cls, value: str) -> str:
        value = value.replace("\r\n", "\n")
        if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in value):
            raise ValueError("control characters are not allowed")
        if not value.strip():
            raise ValueError("must not be empty")
        return value


class ChatHistory(Payload):
    consultation_id: Id
    after_seq: Annotated[int, Field(ge=0)] = 0
    limit: Annotated[int, Field(ge=1, le=500)] = 200


class TranscriptQuery(Payload):
    """Query string of the advisor's transcript: numbers arrive as text."""

    model_config = ConfigDict(extra="forbid", strict=False, frozen=True)
    after_seq: Annotated[int, Field(ge=0)] = 0
    limit: Annotated[int, Field(ge=1, le=500)] = 200


# Whiteboard: Yjs bytes arrive as Socket.IO binary attachments. These are hard ceilings;
# the configured limits (signaling.core.Limits) are checked by the board itself.
BOARD_UPDATE_HARD_MAX = 16 * 1024 * 1024
STATE_VECTOR_MAX = 64 * 1024
AWARENESS_HARD_MAX = 1024 * 1024


class BoardSync(Payload):
    consultation_id: Id
    state_vector: Annotated[bytes, Field(max_length=STATE_VECTOR_MAX)]


class BoardUpdate(Payload):
    consultation_id: Id
    update: Annotated[bytes, Field(min_length=2, max_length=BOARD_UPDATE_HARD_MAX)]


class BoardAwareness(Payload):
    consultation_id: Id
    update: Annotated[bytes, Field(min_length=1, max_length=AWARENESS_HARD_MAX)]


class BoardLock(Payload):
    consultation_id: Id
    locked: bool


Metric = Annotated[float, Field(ge=0, le=1_000_000, allow_inf_nan=False)]


class PeerQuality(Payload):
    """One peer connection's health, as the browser's RTCPeerConnection.getStats() sees it."""

    model_config = ConfigDict(extra="forbid", strict=False, frozen=True)
    to: Id
    ice_state: Literal[
        "new", "checking", "connected", "completed", "failed", "disconnected", "closed"
    ]
    path: Literal["direct", "stun", "relay", "unknown"] = "unknown"
    rtt_ms: Metric | None = None
    loss_pct: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)] | None = None
    bitrate_kbps: Metric | None = None
    fps: Annotated[float, Field(ge=0, le=240, allow_inf_nan=False)] | None = None


class QualityReport(Payload):
    consultation_id: Id
    peers: Annotated[list[PeerQuality], Field(max_length=10)]


def parse(model: type[P], data: object) -> P:
    """Validate `data` into `model`, or raise InvalidPayload naming the first bad field.
    The message never echoes the value (it may be a name or content)."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InvalidPayload("payload must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "payload"
        raise InvalidPayload(f"{where}: {first['msg']}") from None
