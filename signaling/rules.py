"""Pure consultation rules: state transitions and who may do what. No I/O.

States and statuses are the plain strings that `storage.models` stores (its enums are
`StrEnum`s, so they compare equal)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, NoReturn

from signaling.errors import ConsultationEnded, InvalidState, LimitExceeded, NotAuthorised

ConsultationStateName = Literal["waiting", "lobby", "active", "ended"]
ParticipantStatusName = Literal["waiting", "admitted", "refused", "removed", "left"]

CONSULTATION_TRANSITIONS: dict[str, frozenset[str]] = {
    "waiting": frozenset({"lobby", "active", "ended"}),
    "lobby": frozenset({"active", "ended"}),
    "active": frozenset({"ended"}),
    "ended": frozenset(),
}

PARTICIPANT_TRANSITIONS: dict[str, frozenset[str]] = {
    "waiting": frozenset({"admitted", "refused", "left"}),
    # back to "waiting" when the grace period after a dropped connection runs out
    "admitted": frozenset({"removed", "left", "waiting"}),
    "refused": frozenset(),
    "removed": frozenset(),
    "left": frozenset({"admitted"}),  # only an advisor re-entering their own consultation
}


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting, as established from the connection's session."""

    kind: Literal["advisor", "ops", "customer"]
    account_id: str | None = None
    team_id: str | None = None
    participant_id: str | None = None
    consultation_id: str | None = None

    @property
    def is_advisor(self) -> bool:
        return self.kind == "advisor"


def next_consultation_state(current: str, target: str) -> str:
    if current == "ended":
        raise ConsultationEnded("the consultation has ended")
    if current == target:
        return current
    if target not in CONSULTATION_TRANSITIONS[current]:
        raise InvalidState(f"a consultation cannot go from {current} to {target}")
    return target


def check_participant_transition(current: str, target: str) -> None:
    if target not in PARTICIPANT_TRANSITIONS[current]:
        raise InvalidState(f"a participant cannot go from {current} to {target}")


def check_open(state: str) -> None:
    if state == "ended":
        raise ConsultationEnded("the consultation has ended")


def check_owner(actor: Actor, advisor_id: str | None) -> None:
    """Only the advisor who owns a consultation moderates it."""
    if not actor.is_advisor or actor.account_id is None or actor.account_id != advisor_id:
        raise NotAuthorised("only the consultation's advisor may do this")


def check_team_advisor(actor: Actor, team_id: str) -> None:
    if not actor.is_advisor or actor.team_id != team_id:
        raise NotAuthorised("only an advisor of this team may do this")


def check_own_consultation(actor: Actor, consultation_id: str) -> None:
    """A customer acts only in the consultation their session belongs to."""
    if actor.is_advisor or actor.consultation_id != consultation_id:
        raise NotAuthorised("not a participant of this consultation")


def unknown(check: Callable[..., None], *args: Any) -> NoReturn:
    """Refuse an id nobody issued exactly as the `check` refuses a foreign one (it always
    does for these arguments): nobody learns whether a consultation, participant or file
    exists by asking for it."""
    check(*args)
    raise NotAuthorised("not a consultation of yours")


def check_capacity(admitted: int, limit: int) -> None:
    if admitted >= limit:
        raise LimitExceeded(f"a consultation holds at most {limit} participants")


def check_lobby_room(waiting: int, limit: int, what: str = "lobby") -> None:
    if waiting >= limit:
        raise LimitExceeded(f"the {what} is full ({limit} waiting); please try again later")
