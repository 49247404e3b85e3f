"""Parley's Socket.IO packets (orjson out) mean what python-socketio's own would."""

from __future__ import annotations

import json
from typing import Any

import pytest
from socketio import packet as sio_packet

from signaling.adapter import Packet

CASES: list[Any] = [
    ["queue_updated", {"queue": [{"name": "Jürgen Ëßer \u2019", "since": None}], "waiting": 3}],
    ["chat", {"body": 'line\nbreak "quoted" </script> \u2028', "seq": 2**53, "ok": True}],
    ["signal", {"n": 1.5, "empty": {}, "list": [], "nested": [[{"deep": [1, 2, 3]}]]}],
    ["ack", {1: "int keys become strings, as in the standard library"}],
]


@pytest.mark.parametrize("data", CASES)
def test_a_packet_encodes_to_the_same_json_as_python_socketios(data: Any) -> None:
    ours = Packet(sio_packet.EVENT, data=data, namespace="/")
    theirs = sio_packet.Packet(sio_packet.EVENT, data=data, namespace="/")
    assert ours.packet_type == theirs.packet_type == sio_packet.EVENT
    encoded, expected = ours.encode(), theirs.encode()
    assert encoded[0] == expected[0]
    assert json.loads(encoded[1:]) == json.loads(expected[1:])


@pytest.mark.parametrize(
    "data",
    [
        ["board_update", b"\x00\x01yjs"],
        ["board_sync", {"consultation_id": "c", "updates": [[1, bytearray(b"\x02")]]}],
    ],
)
def test_bytes_anywhere_in_a_payload_make_a_binary_packet(data: Any) -> None:
    ours = Packet(sio_packet.EVENT, data=data, namespace="/")
    assert ours.packet_type == sio_packet.BINARY_EVENT
    encoded = ours.encode()
    assert isinstance(encoded, list) and len(encoded) == 2  # the JSON, then the bytes
    theirs = sio_packet.Packet(sio_packet.EVENT, data=data, namespace="/").encode()
    assert encoded[0][:3] == theirs[0][:3] == "51-"  # a binary event, one attachment
    assert json.loads(encoded[0][3:]) == json.loads(theirs[0][3:])
    assert encoded[1:] == theirs[1:]


def test_inbound_packets_are_read_by_the_standard_library() -> None:
    """NaN reaches the payload checks (and their clear error) rather than failing in the
    codec, as before."""
    decoded = Packet(encoded_packet='2["chat",{"body":NaN}]')
    assert decoded.data[0] == "chat"
    assert decoded.data[1]["body"] != decoded.data[1]["body"]  # NaN
