"""Yjs wire formats, checked and combined with pycrdt. No I/O: plain functions on bytes.

The server treats the whiteboard document as opaque: it only needs to know that an update
is a real Yjs (v1) update, to keep its own copy current, and to fold many updates into one
snapshot without losing any of them."""

from __future__ import annotations

import json
from typing import Any

from pycrdt import Decoder, Doc, get_update, merge_updates

# An update that changes nothing: no structs, an empty delete set (what yjs sends when a
# client has nothing the other side lacks).
EMPTY_UPDATE = b"\x00\x00"


class NotYjs(ValueError):
    """The bytes are not what they claim to be (a Yjs update, state vector or awareness)."""


def _is_panic(exc: BaseException) -> bool:
    # yrs reports some malformed input by panicking; pyo3 raises that as PanicException,
    # a BaseException that is not importable by name
    return type(exc).__name__ == "PanicException"


def check_update(update: bytes) -> None:
    """Decode and integrate `update` into an empty scratch document; NotYjs if it is not a
    well-formed Yjs v1 update. Nothing outside the scratch document is touched."""
    try:
        Doc().apply_update(update)
    except Exception as exc:
        raise NotYjs("not a Yjs update") from exc
    except BaseException as exc:
        if _is_panic(exc):
            raise NotYjs("not a Yjs update") from None
        raise


def apply(doc: Doc[Any], update: bytes) -> None:
    """Apply an update known to decode; NotYjs if integrating it fails after all."""
    try:
        doc.apply_update(update)
    except Exception as exc:
        raise NotYjs("the update could not be applied") from exc
    except BaseException as exc:
        if _is_panic(exc):
            raise NotYjs("the update could not be applied") from None
        raise


def diff(doc: Doc[Any], state_vector: bytes) -> bytes:
    """What `doc` has that a peer with this state vector lacks (sync step 2)."""
    try:
        return doc.get_update(state_vector)
    except Exception as exc:
        raise NotYjs("not a Yjs state vector") from exc
    except BaseException as exc:
        if _is_panic(exc):
            raise NotYjs("not a Yjs state vector") from None
        raise


def load(parts: list[bytes]) -> Doc[Any]:
    doc: Doc[Any] = Doc()
    for part in parts:
        apply(doc, part)
    return doc


def has_unintegrated(doc: Doc[Any], parts: list[bytes]) -> bool:
    """Whether any of `parts` holds structs `doc` could not integrate yet (they wait for an
    update they depend on, which another node may not have delivered)."""
    state = doc.get_state()
    # a v1 update starts with the number of clients that have structs in it
    return any(get_update(part, state)[:1] != b"\x00" for part in parts)


def snapshot(parts: list[bytes]) -> bytes:
    """One update equivalent to all `parts` together. Normally the document's own encoding
    (deleted content garbage-collected); if some structs still wait for a dependency, the
    lossless merge of all parts instead, so nothing is dropped. The merge is made only then:
    pycrdt holds the GIL throughout, and for a 2 MB board it took longer than the rest."""
    doc = load(parts)
    if has_unintegrated(doc, parts):
        return merge_updates(*parts) if len(parts) > 1 else parts[0]
    return doc.get_update()


def check_awareness(update: bytes) -> None:
    """Decode a y-protocols awareness update completely: a count, then per client its id,
    clock and JSON state (an object, or null for "gone"); nothing may follow."""
    decoder = Decoder(update)
    try:
        count = decoder.read_var_uint()
        if count > 1000:
            raise NotYjs("too many awareness states")
        for _ in range(count):
            decoder.read_var_uint()  # client id
            decoder.read_var_uint()  # clock
            raw = decoder.read_message()
            if raw is None or decoder.length < 0:
                raise NotYjs("truncated awareness update")
            state = json.loads(raw.decode("utf-8")) if raw else None
            if state is not None and not isinstance(state, dict):
                raise NotYjs("an awareness state is an object or null")
        if decoder.length != 0:
            raise NotYjs("trailing bytes after the awareness update")
    except NotYjs:
        raise
    except (IndexError, RuntimeError, UnicodeDecodeError, ValueError) as exc:
        raise NotYjs("not an awareness update") from exc
