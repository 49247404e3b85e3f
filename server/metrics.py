"""Prometheus metrics (prometheus-client, one registry per application). Counters and
histograms are fed by the core through the Observer port; gauges are read at scrape time."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
from collections.abc import Iterator

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import func, select

from server.config import Settings
from signaling.errors import NotAuthorised
from signaling.fanout import RoutedRedisManager
from signaling.ops import Ops
from storage.addresses import Network, client_ip, parse_networks
from storage.db import Database
from storage.models import Consultation, ConsultationKind, ConsultationState

WAIT_BUCKETS = (5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600)
JOIN_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60)


class Metrics:
    """Implements `signaling.ports.Observer`."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.events = Counter(
            "parley_events", "Client-to-server events handled", ["event"], registry=r
        )
        self.refusals = Counter(
            "parley_refusals", "Error answers sent, by code", ["code"], registry=r
        )
        self.wait = Histogram(
            "parley_queue_wait_seconds",
            "Time from waiting to admission",
            buckets=WAIT_BUCKETS,
            registry=r,
        )
        self.join = Histogram(
            "parley_join_latency_seconds",
            "Time from admission to entering the room",
            buckets=JOIN_BUCKETS,
            registry=r,
        )
        self.uploads = Counter("parley_uploads", "Files shared", registry=r)
        self.upload_bytes = Counter("parley_upload_bytes", "Bytes of files shared", registry=r)
        self.turn = Counter("parley_turn_credentials", "TURN credentials handed out", registry=r)
        self.retention = Counter(
            "parley_retention_items", "Retention job results", ["kind"], registry=r
        )
        self.sockets = Gauge("parley_sockets_connected", "Connected Socket.IO clients", registry=r)
        self.consultations = Gauge(
            "parley_consultations", "Consultations by state", ["state"], registry=r
        )
        self.queue = Gauge("parley_queue_length", "Customers waiting in instant queues", registry=r)
        self.paths = Gauge(
            "parley_media_paths", "Reported peer connections by path", ["path"], registry=r
        )
        self.probe_ok = Gauge(
            "parley_probe_ok", "1 if the last self-probe got its media back", registry=r
        )
        self.probe_rtt = Gauge(
            "parley_probe_rtt_seconds", "Round-trip time of the last self-probe", registry=r
        )
        self.access_dropped = Gauge(
            "parley_access_log_dropped", "Access log entries dropped under load", registry=r
        )
        self.tasks = Gauge(
            "parley_event_loop_tasks", "asyncio tasks in the server's event loop", registry=r
        )
        self.tasks.set_function(loop_tasks)

    # Observer ------------------------------------------------------------------------------

    def event(self, name: str) -> None:
        self.events.labels(name).inc()

    def refused(self, code: str) -> None:
        self.refusals.labels(code).inc()

    def waited(self, seconds: float) -> None:
        self.wait.observe(max(0.0, seconds))

    def joined(self, seconds: float) -> None:
        self.join.observe(max(0.0, seconds))

    def uploaded(self, size: int) -> None:
        self.uploads.inc()
        self.upload_bytes.inc(size)

    def turn_issued(self) -> None:
        self.turn.inc()


class Fanout:
    """A collector of what this node's Redis fan-out received and how many consultation
    room channels it listens to, read from the manager when scraped."""

    def __init__(self, manager: RoutedRedisManager) -> None:
        self.manager = manager

    def collect(self) -> Iterator[Metric]:
        received = CounterMetricFamily(
            "parley_fanout_received",
            "Messages this node received through Redis, by channel (its own come back too)",
            labels=["channel"],
        )
        for channel in ("cluster", "room"):
            received.add_metric([channel], self.manager.received[channel])
        yield received
        yield GaugeMetricFamily(
            "parley_fanout_room_channels",
            "Consultation room channels this node listens to",
            value=len(self.manager.subscribed),
        )


def loop_tasks() -> float:
    """The tasks of the running event loop, counted when scraped (a scrape is served in the
    loop); 0 when collected outside any loop."""
    try:
        return len(asyncio.all_tasks())
    except RuntimeError:  # no running event loop in this thread
        return 0.0


def allowed(request: web.Request, settings: Settings, networks: tuple[Network, ...]) -> bool:
    """A configured bearer token, or an address in the configured networks (default: the
    host itself)."""
    if settings.metrics_token is not None:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if hmac.compare_digest(given.encode(), settings.metrics_token.get_secret_value().encode()):
            return True
    peer = client_ip(request.remote, None, ())
    return peer is not None and any(ipaddress.ip_address(peer) in net for net in networks)


def networks_of(settings: Settings) -> tuple[Network, ...]:
    return parse_networks(settings.metrics_networks)


async def render(
    metrics: Metrics, db: Database, ops: Ops, sockets: int, dropped: int
) -> web.Response:
    """The exposition, with the gauges read now."""
    metrics.sockets.set(sockets)
    paths = ops.paths()
    for path in ("direct", "stun", "relay", "unknown"):
        metrics.paths.labels(path).set(paths.get(path, 0))
    metrics.access_dropped.set(dropped)
    async with db.reading() as s:
        counts = dict(
            (
                await s.execute(
                    select(Consultation.state, func.count()).group_by(Consultation.state)
                )
            ).all()
        )
        queued = await s.scalar(
            select(func.count()).where(
                Consultation.kind == ConsultationKind.instant,
                Consultation.state == ConsultationState.waiting,
            )
        )
    for state in ConsultationState:
        metrics.consultations.labels(str(state)).set(counts.get(state, 0))
    metrics.queue.set(queued or 0)
    return web.Response(
        body=generate_latest(metrics.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )


def refuse() -> NotAuthorised:
    return NotAuthorised("metrics are open to the configured networks or token only")
