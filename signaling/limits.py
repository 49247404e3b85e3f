"""Rate limits kept in memory: a token bucket per key (a connection, an address) and a
sliding window of failures per key. Plain state, no I/O; keys are hashed so that no raw
address is held longer than needed."""

from __future__ import annotations

import hashlib
import time
from collections import deque
from collections.abc import Callable


class Bucket:
    """A token bucket per key: `rate` tokens a second, holding at most `burst` (by default
    twice the rate)."""

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = burst if burst is not None else 2 * rate
        self.clock = clock
        self._state: dict[str, tuple[float, float]] = {}

    def take(self, key: str) -> bool:
        now = self.clock()
        tokens, then = self._state.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        if tokens < 1:
            self._state[key] = (tokens, now)
            return False
        self._state[key] = (tokens - 1, now)
        return True

    def forget(self, key: str) -> None:
        self._state.pop(key, None)

    def prune(self) -> None:
        """Forget every key whose bucket has filled up again (it is as if never used)."""
        now = self.clock()
        for key, (tokens, then) in list(self._state.items()):
            if tokens + (now - then) * self.rate >= self.burst:
                del self._state[key]


def hashed(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:32]


class FailureWindow:
    """At most `limit` failures per key in any `seconds`; after that every attempt is
    refused until the oldest failure has aged out, right or wrong (so guessing stops)."""

    def __init__(
        self, limit: int, seconds: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit, self.seconds, self.clock = limit, seconds, clock
        self._failures: dict[str, deque[float]] = {}

    def _prune(self, now: float) -> None:
        for key, times in list(self._failures.items()):
            while times and times[0] <= now - self.seconds:
                times.popleft()
            if not times:
                del self._failures[key]

    def blocked(self, key: str) -> bool:
        self._prune(self.clock())
        return len(self._failures.get(hashed(key), ())) >= self.limit

    def failed(self, key: str) -> None:
        self._failures.setdefault(hashed(key), deque()).append(self.clock())
