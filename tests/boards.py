"""Yjs clients for tests: a pycrdt document that speaks Parley's whiteboard events over a
real Socket.IO client (tests.clients.Socket), as the browser's yjs does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pycrdt import Array, Doc, Map, Text

from tests.clients import Socket

EMPTY = b"\x00\x00"


def edit(doc: Doc[Any], change: Callable[[Doc[Any]], None]) -> bytes:
    """Make a local change; return the update it produced (what yjs's "update" event
    would hand the browser)."""
    before = doc.get_state()
    with doc.transaction():
        change(doc)
    return doc.get_update(before)


def content(doc: Doc[Any]) -> dict[str, Any]:
    """The document's visible state, for comparing documents. "elements" and "view" are
    the browser's root maps (client/src/protocol/board.ts); "strokes" and "notes" are
    extra roots the tests use to exercise arrays and text too."""
    return {
        "elements": doc.get("elements", type=Map).to_py(),
        "view": doc.get("view", type=Map).to_py(),
        "strokes": doc.get("strokes", type=Array).to_py(),
        "notes": str(doc.get("notes", type=Text)),
    }


class YClient:
    def __init__(self, sock: Socket, consultation_id: str) -> None:
        self.sock = sock
        self.cid = consultation_id
        self.doc: Doc[Any] = Doc()

    async def sync(self) -> dict[str, Any]:
        """Sync step 1 and 2 with the server; send what it lacks."""
        answer = await self.sock.ok(
            "board_sync", {"consultation_id": self.cid, "state_vector": self.doc.get_state()}
        )
        self.doc.apply_update(answer["update"])
        missing = self.doc.get_update(answer["state_vector"])
        if missing != EMPTY:
            await self.send(missing)
        return answer

    async def send(self, update: bytes) -> dict[str, Any]:
        return await self.sock.call("board_update", {"consultation_id": self.cid, "update": update})

    async def draw(self, change: Callable[[Doc[Any]], None]) -> bytes:
        update = edit(self.doc, change)
        ack = await self.send(update)
        assert ack["ok"], ack
        return update

    async def receive(self, count: int = 1) -> list[dict[str, Any]]:
        """Apply the next `count` relayed updates."""
        got = []
        for _ in range(count):
            data = await self.sock.next("board_update")
            self.doc.apply_update(data["update"])
            got.append(data)
        return got

    def content(self) -> dict[str, Any]:
        return content(self.doc)


def add_element(element_id: str, **fields: Any) -> Callable[[Doc[Any]], None]:
    """Put one element on the board as the browser does: plain JSON under its id."""

    def change(doc: Doc[Any]) -> None:
        doc.get("elements", type=Map)[element_id] = {"id": element_id, **fields}

    return change


def element_ids(doc: Doc[Any]) -> list[str]:
    return sorted(doc.get("elements", type=Map).keys())
