"""Payload parsing: names, ids and signals."""

from __future__ import annotations

import pytest

from signaling.errors import InvalidPayload
from signaling.protocol import JoinBody, RtcSignal, clean_name, parse

ID = "a" * 32


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Erika", "Erika"),
        ("  Jörg  ", "Jörg"),
        ("Anne-Marie", "Anne-Marie"),
        ("O'Brien", "O'Brien"),
        ("D\u2019Angelo", "D\u2019Angelo"),
        ("J. R.", "J. R."),
        ("Zoë", "Zoë"),
        ("Zoe\u0308", "Zoë"),  # NFC
        ("Ünal   Çelik", "Ünal Çelik"),
        ("Łukasz", "Łukasz"),
        ("Αλέξανδρος", "Αλέξανδρος"),
        ("Юлия", "Юлия"),
        ("محمد", "محمد"),
        ("美咲", "美咲"),
        ("a" * 60, "a" * 60),
    ],
)
def test_names_of_the_world_are_accepted(raw, clean):
    assert clean_name(raw) == clean


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "a" * 61, "<b>", "x1", "a_b", "a@b", "--", "'.", "\u202eabc", "a\tb\x00", "🙂"],
)
def test_bad_names_are_refused(raw):
    with pytest.raises(ValueError):
        clean_name(raw)


def test_join_needs_exactly_one_way_in():
    base = {"first_name": "A", "last_name": "B", "notice_version": "1"}
    assert parse(JoinBody, {**base, "team": "demo"}).team == "demo"
    for bad in ({**base}, {**base, "team": "demo", "invite": "x" * 43}):
        with pytest.raises(InvalidPayload):
            parse(JoinBody, bad)


@pytest.mark.parametrize(
    ("payload", "ok"),
    [
        ({"consultation_id": ID, "to": ID, "description": {"type": "offer", "sdp": "v=0"}}, True),
        (
            {
                "consultation_id": ID,
                "to": ID,
                "candidate": {"candidate": "c", "sdpMid": "0", "sdpMLineIndex": 0},
            },
            True,
        ),
        ({"consultation_id": ID, "to": ID, "end_of_candidates": True}, True),
        ({"consultation_id": ID, "to": ID}, False),
        (
            {
                "consultation_id": ID,
                "to": ID,
                "end_of_candidates": True,
                "description": {"type": "answer"},
            },
            False,
        ),
        (
            {"consultation_id": ID, "to": ID, "candidate": {"candidate": "c", "sdpMLineIndex": -1}},
            False,
        ),
        (
            {
                "consultation_id": ID,
                "to": ID,
                "candidate": {"candidate": "c", "sdpMLineIndex": 1.5},
            },
            False,
        ),
        ({"consultation_id": ID, "to": "A" * 32, "end_of_candidates": True}, False),
    ],
)
def test_rtc_signal_shapes(payload, ok):
    if ok:
        signal = parse(RtcSignal, payload)
        wire = signal.wire("b" * 32)
        assert wire["from"] == "b" * 32 and "to" not in wire
    else:
        with pytest.raises(InvalidPayload):
            parse(RtcSignal, payload)
