"""Who is connected right now: this node's sockets, their identity and the rooms they have
joined, and what the other nodes of a cluster say of their own joined participants. Plain
in-memory state, no I/O; a cluster adapter listens for changes and fills in the others."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from signaling.rules import Actor

if TYPE_CHECKING:
    from signaling.identity import Identity


@dataclass(slots=True)
class MediaState:
    audio: bool = True
    video: bool = True


@dataclass(frozen=True, slots=True)
class Member:
    """What the room needs to know of a joined participant without asking the database."""

    role: str
    name: str


# consultation id -> participant id -> (member, media): the rooms as one node sees them
Rooms = dict[str, dict[str, tuple[Member, MediaState]]]


@dataclass(slots=True)
class Connection:
    sid: str
    actor: Actor
    session_key: str  # hash of the cookie that authenticated it, for logout
    joined: dict[str, str] = field(default_factory=dict)  # consultation id -> participant id
    session: Identity | None = None  # as last checked: when it ends unless used again


class Presence:
    def __init__(self) -> None:
        self._connections: dict[str, Connection] = {}
        # participant id -> sids connected as that participant, joined to a room or not
        # (looked up on every customer's connect: a scan of all sockets made a join storm
        # cost more per join the more sockets were open)
        self._sockets_of: dict[str, set[str]] = defaultdict(set)
        # participant id -> sids joined to its consultation room as that participant
        self._joined: dict[str, set[str]] = defaultdict(set)
        # consultation id -> participant ids joined in its room
        self._rooms: dict[str, set[str]] = defaultdict(set)
        self.media: dict[str, MediaState] = {}
        self.members: dict[str, Member] = {}
        # participant id -> (when, the latest connection-quality report of their browser)
        self.quality: dict[str, tuple[float, list[dict[str, object]]]] = {}
        # node id -> the rooms that node reported last (empty on a single node)
        self._remote: dict[str, Rooms] = {}
        # node id -> team id -> the advisor accounts connected there, as it reported last
        self._remote_advisors: dict[str, dict[str, set[str]]] = {}
        # called after every change of this node's rooms (a cluster publishes them)
        self.on_change: Callable[[], None] = lambda: None

    def connect(self, sid: str, actor: Actor, session_key: str) -> Connection:
        conn = Connection(sid, actor, session_key)
        self._connections[sid] = conn
        if actor.participant_id is not None:
            self._sockets_of[actor.participant_id].add(sid)
        if actor.kind == "advisor":
            self.on_change()  # the other nodes count advisors online too
        return conn

    def get(self, sid: str) -> Connection | None:
        return self._connections.get(sid)

    def sids_of_actor(self, participant_id: str) -> list[str]:
        """Every socket connected as this participant, joined to a room or not."""
        return list(self._sockets_of.get(participant_id, ()))

    def disconnect(self, sid: str) -> list[tuple[str, str]]:
        """Forget a socket; return the (consultation, participant) pairs whose last joined
        socket it was."""
        conn = self._connections.get(sid)
        if conn is None:
            return []
        last = [(cid, pid) for cid, pid in list(conn.joined.items()) if self.leave(sid, cid)]
        del self._connections[sid]
        pid = conn.actor.participant_id
        if pid is not None:
            sockets = self._sockets_of[pid]
            sockets.discard(sid)
            if not sockets:
                del self._sockets_of[pid]
        if conn.actor.kind == "advisor":
            self.on_change()
        return last

    def join(self, sid: str, consultation_id: str, participant_id: str, member: Member) -> bool:
        """Join a socket to a room as a participant; True if it is the participant's first
        socket there."""
        conn = self._connections[sid]
        conn.joined[consultation_id] = participant_id
        first = not self._joined[participant_id]
        self._joined[participant_id].add(sid)
        self._rooms[consultation_id].add(participant_id)
        self.media.setdefault(participant_id, MediaState())
        self.members[participant_id] = member
        if first:
            self.on_change()
        return first

    def leave(self, sid: str, consultation_id: str) -> str | None:
        """Take a socket out of a room; return the participant id if it was its last."""
        conn = self._connections.get(sid)
        pid = conn.joined.pop(consultation_id, None) if conn else None
        if pid is None:
            return None
        sids = self._joined[pid]
        sids.discard(sid)
        if sids:
            return None
        del self._joined[pid]
        self._rooms[consultation_id].discard(pid)
        if not self._rooms[consultation_id]:
            del self._rooms[consultation_id]
        self.on_change()
        return pid

    def evict(self, consultation_id: str, participant_id: str) -> set[str]:
        """Take a participant out of a room whatever sockets they have; return those sids."""
        sids = self._joined.pop(participant_id, set())
        for sid in sids:
            conn = self._connections.get(sid)
            if conn:
                conn.joined.pop(consultation_id, None)
        room = self._rooms.get(consultation_id)
        if room is not None:
            room.discard(participant_id)
            if not room:
                del self._rooms[consultation_id]
        self.forget(participant_id)
        if sids:
            self.on_change()
        return sids

    def forget(self, participant_id: str) -> None:
        """Drop what was kept of a participant who is gone for good (not merely offline)."""
        self.media.pop(participant_id, None)
        self.members.pop(participant_id, None)
        self.quality.pop(participant_id, None)

    def sids_of(self, participant_id: str) -> frozenset[str]:
        return frozenset(self._joined.get(participant_id, ()))

    def participant_in(self, sid: str, consultation_id: str) -> str | None:
        conn = self._connections.get(sid)
        return conn.joined.get(consultation_id) if conn else None

    def set_media(self, participant_id: str, audio: bool, video: bool) -> None:
        state = self.media[participant_id]
        state.audio, state.video = audio, video
        self.on_change()

    def in_room(self, consultation_id: str, participant_id: str) -> bool:
        """Joined on this node or, as far as they said, on another."""
        if participant_id in self._rooms.get(consultation_id, ()):
            return True
        return any(participant_id in r.get(consultation_id, ()) for r in self._remote.values())

    def room(self, consultation_id: str) -> frozenset[str]:
        here = set(self._rooms.get(consultation_id, ()))
        for rooms in self._remote.values():
            here.update(rooms.get(consultation_id, ()))
        return frozenset(here)

    def local_room(self, consultation_id: str) -> frozenset[str]:
        return frozenset(self._rooms.get(consultation_id, ()))

    def member_of(self, participant_id: str) -> Member | None:
        return self.members.get(participant_id) or self._remote_entry(participant_id)[0]

    def media_of(self, participant_id: str) -> MediaState | None:
        return self.media.get(participant_id) or self._remote_entry(participant_id)[1]

    def _remote_entry(self, participant_id: str) -> tuple[Member | None, MediaState | None]:
        for rooms in self._remote.values():
            for members in rooms.values():
                if participant_id in members:
                    return members[participant_id]
        return None, None

    # -- the other nodes of a cluster ------------------------------------------------------

    def local_rooms(self) -> Rooms:
        """This node's joined participants, as the other nodes are told."""
        return {
            cid: {pid: (self.members[pid], self.media[pid]) for pid in pids}
            for cid, pids in self._rooms.items()
        }

    def set_remote(self, node: str, rooms: Rooms) -> set[tuple[str, str]]:
        """What another node says it has now, replacing what it said before; returns the
        (consultation, participant) pairs whose being in the room changed by it."""
        before = self._remote.get(node, {})
        touched = {(c, p) for c, ps in before.items() for p in ps}
        touched ^= {(c, p) for c, ps in rooms.items() for p in ps}
        was = {pair: self.in_room(*pair) for pair in touched}
        self._remote[node] = rooms
        return {pair for pair in touched if self.in_room(*pair) != was[pair]}

    def drop_remote(self, node: str) -> Rooms:
        """Forget a node that has gone; return what it had."""
        self._remote_advisors.pop(node, None)
        return self._remote.pop(node, {})

    def local_advisors(self) -> dict[str, list[str]]:
        """Team id -> the advisor accounts with a connection to this node."""
        teams: dict[str, set[str]] = defaultdict(set)
        for c in self._connections.values():
            if c.actor.kind == "advisor" and c.actor.team_id and c.actor.account_id:
                teams[c.actor.team_id].add(c.actor.account_id)
        return {team: sorted(accounts) for team, accounts in teams.items()}

    def set_remote_advisors(self, node: str, teams: dict[str, list[str]]) -> None:
        self._remote_advisors[node] = {team: set(accounts) for team, accounts in teams.items()}

    def remote_nodes(self) -> frozenset[str]:
        return frozenset(self._remote)

    def watching(self, kind: str) -> bool:
        """Whether any connection of this kind of actor (e.g. "ops") is open."""
        return any(c.actor.kind == kind for c in self._connections.values())

    def advisors_online(self, team_id: str) -> int:
        """How many advisor accounts of a team have a connection open (dashboard or room),
        on this node or, as they said, on another."""
        accounts = set(self.local_advisors().get(team_id, ()))
        for teams in self._remote_advisors.values():
            accounts |= teams.get(team_id, set())
        return len(accounts)

    def connections(self) -> list[Connection]:
        return list(self._connections.values())

    def sids_of_session(self, session_key: str) -> list[str]:
        return [c.sid for c in self._connections.values() if c.session_key == session_key]

    def __len__(self) -> int:
        return len(self._connections)
