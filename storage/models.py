"""SQLAlchemy models. No relationships yet; add them `lazy="raise"` so async lazy loads fail."""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    pass


class Role(enum.StrEnum):
    advisor = "advisor"
    ops = "ops"


class ConsultationKind(enum.StrEnum):
    instant = "instant"
    invite = "invite"


class ConsultationState(enum.StrEnum):
    waiting = "waiting"
    lobby = "lobby"
    active = "active"
    ended = "ended"


class ParticipantRole(enum.StrEnum):
    advisor = "advisor"
    customer = "customer"


class ParticipantStatus(enum.StrEnum):
    waiting = "waiting"
    admitted = "admitted"
    refused = "refused"
    removed = "removed"
    left = "left"


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=16, validate_strings=True)


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[Role] = mapped_column(_enum(Role))
    team_id: Mapped[str | None] = mapped_column(ForeignKey("teams.id"), default=None)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    disabled: Mapped[bool] = mapped_column(default=False)


class AuthSession(Base):
    """An advisor or ops login. Only the SHA-256 of the cookie token is stored."""

    __tablename__ = "auth_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # last use, for the idle timeout; updated at most once a minute (None: not since login)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class Consultation(Base):
    __tablename__ = "consultations"
    __table_args__ = (Index("ix_consultations_team_state", "team_id", "state"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"))
    advisor_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"), default=None)
    kind: Mapped[ConsultationKind] = mapped_column(_enum(ConsultationKind))
    state: Mapped[ConsultationState] = mapped_column(_enum(ConsultationState))
    title: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # the last chat sequence number handed out; incremented in the database, never in memory
    chat_seq: Mapped[int] = mapped_column(default=0)
    # the last whiteboard update number handed out; likewise counted in the database
    board_seq: Mapped[int] = mapped_column(default=0, server_default="0")
    # the advisor made the whiteboard view-only for customers
    board_locked: Mapped[bool] = mapped_column(default=False, server_default=false())
    # features seen in use, comma-separated ("audio,chat,..."), for anonymous statistics
    features: Mapped[str] = mapped_column(String(200), default="")
    stats_recorded: Mapped[bool] = mapped_column(default=False)
    # data-subject rights and retention
    restricted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    legal_hold: Mapped[bool] = mapped_column(default=False)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class ConsultationKey(Base):
    """A consultation's data key, wrapped by a key-encryption key. Deleting this row
    crypto-shreds everything sealed under it."""

    __tablename__ = "consultation_keys"

    consultation_id: Mapped[str] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), primary_key=True
    )
    kek_id: Mapped[str] = mapped_column(String(32), index=True)
    wrapped_dek: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Participant(Base):
    __tablename__ = "participants"
    __table_args__ = (Index("ix_participants_consultation", "consultation_id", "status"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    consultation_id: Mapped[str] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"))
    role: Mapped[ParticipantRole] = mapped_column(_enum(ParticipantRole))
    status: Mapped[ParticipantStatus] = mapped_column(_enum(ParticipantStatus))
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"), default=None)
    # "first last", sealed under the consultation's data key (see storage.vault)
    name_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    session_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    # the customer's personal receipt link (export, erasure); only its hash
    receipt_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    notice_version: Mapped[str | None] = mapped_column(String(32), default=None)
    notice_acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    admitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class InviteLink(Base):
    """An invite into one consultation. Only the SHA-256 of the token is stored."""

    __tablename__ = "invite_links"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    consultation_id: Mapped[str] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # an appointment's link opens only shortly before the appointment (None: at once)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class SlotState(enum.StrEnum):
    free = "free"
    booked = "booked"
    cancelled = "cancelled"


class AppointmentSlot(Base):
    """A time an advisor offers for an appointment. No personal data: who booked it is in
    the booking, sealed under the booking's consultation key."""

    __tablename__ = "appointment_slots"
    __table_args__ = (
        Index("ix_appointment_slots_team", "team_id", "state", "starts_at"),
        Index("ix_appointment_slots_advisor", "advisor_id", "starts_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"))
    advisor_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[SlotState] = mapped_column(_enum(SlotState))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Booking(Base):
    """A customer's booking of a slot: an invite consultation made for it. The name, the
    optional e-mail address and the link are sealed under the consultation's data key; the
    address is deleted once the reminder is sent or the appointment is over."""

    __tablename__ = "bookings"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    slot_id: Mapped[str] = mapped_column(ForeignKey("appointment_slots.id"), unique=True)
    consultation_id: Mapped[str] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), index=True
    )
    name_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    link_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    email_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    reminder: Mapped[bool] = mapped_column(default=False)
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    reminder_attempts: Mapped[int] = mapped_column(default=0)
    notice_version: Mapped[str] = mapped_column(String(32))
    lang: Mapped[str] = mapped_column(String(2), default="de")  # of the reminder mail
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MessageKind(enum.StrEnum):
    text = "text"
    file = "file"


class ChatMessage(Base):
    __tablename__ = "chat_messages"
    __table_args__ = (
        UniqueConstraint("consultation_id", "seq"),
        UniqueConstraint("consultation_id", "sender_id", "client_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    consultation_id: Mapped[str] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"))
    seq: Mapped[int]
    sender_id: Mapped[str] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[MessageKind] = mapped_column(_enum(MessageKind))
    body_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    file_id: Mapped[str | None] = mapped_column(String(32), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BoardUpdate(Base):
    """One Yjs update of a consultation's whiteboard, sealed, appended in the order the
    database numbered it. Compaction folds the oldest ones into the board's snapshot."""

    __tablename__ = "board_updates"

    consultation_id: Mapped[str] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    data_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BoardSnapshot(Base):
    """The whole whiteboard as one Yjs update, sealed: it stands for every update up to and
    including `upto_seq`, which were deleted in the same transaction that wrote it."""

    __tablename__ = "board_snapshots"

    consultation_id: Mapped[str] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), primary_key=True
    )
    upto_seq: Mapped[int]
    data_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class FileState(enum.StrEnum):
    uploading = "uploading"
    ready = "ready"
    deleted = "deleted"


class StoredFile(Base):
    """A file exchanged in a consultation. Its name is sealed; its content lives in the blob
    store as sealed chunks; only `ready` files are visible."""

    __tablename__ = "files"
    __table_args__ = (Index("ix_files_consultation", "consultation_id", "state"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    consultation_id: Mapped[str] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"))
    uploader_id: Mapped[str] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    name_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    content_type: Mapped[str] = mapped_column(String(128))
    size: Mapped[int] = mapped_column(BigInteger)
    chunk_count: Mapped[int] = mapped_column(default=0)
    state: Mapped[FileState] = mapped_column(_enum(FileState))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BlobChunk(Base):
    """A sealed chunk of a file, for the database blob store (any node serves any file)."""

    __tablename__ = "blob_chunks"

    blob_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    idx: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class AccessEntry(Base):
    """The server access log: one row per HTTP request and per real-time connection. The IP
    address is anonymised by the retention job once it is older than the configured age."""

    __tablename__ = "access_log"
    __table_args__ = (
        Index("ix_access_log_at", "at"),
        Index("ix_access_log_ip_done", "ip_done", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(8))  # "http" or "socket"
    method: Mapped[str] = mapped_column(String(8))
    route: Mapped[str] = mapped_column(String(200))  # the route pattern, never the raw path
    status: Mapped[int]
    bytes_sent: Mapped[int] = mapped_column(BigInteger)
    ip: Mapped[str | None] = mapped_column(String(45))
    ip_done: Mapped[bool] = mapped_column(default=False)  # anonymised already
    browser: Mapped[str] = mapped_column(String(80))
    os: Mapped[str] = mapped_column(String(80))
    referrer: Mapped[str | None] = mapped_column(String(200))  # origin only


class ConsultationStats(Base):
    """Anonymous usage statistics of one consultation: no names, no addresses, no content and
    no identifier that leads back to the consultation or a person."""

    __tablename__ = "consultation_stats"
    __table_args__ = (Index("ix_consultation_stats_team_start", "team_id", "started_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"))
    kind: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime())
    duration_seconds: Mapped[int]
    waiting_seconds: Mapped[int | None]
    customers: Mapped[int]
    advisors: Mapped[int]
    features: Mapped[str] = mapped_column(String(200))
    chat_messages: Mapped[int]
    files: Mapped[int]


class AuditEntry(Base):
    """Append-only, hash-chained record of privacy-relevant actions: who, when, what, never
    content. Each hash covers the entry and the hash before it."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(80))
    details: Mapped[str] = mapped_column(String(500))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The newest entry's number and hash, so removing the last entries is noticed too."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int]
    hash: Mapped[str] = mapped_column(String(64))
