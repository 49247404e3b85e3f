"""Presence bookkeeping: rooms, last sockets, eviction."""

from __future__ import annotations

from signaling.presence import Member, Presence
from signaling.rules import Actor

ACTOR = Actor("customer", participant_id="p1", consultation_id="c1")
MEMBER = Member("customer", "Erika Mustermann")


def test_last_socket_of_a_participant():
    presence = Presence()
    presence.connect("s1", ACTOR, "k")
    presence.connect("s2", ACTOR, "k")
    assert presence.join("s1", "c1", "p1", MEMBER) is True
    assert presence.join("s2", "c1", "p1", MEMBER) is False
    assert presence.disconnect("s1") == []
    assert presence.in_room("c1", "p1")
    assert presence.disconnect("s2") == [("c1", "p1")]
    assert not presence.in_room("c1", "p1") and presence.room("c1") == frozenset()
    assert len(presence) == 0


def test_sockets_of_a_participant_whether_joined_or_not():
    presence = Presence()
    presence.connect("s1", ACTOR, "k")
    presence.connect("s2", ACTOR, "k")
    presence.join("s2", "c1", "p1", MEMBER)
    presence.connect("s3", Actor("customer", participant_id="p2", consultation_id="c1"), "o")
    presence.connect("s4", Actor("advisor", account_id="a1", team_id="t1"), "a")
    assert sorted(presence.sids_of_actor("p1")) == ["s1", "s2"]
    assert presence.sids_of_actor("p2") == ["s3"]
    presence.disconnect("s2")
    assert presence.sids_of_actor("p1") == ["s1"]
    presence.disconnect("s1")
    presence.disconnect("s1")  # twice: a socket the server already forgot
    assert presence.sids_of_actor("p1") == [] and presence.sids_of_actor("nobody") == []
    assert presence.sids_of_actor("p2") == ["s3"]


def test_evict_takes_every_socket_out():
    presence = Presence()
    for sid in ("s1", "s2"):
        presence.connect(sid, ACTOR, "k")
        presence.join(sid, "c1", "p1", MEMBER)
    presence.connect("s3", ACTOR, "other")
    presence.join("s3", "c1", "p2", MEMBER)
    assert presence.evict("c1", "p1") == {"s1", "s2"}
    assert "p1" not in presence.members and "p2" in presence.members
    assert presence.participant_in("s1", "c1") is None
    assert presence.room("c1") == frozenset({"p2"})
    assert presence.disconnect("s1") == []
    assert presence.sids_of_session("other") == ["s3"]


def test_advisors_online_counts_accounts_on_every_node():
    presence = Presence()
    changes = []
    presence.on_change = lambda: changes.append(1)
    anna = Actor("advisor", account_id="a1", team_id="t1")
    presence.connect("s1", anna, "k1")
    presence.connect("s2", anna, "k2")  # a second tab: still one advisor
    presence.connect("s3", ACTOR, "k3")  # customers change nothing the others count
    assert len(changes) == 2
    assert presence.local_advisors() == {"t1": ["a1"]}
    presence.set_remote_advisors("node-b", {"t1": ["a1", "a2"], "t2": ["a3"]})
    assert (presence.advisors_online("t1"), presence.advisors_online("t2")) == (2, 1)
    presence.drop_remote("node-b")
    assert (presence.advisors_online("t1"), presence.advisors_online("t2")) == (1, 0)
    presence.disconnect("s1")
    presence.disconnect("s2")
    assert presence.advisors_online("t1") == 0 and len(changes) == 4
