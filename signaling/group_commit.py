"""Group commit: work that arrives while a write is in flight waits and is then written
together, in one transaction, one batch at a time. On SQLite that is one writer turn for a
whole batch instead of one per item; on PostgreSQL one round of statements. The chat and
the whiteboard store their writes this way."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from signaling.errors import NotReady

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

# writes a batch in one transaction; each item's outcome in order: its result, or the
# exception that refuses that item alone
Commit = Callable[[list[T]], Awaitable[Sequence[R | Exception]]]


@dataclass(slots=True)
class _Waiting(Generic[T, R]):
    item: T
    done: asyncio.Future[R] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    def settle(self, outcome: R | BaseException) -> None:
        if self.done.done():  # the caller went away (cancelled); what was written stays
            return
        if isinstance(outcome, BaseException):
            self.done.set_exception(outcome)
        else:
            self.done.set_result(outcome)


class GroupCommit(Generic[T, R]):
    """Queues items and writes them with `commit`, a batch at a time. If a batch as a whole
    fails, its items are written one by one, so only the culprit is refused; exceptions of
    the `expected` kinds are not logged when that happens."""

    def __init__(
        self,
        what: str,
        commit: Commit[T, R],
        max_batch: int = 200,
        expected: tuple[type[Exception], ...] = (),
    ) -> None:
        self.what = what
        self.commit = commit
        self.max_batch = max_batch
        self.expected = expected
        self._queue: list[_Waiting[T, R]] = []
        self._writer: asyncio.Task[None] | None = None
        self._closed = False

    async def submit(self, item: T) -> R:
        """Queue an item and wait until its batch is committed."""
        if self._closed:
            raise NotReady("the server is shutting down")
        waiting: _Waiting[T, R] = _Waiting(item)
        self._queue.append(waiting)
        if self._writer is None:
            self._writer = asyncio.create_task(self._drain())
        return await waiting.done

    async def close(self) -> None:
        """Finish what is queued, then refuse new items."""
        self._closed = True
        if self._writer is not None:
            await asyncio.shield(self._writer)

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch = self._queue[: self.max_batch]
                del self._queue[: self.max_batch]
                await self._write(batch)
        except BaseException as exc:  # cancelled: nobody waits in vain
            for waiting in self._queue:
                waiting.settle(exc)
            self._queue.clear()
            raise
        finally:
            self._writer = None

    async def _write(self, batch: list[_Waiting[T, R]]) -> None:
        try:
            outcomes = await self.commit([w.item for w in batch])
        except asyncio.CancelledError:
            for waiting in batch:
                waiting.settle(NotReady("the server is shutting down"))
            raise
        except Exception as exc:
            if len(batch) == 1:
                batch[0].settle(exc)
                return
            if not isinstance(exc, self.expected):
                log.warning(
                    "a batch of %d %s failed; writing them one by one",
                    len(batch),
                    self.what,
                    exc_info=True,
                )
            for waiting in batch:  # so that only the culprit is refused
                await self._write([waiting])
            return
        for waiting, outcome in zip(batch, outcomes, strict=True):
            waiting.settle(outcome)
