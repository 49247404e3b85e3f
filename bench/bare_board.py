"""The whiteboard baselines, with nothing of Parley's, and the document helpers both sides use.

- `serve` (`python bench/bare_board.py --port N`) is issue 8's S10 baseline: a bare
  python-socketio server that applies each `board_update` to its room's pycrdt document and
  fans it out to the others in the room (`emit(room=..., skip_sid=...)`), acknowledged; a
  `board_sync` is answered with `get_update(state_vector)`. No sessions, no validation, no
  sealing, no storage. The benchmark's clients drive it exactly as they drive Parley.
- `fan_out` and `late_join` are pycrdt alone, in the benchmark process, with no server and no
  sockets (the "pycrdt" runs, a diagnostic): an edit is made in the sender's document and
  encoded as an update, then applied to a copy standing for the server's and to the two
  other participants' documents; a late joiner's sync is the full document encoded as one
  update (`encode_state_as_update`) and applied to a fresh document.

The same documents and the same edits as the Parley runs of bench/board.py, which imports
the element and edit helpers from here."""

from __future__ import annotations

import argparse
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


def serve(port: int, max_event_bytes: int) -> None:
    """The bare board server (see the module's docstring) on 127.0.0.1:`port`."""
    import socketio
    from aiohttp import web

    sio = socketio.AsyncServer(
        async_mode="aiohttp", transports=["websocket"], max_http_buffer_size=max_event_bytes
    )
    app = web.Application()
    sio.attach(app)
    app.router.add_get("/healthz", lambda request: web.json_response({"ok": True}))
    docs: dict[str, Doc[Any]] = {}  # room -> its board

    @sio.on("join")
    async def join(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        room = data["consultation_id"]
        docs.setdefault(room, Doc())
        await sio.enter_room(sid, room)
        return {"ok": True, "data": {}}

    @sio.on("board_update")
    async def board_update(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        room = data["consultation_id"]
        docs[room].apply_update(data["update"])
        out = {"consultation_id": room, "from": sid, "update": data["update"]}
        await sio.emit("board_update", out, room=room, skip_sid=sid)
        return {"ok": True, "data": {}}

    @sio.on("board_sync")
    async def board_sync(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        update = docs[data["consultation_id"]].get_update(data["state_vector"])
        return {"ok": True, "data": {"update": update}}

    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    # Parley's default limit of one event (PARLEY_BOARD_UPDATE_MAX_BYTES) is 256 KiB
    parser.add_argument("--max-event-bytes", type=int, default=1024 * 1024)
    args = parser.parse_args()
    serve(args.port, args.max_event_bytes)
