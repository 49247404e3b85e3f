"""The pure consultation rules, table by table."""

from __future__ import annotations

import pytest

from signaling import errors, rules
from signaling.rules import Actor

ADVISOR = Actor("advisor", account_id="a1", team_id="t1")
OTHER_ADVISOR = Actor("advisor", account_id="a2", team_id="t2")
OPS = Actor("ops", account_id="o1")
CUSTOMER = Actor("customer", participant_id="p1", consultation_id="c1")


@pytest.mark.parametrize(
    ("current", "target", "result"),
    [
        ("waiting", "lobby", "lobby"),
        ("waiting", "active", "active"),
        ("waiting", "ended", "ended"),
        ("lobby", "active", "active"),
        ("lobby", "ended", "ended"),
        ("active", "active", "active"),
        ("active", "ended", "ended"),
        ("active", "lobby", errors.InvalidState),
        ("active", "waiting", errors.InvalidState),
        ("lobby", "waiting", errors.InvalidState),
        ("ended", "active", errors.ConsultationEnded),
        ("ended", "ended", errors.ConsultationEnded),
    ],
)
def test_consultation_transitions(current, target, result):
    if isinstance(result, type):
        with pytest.raises(result):
            rules.next_consultation_state(current, target)
    else:
        assert rules.next_consultation_state(current, target) == result


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        ("waiting", "admitted", True),
        ("waiting", "refused", True),
        ("waiting", "removed", False),
        ("admitted", "removed", True),
        ("admitted", "waiting", True),
        ("admitted", "refused", False),
        ("refused", "admitted", False),
        ("removed", "admitted", False),
        ("left", "admitted", True),
    ],
)
def test_participant_transitions(current, target, allowed):
    if allowed:
        rules.check_participant_transition(current, target)
    else:
        with pytest.raises(errors.InvalidState):
            rules.check_participant_transition(current, target)


@pytest.mark.parametrize(
    ("check", "actor", "allowed"),
    [
        (lambda a: rules.check_owner(a, "a1"), ADVISOR, True),
        (lambda a: rules.check_owner(a, "a1"), OTHER_ADVISOR, False),
        (lambda a: rules.check_owner(a, "a1"), OPS, False),
        (lambda a: rules.check_owner(a, "a1"), CUSTOMER, False),
        (lambda a: rules.check_owner(a, None), ADVISOR, False),
        (lambda a: rules.check_team_advisor(a, "t1"), ADVISOR, True),
        (lambda a: rules.check_team_advisor(a, "t1"), OTHER_ADVISOR, False),
        (lambda a: rules.check_team_advisor(a, "t1"), OPS, False),
        (lambda a: rules.check_own_consultation(a, "c1"), CUSTOMER, True),
        (lambda a: rules.check_own_consultation(a, "c2"), CUSTOMER, False),
        (lambda a: rules.check_own_consultation(a, "c1"), ADVISOR, False),
    ],
)
def test_permissions(check, actor, allowed):
    if allowed:
        check(actor)
    else:
        with pytest.raises(errors.NotAuthorised):
            check(actor)


@pytest.mark.parametrize(
    ("count", "limit", "ok"), [(0, 1, True), (5, 6, True), (6, 6, False), (7, 6, False)]
)
def test_capacity_and_lobby_limits(count, limit, ok):
    for check in (rules.check_capacity, rules.check_lobby_room):
        if ok:
            check(count, limit)
        else:
            with pytest.raises(errors.LimitExceeded):
                check(count, limit)


def test_every_error_code_is_distinct_and_documented():
    from pathlib import Path

    codes = [cls.code for cls in errors.ParleyError.__subclasses__()]
    assert len(codes) == len(set(codes))
    doc = (Path(__file__).parents[2] / "docs" / "protocol.md").read_text()
    missing = [code for code in errors.ERROR_CODES if f"`{code}`" not in doc]
    assert missing == []
