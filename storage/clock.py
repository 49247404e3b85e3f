"""An injectable clock, so time-dependent rules can be tested by travelling in time; and
waiting that a stop interrupts."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


async def pause(stop: asyncio.Event, seconds: float) -> bool:
    """Wait `seconds`, or less if `stop` is set meanwhile; True when it is time to stop.
    Periodic writers wait with this rather than being cancelled: on SQLite a write cut off
    by a cancellation can leave the database locked for every other writer."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()
