"""The server access log, kept in the database. Requests are recorded without waiting: a
writer task inserts them in batches, so logging never slows a request down."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from types import TracebackType
from typing import Any, cast
from urllib.parse import urlsplit

from sqlalchemy import Table, insert
from ua_parser import parse as parse_user_agent

from storage.clock import pause
from storage.db import Database
from storage.models import AccessEntry

log = logging.getLogger(__name__)

# Entries are plain rows written with one executemany: every request makes one, and
# building an ORM object per request and flushing them through the unit of work cost more
# than the insert (issue 8's join storm: three requests per join)
_ADD = insert(cast(Table, AccessEntry.__table__))


@dataclass(frozen=True, slots=True)
class Client:
    browser: str  # family and major.minor version, e.g. "Chrome 156.0"
    os: str  # family and major version, e.g. "Linux", "iOS 17"


def _joined(family: str | None, *versions: str | None) -> str:
    if not family or family == "Other":
        return "Other"
    version = ".".join(v for v in versions if v)
    return f"{family} {version}".strip()[:80]


@lru_cache(maxsize=4096)
def client_of(user_agent: str) -> Client:
    """Browser and operating system from a User-Agent header (uap-core's rules)."""
    result = parse_user_agent(user_agent[:1000])
    ua, os = result.user_agent, result.os
    return Client(
        browser=_joined(ua.family, ua.major, ua.minor) if ua else "Other",
        os=_joined(os.family, os.major) if os else "Other",
    )


def referrer_origin(referrer: str | None) -> str | None:
    """Only the origin of a referrer: its path or query may hold a token."""
    if not referrer:
        return None
    parts = urlsplit(referrer)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"[:200]


class AccessLog:
    """Buffers entries and writes them in batches; an async context manager that flushes
    what it holds when it stops (it lets a write in progress finish: never cancelled)."""

    def __init__(self, db: Database, *, max_pending: int = 10_000, interval: float = 0.5) -> None:
        self.db = db
        self.max_pending = max_pending
        self.interval = interval
        self.dropped = 0
        self._pending: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    def record(
        self,
        *,
        at: datetime,
        kind: str,
        method: str,
        route: str,
        status: int,
        bytes_sent: int,
        ip: str | None,
        user_agent: str,
        referrer: str | None,
    ) -> None:
        if len(self._pending) >= self.max_pending:
            self.dropped += 1  # the database is not keeping up; never block a request for it
            return
        client = client_of(user_agent)
        self._pending.append(
            {
                "at": at,
                "kind": kind,
                "method": method[:8],
                "route": route[:200],
                "status": status,
                "bytes_sent": bytes_sent,
                "ip": ip,
                "ip_done": False,
                "browser": client.browser,
                "os": client.os,
                "referrer": referrer_origin(referrer),
            }
        )

    async def flush(self) -> None:
        batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            async with self.db.session() as s:
                await s.execute(_ADD, batch)
        except Exception:
            log.exception("writing %d access log entries failed", len(batch))

    async def _run(self) -> None:
        while not await pause(self._stop, self.interval):
            await self.flush()

    async def __aenter__(self) -> AccessLog:
        await asyncio.to_thread(client_of, "Mozilla/5.0")  # compiles the parser's rules
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
        await self.flush()
