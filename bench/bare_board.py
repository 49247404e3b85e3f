"""The whiteboard baseline: pycrdt alone, in the benchmark process, with no server, no
sockets and nothing of Parley's. The same documents and the same edits as the Parley runs
of bench/board.py (which imports the element and edit helpers from here): an edit is made
in the sender's document and encoded as an update, then applied to a copy standing for the
server's and to the two other participants' documents; a late joiner's sync is the full
document encoded as one update (`encode_state_as_update`) and applied to a fresh document."""

from __future__ import annotations

import time
from typing import Any

from pycrdt import Doc, Map

ELEMENTS = "elements"  # the browser's root map: element id -> Excalidraw element as JSON
EPOCH_MS = 1_763_700_000_000  # a fixed "updated" time, so runs build identical elements


def element(n: int, author: int = 0) -> dict[str, Any]:
    """Excalidraw 0.18's JSON for a rectangle (every field it stores, with its fractional
    `index`), as client/src/protocol/boardBinding.ts puts it in the "elements" map: about
    380 bytes as a Yjs update."""
    return {
        "id": f"el-{n:06d}",
        "type": "rectangle",
        "x": (n * 37) % 2000,
        "y": (n * 91) % 1500,
        "width": 120 + n % 50,
        "height": 80 + n % 30,
        "angle": 0,
        "strokeColor": "#1e1e1e",
        "backgroundColor": "transparent",
        "fillStyle": "solid",
        "strokeWidth": 2,
        "strokeStyle": "solid",
        "roughness": 1,
        "opacity": 100,
        "groupIds": [],
        "frameId": None,
        "index": f"a{n:06d}",
        "roundness": {"type": 3},
        "seed": n * 7919 % 2**31,
        "version": 1,
        "versionNonce": (n * 104_729 + author) % 2**31,
        "isDeleted": False,
        "boundElements": None,
        "updated": EPOCH_MS + n,
        "link": None,
        "locked": False,
    }


class Editor:
    """A participant's document whose local changes come out as Yjs updates, the way
    yjs's `doc.on("update")` hands them to the browser (one update per transaction)."""

    def __init__(self) -> None:
        self.doc: Doc[Any] = Doc()
        self._elements = self.doc.get(ELEMENTS, type=Map)
        self._local: list[bytes] | None = None  # collecting while a local edit runs
        self._sub = self.doc.observe(self._on_update)

    def _on_update(self, event: Any) -> None:
        if self._local is not None:
            self._local.append(event.update)

    def add(self, first: int, count: int = 1, author: int = 0) -> bytes:
        """Put elements first .. first+count-1 on the board in one transaction; the update."""
        self._local = []
        try:
            with self.doc.transaction():
                for n in range(first, first + count):
                    self._elements[f"el-{n:06d}"] = element(n, author)
            (update,) = self._local
        finally:
            self._local = None
        return bytes(update)

    def apply(self, update: bytes) -> None:
        self.doc.apply_update(update)


def count(doc: Doc[Any]) -> int:
    return len(doc.get(ELEMENTS, type=Map))


def fan_out(
    sender: Editor, seq: int, author: int, server: Doc[Any], receivers: list[Editor]
) -> tuple[list[float], int]:
    """One edit, as bench/board.py makes it at its scheduled time: element `seq` added by
    `sender`, the update applied to the server's copy, then to each receiver. The time from
    the start of the edit to each receiver's document having it (seconds), and the update's
    size in bytes."""
    started = time.perf_counter()
    update = sender.add(seq, 1, author)
    server.apply_update(update)
    done = []
    for receiver in receivers:
        receiver.apply(update)
        done.append(time.perf_counter() - started)
    return done, len(update)


def late_join(server: Doc[Any]) -> tuple[float, int, int]:
    """A late joiner's sync: the whole document as one update, applied to a fresh document.
    Seconds taken, the update's size and how many elements the new document has."""
    started = time.perf_counter()
    update = server.get_update()  # encode_state_as_update against an empty state vector
    fresh: Doc[Any] = Doc()
    fresh.apply_update(update)
    took = time.perf_counter() - started
    return took, len(update), count(fresh)
