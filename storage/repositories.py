"""Typed repositories: every query lives here. They take a session (the hot batches of
whiteboard updates and chat messages: a plain connection) and never commit."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    Connection,
    CursorResult,
    Integer,
    Result,
    Table,
    Update,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Account,
    AuthSession,
    BoardSnapshot,
    BoardUpdate,
    ChatMessage,
    Consultation,
    ConsultationKind,
    ConsultationState,
    FileState,
    InviteLink,
    Participant,
    ParticipantRole,
    ParticipantStatus,
    StoredFile,
    Team,
)
from storage.sqlite import Direct

# The tables under the models, for statements on the hot paths (every whiteboard update):
# Core statements skip the ORM's compile and flush work, which costs more than the SQL.
CONSULTATIONS = cast(Table, Consultation.__table__)
BOARD_UPDATES = cast(Table, BoardUpdate.__table__)
BOARD_SNAPSHOTS = cast(Table, BoardSnapshot.__table__)
PARTICIPANTS = cast(Table, Participant.__table__)
CHAT_MESSAGES = cast(Table, ChatMessage.__table__)

# The statements every join, pickup, connect and whiteboard or chat batch runs, built once
# with bound parameters: building a statement (coercions, then its cache key) cost more CPU
# than running it (issue 8's join storm). A statement object keeps its cache key, so
# SQLAlchemy finds the compiled form at once. Executed with a dict of the named parameters.
_C, _P = CONSULTATIONS.c, PARTICIPANTS.c
_ADD_BOARD_UPDATE = Direct(insert(BOARD_UPDATES))
_M = CHAT_MESSAGES.c
_CHAT_BY_CLIENT_IDS = select(CHAT_MESSAGES).where(
    tuple_(_M.consultation_id, _M.sender_id, _M.client_id).in_(bindparam("keys", expanding=True))
)
_ADD_CHAT_MESSAGE = Direct(insert(CHAT_MESSAGES))
_FEATURES_OF = select(_C.id, _C.features).where(_C.id.in_(bindparam("ids", expanding=True)))
_SET_FEATURES = (
    update(CONSULTATIONS)
    .where(_C.id == bindparam("consultation_id"))
    .values(features=bindparam("features"))
)
_TEAM_BY_SLUG = select(Team).where(Team.slug == bindparam("slug"))
_TEAM_ID_BY_SLUG = select(Team.id).where(Team.slug == bindparam("slug"))
_ADD_CONSULTATION = insert(CONSULTATIONS)
_ADD_PARTICIPANT = insert(PARTICIPANTS)
_WAITING_INSTANT = (
    _C.team_id == bindparam("team_id"),
    _C.kind == ConsultationKind.instant,
    _C.state == ConsultationState.waiting,
)
_COUNT_QUEUE = select(func.count()).select_from(CONSULTATIONS).where(*_WAITING_INSTANT)
_QUEUE = (
    select(_C.id, _P.id, _P.waiting_since, _P.name_sealed, func.count().over())
    .join_from(CONSULTATIONS, PARTICIPANTS, _P.consultation_id == _C.id)
    .where(*_WAITING_INSTANT, _P.status == ParticipantStatus.waiting)
    .order_by(_P.waiting_since, _P.id)
    .limit(bindparam("shown"))
)
_CLAIMABLE = (
    select(_C.team_id, _C.state, _P.id, _P.waiting_since, _P.name_sealed)
    .select_from(
        CONSULTATIONS.outerjoin(
            PARTICIPANTS,
            and_(_P.consultation_id == _C.id, _P.status == ParticipantStatus.waiting),
        )
    )
    .where(_C.id == bindparam("consultation_id"))
    .order_by(_P.waiting_since, _P.created_at, _P.id)
    .limit(1)
)
_GUESTS = (
    select(
        _P.id,
        _P.consultation_id,
        _P.name_sealed,
        _P.waiting_since,
        _P.created_at,
        _P.session_token_hash,
        _C.ended_at,
    )
    .join_from(PARTICIPANTS, CONSULTATIONS, _P.consultation_id == _C.id)
    .where(_P.session_token_hash.in_(bindparam("hashes", expanding=True)))
)
_STANDING = (
    select(_P.status, _C.state)
    .join_from(PARTICIPANTS, CONSULTATIONS, _P.consultation_id == _C.id)
    .where(_P.id == bindparam("participant_id"), _C.id == bindparam("consultation_id"))
)
_CLAIM_INSTANT = (
    update(CONSULTATIONS)
    .where(
        _C.id == bindparam("consultation_id"),
        _C.kind == ConsultationKind.instant,
        _C.state == ConsultationState.waiting,
        _C.advisor_id.is_(None),
    )
    .values(
        advisor_id=bindparam("advisor"),
        state=ConsultationState.active,
        started_at=bindparam("now", type_=_C.started_at.type),
    )
)


class QueueEntry(NamedTuple):
    """A customer waiting in a team's instant queue, as the queue's readers need it."""

    consultation_id: str
    id: str  # the customer's participant id
    waiting_since: datetime | None
    name_sealed: bytes


class Queue(NamedTuple):
    """The longest-waiting part of a team's instant queue, and how many wait in all."""

    entries: list[QueueEntry]
    waiting: int


class Guest(NamedTuple):
    """A customer's guest session as a connect checks it: what of the participant a session
    needs, and the end of their consultation."""

    id: str  # the participant's
    consultation_id: str
    name_sealed: bytes
    waiting_since: datetime | None
    created_at: datetime
    session_token_hash: str
    ended_at: datetime | None


def guests_by_sessions(token_hashes: Collection[str], conn: Connection) -> list[Guest]:
    """The customers holding these guest sessions, in one query on a plain connection
    (`Database.run_reading`): every customer's connect, and the sweep of live sockets."""
    return [Guest(*row) for row in conn.execute(_GUESTS, {"hashes": list(token_hashes)})]


class Claimable(NamedTuple):
    """An instant consultation as a pickup needs it: whose team, its state and the customer
    waiting longest in it (None when nobody waits)."""

    team_id: str
    state: ConsultationState
    customer: QueueEntry | None


class Repository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def flush(self) -> None:
        await self.session.flush()


class TeamRepository(Repository):
    async def get(self, team_id: str) -> Team | None:
        return await self.session.get(Team, team_id)

    async def by_slug(self, slug: str) -> Team | None:
        return await self.session.scalar(_TEAM_BY_SLUG, {"slug": slug})

    async def add(self, team: Team) -> Team:
        self.session.add(team)
        await self.session.flush()
        return team


class AccountRepository(Repository):
    async def get(self, account_id: str) -> Account | None:
        return await self.session.get(Account, account_id)

    async def by_username(self, username: str) -> Account | None:
        return await self.session.scalar(select(Account).where(Account.username == username))

    async def add(self, account: Account) -> Account:
        self.session.add(account)
        await self.session.flush()
        return account


class AuthSessionRepository(Repository):
    async def add(self, auth_session: AuthSession) -> None:
        self.session.add(auth_session)
        await self.session.flush()

    async def active(
        self, token_hashes: Collection[str], now: datetime, idle: timedelta
    ) -> Sequence[tuple[AuthSession, Account]]:
        """The sessions among these that are neither expired nor idle for `idle`, with their
        (enabled) accounts."""
        seen = func.coalesce(AuthSession.last_seen_at, AuthSession.created_at)
        stmt = (
            select(AuthSession, Account)
            .join(Account, AuthSession.account_id == Account.id)
            .where(
                AuthSession.token_hash.in_(list(token_hashes)),
                AuthSession.expires_at > now,
                seen > now - idle,
                Account.disabled.is_(False),
            )
        )
        return [(row[0], row[1]) for row in await self.session.execute(stmt)]

    async def touch(self, token_hash: str, now: datetime) -> None:
        await self.session.execute(
            update(AuthSession).where(AuthSession.token_hash == token_hash).values(last_seen_at=now)
        )

    async def remove(self, token_hash: str) -> None:
        await self.session.execute(delete(AuthSession).where(AuthSession.token_hash == token_hash))

    async def remove_expired(self, now: datetime, idle: timedelta | None = None) -> None:
        ended = AuthSession.expires_at <= now
        if idle is not None:
            seen = func.coalesce(AuthSession.last_seen_at, AuthSession.created_at)
            ended = or_(ended, seen <= now - idle)
        await self.session.execute(delete(AuthSession).where(ended))


class ConsultationRepository(Repository):
    async def get(self, consultation_id: str, *, for_update: bool = False) -> Consultation | None:
        stmt = select(Consultation).where(Consultation.id == consultation_id)
        if for_update:
            stmt = stmt.with_for_update()
        return await self.session.scalar(stmt)

    async def add(self, consultation: Consultation) -> Consultation:
        self.session.add(consultation)
        await self.session.flush()
        return consultation

    async def of_advisor(self, advisor_id: str, limit: int = 50) -> Sequence[Consultation]:
        stmt = (
            select(Consultation)
            .where(Consultation.advisor_id == advisor_id)
            .order_by(Consultation.created_at.desc())
            .limit(limit)
        )
        return (await self.session.scalars(stmt)).all()

    async def count_queue(self, team_id: str) -> int:
        return int(await self.session.scalar(_COUNT_QUEUE, {"team_id": team_id}) or 0)


class ParticipantRepository(Repository):
    async def get(self, participant_id: str) -> Participant | None:
        return await self.session.get(Participant, participant_id)

    async def by_session(self, token_hash: str) -> Participant | None:
        stmt = select(Participant).where(Participant.session_token_hash == token_hash)
        return await self.session.scalar(stmt)

    async def by_receipt(self, token_hash: str) -> Participant | None:
        stmt = select(Participant).where(Participant.receipt_token_hash == token_hash)
        return await self.session.scalar(stmt)

    async def add(self, participant: Participant) -> Participant:
        self.session.add(participant)
        await self.session.flush()
        return participant

    async def of_consultation(
        self, consultation_id: str, statuses: Sequence[ParticipantStatus] | None = None
    ) -> Sequence[Participant]:
        stmt = select(Participant).where(Participant.consultation_id == consultation_id)
        if statuses is not None:
            stmt = stmt.where(Participant.status.in_(statuses))
        stmt = stmt.order_by(Participant.waiting_since, Participant.created_at, Participant.id)
        return (await self.session.scalars(stmt)).all()

    async def many(self, participant_ids: Sequence[str]) -> Sequence[Participant]:
        if not participant_ids:
            return []
        stmt = select(Participant).where(Participant.id.in_(participant_ids))
        return (await self.session.scalars(stmt)).all()

    async def count(self, consultation_id: str, status: ParticipantStatus) -> int:
        stmt = select(func.count()).where(
            Participant.consultation_id == consultation_id, Participant.status == status
        )
        return int(await self.session.scalar(stmt) or 0)

    async def advisor_in(self, consultation_id: str, account_id: str) -> Participant | None:
        stmt = select(Participant).where(
            Participant.consultation_id == consultation_id,
            Participant.account_id == account_id,
            Participant.role == ParticipantRole.advisor,
        )
        return await self.session.scalar(stmt)


class InviteRepository(Repository):
    async def add(self, invite: InviteLink) -> InviteLink:
        self.session.add(invite)
        await self.session.flush()
        return invite

    async def get(self, invite_id: str) -> InviteLink | None:
        return await self.session.get(InviteLink, invite_id)

    async def by_token_hash(self, token_hash: str) -> InviteLink | None:
        stmt = select(InviteLink).where(InviteLink.token_hash == token_hash)
        return await self.session.scalar(stmt)

    async def of_consultations(self, consultation_ids: Sequence[str]) -> Sequence[InviteLink]:
        if not consultation_ids:
            return []
        stmt = (
            select(InviteLink)
            .where(InviteLink.consultation_id.in_(consultation_ids))
            .order_by(InviteLink.created_at)
        )
        return (await self.session.scalars(stmt)).all()


def _rowcount(result: Result[Any]) -> int:
    return cast("CursorResult[Any]", result).rowcount


async def move_participant(
    session: AsyncSession,
    participant_id: str,
    expected: ParticipantStatus,
    target: ParticipantStatus,
    **values: object,
) -> bool:
    """Change a participant's status only if it still is `expected` (compare and set)."""
    stmt, params = _move(participant_id, expected, target, values)
    return _rowcount(await session.execute(stmt, params)) == 1


def move_participant_sync(
    conn: Connection,
    participant_id: str,
    expected: ParticipantStatus,
    target: ParticipantStatus,
    **values: object,
) -> bool:
    """`move_participant` on a synchronous connection (`Database.run_writing`)."""
    stmt, params = _move(participant_id, expected, target, values)
    return _rowcount(conn.execute(stmt, params)) == 1


def _move(
    participant_id: str,
    expected: ParticipantStatus,
    target: ParticipantStatus,
    values: Mapping[str, object],
) -> tuple[Update, dict[str, object]]:
    params: dict[str, object] = {"participant_id": participant_id, "expected": expected}
    params["target"] = target
    params.update((f"set_{name}", value) for name, value in values.items())
    return _moving(tuple(sorted(values))), params


class Admissions:
    """How customers get in, the statements a join storm runs for every customer (issue 8's
    S5), all Core on a synchronous connection (`Database.run_writing`, `run_reading`):
    entering a team's instant queue, the queue as advisors see it, a customer's standing,
    the pickup."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def team_id(self, slug: str) -> str | None:
        return self.connection.scalar(_TEAM_ID_BY_SLUG, {"slug": slug})

    def count(self, team_id: str) -> int:
        return int(self.connection.scalar(_COUNT_QUEUE, {"team_id": team_id}) or 0)

    def add_consultation(self, values: Mapping[str, Any]) -> None:
        """Insert a consultation (column values; the columns' defaults fill the rest)."""
        self.connection.execute(_ADD_CONSULTATION, dict(values))

    def add_participant(self, values: Mapping[str, Any]) -> None:
        self.connection.execute(_ADD_PARTICIPANT, dict(values))

    def queue(self, team_id: str, shown: int) -> Queue:
        """The team's instant queue: the `shown` longest-waiting instant consultations with
        their customer, and the number waiting (counted by a window, in the same query).
        Every join and pickup re-reads it."""
        rows = self.connection.execute(_QUEUE, {"team_id": team_id, "shown": shown}).all()
        return Queue([QueueEntry(*row[:4]) for row in rows], rows[0][4] if rows else 0)

    def standing(
        self, participant_id: str, consultation_id: str
    ) -> tuple[ParticipantStatus, ConsultationState] | None:
        """A participant's status with its consultation's state (a waiting customer's
        browser asks for it on every connect)."""
        params = {"participant_id": participant_id, "consultation_id": consultation_id}
        row = self.connection.execute(_STANDING, params).first()
        return None if row is None else (row[0], row[1])

    def claimable(self, consultation_id: str) -> Claimable | None:
        """The consultation for a pickup, in one query; None if there is none."""
        params = {"consultation_id": consultation_id}
        row = self.connection.execute(_CLAIMABLE, params).first()
        if row is None:
            return None
        team_id, state, pid, since, sealed = row
        customer = None if pid is None else QueueEntry(consultation_id, pid, since, sealed)
        return Claimable(team_id, state, customer)

    def claim(self, consultation_id: str, advisor_id: str, now: datetime) -> bool:
        """Give an unclaimed waiting instant consultation to an advisor; False if someone
        else was first (a conditional UPDATE, so two advisors racing cannot both win)."""
        params = {"consultation_id": consultation_id, "advisor": advisor_id, "now": now}
        return _rowcount(self.connection.execute(_CLAIM_INSTANT, params)) == 1


@lru_cache(maxsize=32)
def _moving(columns: tuple[str, ...]) -> Update:
    """`move_participant`'s statement for this set of other columns, built once."""
    p = Participant.__mapper__.columns
    extra = {name: bindparam(f"set_{name}", type_=p[name].type) for name in columns}
    return (
        update(Participant)
        .where(
            Participant.id == bindparam("participant_id"),
            Participant.status == bindparam("expected"),
        )
        .values(status=bindparam("target", type_=p["status"].type), **extra)
        .execution_options(synchronize_session="fetch")
    )


class ChatLog:
    """Chat's hot statements, all Core: a batch of messages looked up, numbered and stored
    on a synchronous connection (`Database.run_writing`)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def by_client_ids(self, keys: Sequence[tuple[str, str, str]]) -> list[ChatMessage]:
        """Stored messages by (consultation id, sender id, client id), as objects outside
        any session."""
        if not keys:
            return []
        rows = self.connection.execute(_CHAT_BY_CLIENT_IDS, {"keys": list(keys)})
        return [ChatMessage(**row._mapping) for row in rows]

    def reserve_seqs(self, counts: Mapping[str, int]) -> dict[str, int]:
        """Reserve `counts[c]` consecutive sequence numbers in each consultation `c`, all in
        one statement, counted in the database (so every node and every concurrent writer
        gets distinct, gap-free numbers); returns the last number reserved per consultation.
        Restricted (or missing) consultations are left out: nothing may be added to them."""
        if not counts:
            return {}
        ids = sorted(counts)
        params: dict[str, Any] = {f"id{i}": cid for i, cid in enumerate(ids)}
        params.update({f"n{i}": counts[cid] for i, cid in enumerate(ids)})
        rows = _reserving(len(ids), board=False).all(self.connection, params)
        return {cid: int(last) for cid, last in rows}

    def add_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert messages (column values: one executemany for all)."""
        _ADD_CHAT_MESSAGE.many(self.connection, rows)

    def features_of(self, consultation_ids: Sequence[str]) -> dict[str, str]:
        """The features seen in use so far (anonymous statistics) of these consultations."""
        rows = self.connection.execute(_FEATURES_OF, {"ids": list(consultation_ids)})
        return {cid: features for cid, features in rows.all()}

    def set_features(self, consultation_id: str, features: str) -> None:
        params = {"consultation_id": consultation_id, "features": features}
        self.connection.execute(_SET_FEATURES, params)


class ChatRepository(Repository):
    async def next_seq(self, consultation_id: str) -> int | None:
        """The consultation's next chat sequence number, counted in the database so every
        node and every concurrent writer gets a distinct, gap-free number; None when the
        consultation is restricted (nothing new may be added to it)."""
        stmt = (
            update(Consultation)
            .where(Consultation.id == consultation_id, Consultation.restricted_at.is_(None))
            .values(chat_seq=Consultation.chat_seq + 1)
            .returning(Consultation.chat_seq)
        )
        seq = (await self.session.execute(stmt)).scalar_one_or_none()
        return None if seq is None else int(seq)

    async def by_client_id(
        self, consultation_id: str, sender_id: str, client_id: str
    ) -> ChatMessage | None:
        stmt = select(ChatMessage).where(
            ChatMessage.consultation_id == consultation_id,
            ChatMessage.sender_id == sender_id,
            ChatMessage.client_id == client_id,
        )
        return await self.session.scalar(stmt)

    async def add(self, message: ChatMessage) -> ChatMessage:
        self.session.add(message)
        await self.session.flush()
        return message

    async def after(self, consultation_id: str, seq: int, limit: int) -> Sequence[ChatMessage]:
        stmt = (
            select(ChatMessage)
            .where(ChatMessage.consultation_id == consultation_id, ChatMessage.seq > seq)
            .order_by(ChatMessage.seq)
            .limit(limit)
        )
        return (await self.session.scalars(stmt)).all()


class FileRepository(Repository):
    async def get(self, file_id: str) -> StoredFile | None:
        return await self.session.get(StoredFile, file_id)

    async def add(self, stored: StoredFile) -> StoredFile:
        self.session.add(stored)
        await self.session.flush()
        return stored

    async def of_consultation(self, consultation_id: str) -> Sequence[StoredFile]:
        stmt = (
            select(StoredFile)
            .where(
                StoredFile.consultation_id == consultation_id,
                StoredFile.state == FileState.ready,
            )
            .order_by(StoredFile.created_at)
        )
        return (await self.session.scalars(stmt)).all()

    async def unfinished(self, before: datetime | None = None) -> Sequence[StoredFile]:
        """Uploads that never finished (a node died mid-upload), begun before `before` if
        given."""
        stmt = select(StoredFile).where(StoredFile.state == FileState.uploading)
        if before is not None:
            stmt = stmt.where(StoredFile.created_at < before)
        return (await self.session.scalars(stmt)).all()


class BoardState(NamedTuple):
    """A consultation as its whiteboard sees it (`BoardLog.board`)."""

    erased: bool
    restricted: bool
    locked: bool

    @property
    def foldable(self) -> bool:
        """Whether its content may be compacted: neither erased nor restricted."""
        return not (self.erased or self.restricted)


class BoardLog:
    """The whiteboard log's hot statements, all Core: numbering and storing a batch of
    updates, on a synchronous connection (`Database.run_writing`)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def states(self, consultation_ids: Sequence[str]) -> dict[str, tuple[bool, bool]]:
        """(restricted, locked) of each consultation that exists: what the board store reads
        when a consultation of a batch got no numbers, to say why. On PostgreSQL the rows
        stay locked until commit, taken in one order (as in `number`)."""
        c = CONSULTATIONS.c
        stmt = (
            select(c.id, c.restricted_at, c.board_locked)
            .where(c.id.in_(sorted(set(consultation_ids))))
            .order_by(c.id)
        )
        if self.connection.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        rows = self.connection.execute(stmt).all()
        return {cid: (restricted is not None, bool(locked)) for cid, restricted, locked in rows}

    def number(
        self, advisor: Mapping[str, int], customer: Mapping[str, int]
    ) -> dict[str, tuple[int, bool]]:
        """Reserve consecutive board numbers, counted in the database so every node gets
        distinct ones: in each consultation `c`, `advisor[c]` of them, and `customer[c]` more
        unless its board is locked. Per consultation that exists and is not restricted: the
        last number reserved and whether the board is locked. One statement, as it runs for
        every whiteboard update. On PostgreSQL the rows stay locked until commit, taken in
        one order so two nodes' batches never deadlock; the lock orders appends with
        compaction and with locking the board (SQLite has one writer and no FOR UPDATE)."""
        ids = sorted({*advisor, *customer})
        if not ids:
            return {}
        params: dict[str, Any] = {f"id{i}": cid for i, cid in enumerate(ids)}
        params.update({f"a{i}": advisor.get(cid, 0) for i, cid in enumerate(ids)})
        params.update({f"u{i}": customer.get(cid, 0) for i, cid in enumerate(ids)})
        rows = _reserving(len(ids), board=True).all(self.connection, params)
        return {cid: (int(last), bool(locked)) for cid, last, locked in rows}

    def add_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert updates (column values, not ORM objects: one executemany for all)."""
        _ADD_BOARD_UPDATE.many(self.connection, rows)

    # Reading and compacting the board: plain units (signaling.board_store).

    def board(self, consultation_id: str, *, lock: bool = False) -> BoardState | None:
        """The consultation's state as its board sees it, None if there is no such
        consultation. `lock`: on PostgreSQL its row stays locked until commit, which orders
        a compaction's write with appends on other nodes (as `number` does)."""
        c = CONSULTATIONS.c
        stmt = select(c.erased_at, c.restricted_at, c.board_locked).where(c.id == consultation_id)
        if lock and self.connection.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        row = self.connection.execute(stmt).first()
        if row is None:
            return None
        return BoardState(
            erased=row.erased_at is not None,
            restricted=row.restricted_at is not None,
            locked=bool(row.board_locked),
        )

    def snapshot(self, consultation_id: str) -> tuple[int, bytes] | None:
        """The board's snapshot: the last number it stands for, and its sealed bytes."""
        s = BOARD_SNAPSHOTS.c
        stmt = select(s.upto_seq, s.data_sealed).where(s.consultation_id == consultation_id)
        row = self.connection.execute(stmt).first()
        return None if row is None else (int(row.upto_seq), bytes(row.data_sealed))

    def snapshot_upto(self, consultation_id: str) -> int | None:
        """The last number the board's snapshot stands for, without its bytes."""
        s = BOARD_SNAPSHOTS.c
        stmt = select(s.upto_seq).where(s.consultation_id == consultation_id)
        upto = self.connection.execute(stmt).scalar()
        return None if upto is None else int(upto)

    def sealed_updates(self, consultation_id: str, after_seq: int = 0) -> list[tuple[int, bytes]]:
        """The board's stored updates numbered after `after_seq`, in order: each one's
        number and sealed bytes."""
        u = BOARD_UPDATES.c
        stmt = (
            select(u.seq, u.data_sealed)
            .where(u.consultation_id == consultation_id, u.seq > after_seq)
            .order_by(u.seq)
        )
        return [(int(seq), bytes(data)) for seq, data in self.connection.execute(stmt)]

    def seqs_upto(self, consultation_id: str, upto_seq: int) -> list[int]:
        """The numbers of the stored updates up to `upto_seq`, in order."""
        u = BOARD_UPDATES.c
        stmt = (
            select(u.seq)
            .where(u.consultation_id == consultation_id, u.seq <= upto_seq)
            .order_by(u.seq)
        )
        return [int(seq) for seq in self.connection.execute(stmt).scalars()]

    def replace_snapshot(
        self, consultation_id: str, upto_seq: int, sealed: bytes, now: datetime, *, new: bool
    ) -> None:
        """Write the snapshot standing for every update up to `upto_seq` (`new`: the board
        has none yet) and delete those updates, in the unit's transaction (both or
        neither)."""
        s = BOARD_SNAPSHOTS.c
        values = {"upto_seq": upto_seq, "data_sealed": sealed, "created_at": now}
        if new:
            self.connection.execute(
                insert(BOARD_SNAPSHOTS).values(consultation_id=consultation_id, **values)
            )
        else:
            self.connection.execute(
                update(BOARD_SNAPSHOTS).where(s.consultation_id == consultation_id).values(values)
            )
        u = BOARD_UPDATES.c
        self.connection.execute(
            delete(BOARD_UPDATES).where(u.consultation_id == consultation_id, u.seq <= upto_seq)
        )


class BoardRepository(Repository):
    """The whiteboard's sealed log: numbered updates and at most one snapshot."""

    async def add(self, row: BoardUpdate) -> None:
        self.session.add(row)
        await self.session.flush()

    async def remove(self, consultation_id: str, seq: int) -> None:
        await self.session.execute(
            delete(BoardUpdate).where(
                BoardUpdate.consultation_id == consultation_id, BoardUpdate.seq == seq
            )
        )

    async def set_locked(self, consultation_id: str, locked: bool) -> None:
        await self.session.execute(
            update(Consultation)
            .where(Consultation.id == consultation_id)
            .values(board_locked=locked)
        )


@lru_cache(maxsize=256)
def _reserving(n: int, *, board: bool) -> Direct:
    """The statement that reserves numbers in `n` consultations at once (`reserve_seqs`,
    `BoardRepository.number`), built once per `n` with bound parameters: `id0`..., and per
    consultation `n0`... (chat) or `a0`... and `u0`... (board: the advisor's and the
    customers' updates). Building it anew for every batch cost more CPU than running it.
    On PostgreSQL the rows are locked in one order, so two nodes' batches never deadlock
    (SQLite has one writer and no FOR UPDATE)."""
    c = CONSULTATIONS.c
    ids = [bindparam(f"id{i}", type_=c.id.type) for i in range(n)]

    def per_consultation(prefix: str) -> Any:
        counts = [bindparam(f"{prefix}{i}", type_=Integer()) for i in range(n)]
        return case(*((c.id == ids[i], counts[i]) for i in range(n)), else_=0)

    in_order = select(c.id).where(c.id.in_(ids)).order_by(c.id).with_for_update()
    stmt = update(CONSULTATIONS).where(
        c.id.in_(in_order.scalar_subquery()), c.restricted_at.is_(None)
    )
    if board:
        locked_or_counted = case((c.board_locked, 0), else_=per_consultation("u"))
        return Direct(
            stmt.values(
                board_seq=c.board_seq + per_consultation("a") + locked_or_counted
            ).returning(c.id, c.board_seq, c.board_locked)
        )
    return Direct(
        stmt.values(chat_seq=c.chat_seq + per_consultation("n")).returning(c.id, c.chat_seq)
    )
