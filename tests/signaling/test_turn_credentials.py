"""TURN REST API credentials (signaling.turn), table by table: the username and password
coturn's `use-auth-secret` expects, and which ICE servers a participant is handed."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta, timezone

import pytest

from signaling.turn import IceConfig, ice_servers, turn_credentials

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
SECRET = "parley-turn-secret"
STUN = ("stun:turn.example.com:3478",)
TURN = ("turn:turn.example.com:3478?transport=udp", "turn:turn.example.com:3478?transport=tcp")


def expected_password(secret: str, username: str) -> str:
    """coturn's check, written out independently: base64(HMAC-SHA1(secret, username))."""
    return base64.b64encode(
        hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    ).decode()


# Known answers computed outside Python with
#   printf '%s' "<username>" | openssl dgst -sha1 -hmac "<secret>" -binary | base64
@pytest.mark.parametrize(
    ("secret", "user", "expires", "username", "password"),
    [
        (
            "parley-turn-secret",
            "participant-1",
            datetime(2026, 11, 21, 10, 0, tzinfo=UTC),
            "1795255200:participant-1",
            "dqyfWQGxpJ5oFETcPMPzP6Oke/E=",
        ),
        (
            "north",
            "alice",
            datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC),
            "1700000000:alice",
            "Cd/49soE35ICqcJF/bCTn8Z4OyE=",
        ),
    ],
)
def test_known_answers(secret, user, expires, username, password):
    assert turn_credentials(secret, user, expires) == (username, password)
    assert expected_password(secret, username) == password


@pytest.mark.parametrize(
    ("expires", "unix"),
    [
        (datetime(2026, 11, 21, 10, 0, tzinfo=UTC), 1795255200),
        # the same instant written in another time zone is the same expiry
        (datetime(2026, 11, 21, 11, 0, tzinfo=timezone(timedelta(hours=1))), 1795255200),
        # fractions of a second are dropped, not rounded up
        (datetime(2026, 11, 21, 10, 0, 0, 999_999, tzinfo=UTC), 1795255200),
        (datetime(1970, 1, 1, tzinfo=UTC), 0),
    ],
)
def test_username_is_unix_expiry_colon_user(expires, unix):
    username, password = turn_credentials(SECRET, "p1", expires)
    assert username == f"{unix}:p1"
    assert password == expected_password(SECRET, username)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("s1", "p1", NOW), ("s2", "p1", NOW)),  # another secret
        (("s1", "p1", NOW), ("s1", "p2", NOW)),  # another participant
        (("s1", "p1", NOW), ("s1", "p1", NOW + timedelta(seconds=1))),  # another expiry
    ],
)
def test_every_input_changes_the_password(a, b):
    assert turn_credentials(*a)[1] != turn_credentials(*b)[1]


def test_password_is_a_base64_sha1_digest():
    _, password = turn_credentials(SECRET, "p1", NOW)
    assert len(base64.b64decode(password, validate=True)) == 20  # bytes of a SHA-1 digest


def turn_entry(urls: tuple[str, ...], user: str, ttl: int, secret: str = SECRET) -> dict:
    username = f"{int((NOW + timedelta(seconds=ttl)).timestamp())}:{user}"
    return {
        "urls": list(urls),
        "username": username,
        "credential": expected_password(secret, username),
    }


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        pytest.param(IceConfig(), [], id="nothing configured"),
        pytest.param(IceConfig(stun_urls=STUN), [{"urls": list(STUN)}], id="STUN only"),
        pytest.param(IceConfig(turn_urls=TURN), [], id="TURN urls without a secret"),
        pytest.param(IceConfig(turn_secret=SECRET), [], id="a secret without TURN urls"),
        pytest.param(IceConfig(turn_urls=TURN, turn_secret=""), [], id="empty secret"),
        pytest.param(
            IceConfig(stun_urls=STUN, turn_urls=TURN),
            [{"urls": list(STUN)}],
            id="STUN, and TURN without a secret",
        ),
        pytest.param(
            IceConfig(turn_urls=TURN, turn_secret=SECRET),
            [turn_entry(TURN, "p1", 3600)],
            id="TURN with secret, default ttl",
        ),
        pytest.param(
            IceConfig(turn_urls=TURN[:1], turn_secret=SECRET, ttl_seconds=60),
            [turn_entry(TURN[:1], "p1", 60)],
            id="one TURN url, shortest ttl",
        ),
        pytest.param(
            IceConfig(stun_urls=STUN, turn_urls=TURN, turn_secret=SECRET, ttl_seconds=86400),
            [{"urls": list(STUN)}, turn_entry(TURN, "p1", 86400)],
            id="STUN and TURN, longest ttl",
        ),
    ],
)
def test_ice_servers(config, expected):
    assert ice_servers(config, "p1", NOW) == expected


def test_turn_credentials_expire_ttl_after_now_and_name_the_participant():
    config = IceConfig(turn_urls=TURN, turn_secret=SECRET, ttl_seconds=900)
    for now in (NOW, NOW + timedelta(hours=5, seconds=7)):
        for user in ("p1", "0f1e2d3c4b5a69788796a5b4c3d2e1f0"):
            (server,) = ice_servers(config, user, now)
            expiry, _, named = server["username"].partition(":")
            assert named == user
            assert datetime.fromtimestamp(int(expiry), UTC) == now + timedelta(seconds=900)
            assert server["credential"] == expected_password(SECRET, server["username"])


def test_each_participant_gets_own_credentials():
    config = IceConfig(turn_urls=TURN, turn_secret=SECRET)
    (a,), (b,) = ice_servers(config, "p1", NOW), ice_servers(config, "p2", NOW)
    assert a["username"] != b["username"]
    assert a["credential"] != b["credential"]


def test_the_answer_does_not_share_the_configured_lists():
    config = IceConfig(stun_urls=STUN, turn_urls=TURN, turn_secret=SECRET)
    first = ice_servers(config, "p1", NOW)
    for server in first:
        server["urls"].append("turn:evil.example.com")
    assert ice_servers(config, "p1", NOW) == [{"urls": list(STUN)}, turn_entry(TURN, "p1", 3600)]
