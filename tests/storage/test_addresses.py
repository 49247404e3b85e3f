"""Client addresses behind proxies, and their anonymisation."""

from __future__ import annotations

import pytest

from storage.addresses import anonymise, client_ip, parse_networks

TRUSTED = parse_networks(["10.0.0.0/8", "fd00::/8"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.7", None, "203.0.113.7"),
        ("203.0.113.7", "198.51.100.1", "203.0.113.7"),  # untrusted peer: header ignored
        ("10.0.0.2", "198.51.100.1", "198.51.100.1"),
        ("10.0.0.2", "198.51.100.9, 198.51.100.1", "198.51.100.1"),  # nearest untrusted hop
        ("10.0.0.2", "198.51.100.1, 10.0.0.3", "198.51.100.1"),  # through two of our proxies
        ("10.0.0.2", "10.0.0.4, 10.0.0.3", "10.0.0.4"),  # all ours: the furthest one
        ("10.0.0.2", "garbage", None),
        ("10.0.0.2", "198.51.100.1, not-an-ip", None),
        ("::ffff:203.0.113.7", None, "203.0.113.7"),
        ("fd00::1", "2001:db8::5", "2001:db8::5"),
        ("2001:db8::1%eth0", None, "2001:db8::1"),
        (None, "198.51.100.1", None),
    ],
)
def test_client_ip(peer, forwarded, expected):
    assert client_ip(peer, forwarded, TRUSTED) == expected


@pytest.mark.parametrize(
    ("ip", "truncated"),
    [
        ("203.0.113.77", "203.0.113.0"),
        ("2001:db8:abcd:1234:5678::1", "2001:db8:abcd::"),
        ("::ffff:203.0.113.77", "203.0.113.0"),
        ("not an address", None),
        (None, None),
    ],
)
def test_anonymise(ip, truncated):
    assert anonymise(ip, "truncate") == truncated
    assert anonymise(ip, "remove") is None
