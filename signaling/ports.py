"""The small interface through which the core reaches its transport (Galène's conn.go
idea): the Socket.IO adapter implements it; the core never imports socketio."""

from __future__ import annotations

from typing import Any, Protocol


class Notifier(Protocol):
    async def emit(
        self,
        event: str,
        data: dict[str, Any],
        room: str,
        skip_sid: str | None = None,
        *,
        here_only: bool = False,
    ) -> None:
        """Send to a room (a socket id is a room of its own), except `skip_sid`; on every
        node, or with `here_only` to this node's sockets alone."""
        ...

    async def enter_room(self, sid: str, room: str) -> None: ...

    async def leave_room(self, sid: str, room: str) -> None: ...

    async def close(self, sids: list[str], reason: str) -> None:
        """Tell these sockets `session_closed` with the reason, then disconnect them."""
        ...


class Cluster(Protocol):
    """The other nodes serving the same consultations (python-socketio carries the emits;
    this carries what the rooms' own state needs)."""

    @property
    def shared(self) -> bool:
        """Whether other nodes may hold participants of a consultation."""
        ...

    async def evicted(self, consultation_id: str, participant_id: str) -> None:
        """A participant is out of a room for good: every node takes their sockets out."""
        ...


class SingleNode:
    """One node: nobody else to tell."""

    shared = False

    async def evicted(self, consultation_id: str, participant_id: str) -> None:
        return None


class Observer(Protocol):
    """Where the core reports what happens, for metrics. It must not block or fail."""

    def event(self, name: str) -> None:
        """A client-to-server event was handled."""

    def refused(self, code: str) -> None:
        """An error acknowledgement or HTTP error with this code was sent."""

    def waited(self, seconds: float) -> None:
        """A customer waited this long in the queue or lobby before being admitted."""

    def joined(self, seconds: float) -> None:
        """A participant entered the room this long after being admitted."""

    def uploaded(self, size: int) -> None:
        """A file of this many bytes was shared."""

    def turn_issued(self) -> None:
        """TURN credentials were handed out."""


class Unobserved:
    """An Observer that records nothing (the admin commands, unit tests)."""

    def event(self, name: str) -> None:
        return None

    def refused(self, code: str) -> None:
        return None

    def waited(self, seconds: float) -> None:
        return None

    def joined(self, seconds: float) -> None:
        return None

    def uploaded(self, size: int) -> None:
        return None

    def turn_issued(self) -> None:
        return None


class NoSockets:
    """A Notifier for work done outside a running server (the admin commands)."""

    async def emit(
        self,
        event: str,
        data: dict[str, Any],
        room: str,
        skip_sid: str | None = None,
        *,
        here_only: bool = False,
    ) -> None:
        return None

    async def enter_room(self, sid: str, room: str) -> None:
        return None

    async def leave_room(self, sid: str, room: str) -> None:
        return None

    async def close(self, sids: list[str], reason: str) -> None:
        return None


def team_room(team_id: str) -> str:
    return f"team:{team_id}"


def account_room(account_id: str) -> str:
    return f"account:{account_id}"


def participant_room(participant_id: str) -> str:
    return f"participant:{participant_id}"


def consultation_room(consultation_id: str) -> str:
    return f"consultation:{consultation_id}"


def member_room(consultation_id: str, participant_id: str) -> str:
    """The sockets joined to a consultation's room as one participant, on any node."""
    return f"member:{consultation_id}:{participant_id}"
