"""The small interface through which the core reaches its transport (Galène's conn.go
idea): the Socket.IO adapter implements it; the core never imports socketio."""

from __future__ import annotations

from typing import Any, Protocol


class Notifier(Protocol):
    async def emit(
        self, event: str, data: dict[str, Any], room: str, skip_sid: str | None = None
    ) -> None:
        """Send to a room (a socket id is a room of its own), except `skip_sid`."""
        ...

    async def enter_room(self, sid: str, room: str) -> None: ...

    async def leave_room(self, sid: str, room: str) -> None: ...

    async def close(self, sids: list[str], reason: str) -> None:
        """Tell these sockets `session_closed` with the reason, then disconnect them."""
        ...


class NoSockets:
    """A Notifier for work done outside a running server (the admin commands)."""

    async def emit(
        self, event: str, data: dict[str, Any], room: str, skip_sid: str | None = None
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
