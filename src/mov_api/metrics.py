"""`/metrics` in Prometheus' text format (prometheus-client), safe across processes.

Counted as they happen, in every process: HTTP requests by route template, method and status
(`route` is the template Litestar matched, such as `/api/v1/events/{event_id:str}`, or
`unmatched`: a client cannot grow the series by inventing paths), their latency (a histogram:
p50/p95/p99 come from `histogram_quantile`), rate-limit refusals, enrollments by placement
(from the changes each commit recorded, however it was made), and the open Socket.IO
connections. Read when scraped: the outbox backlog and the age of its oldest record, the
e-mail deliveries by status (PENDING, SENT, FAILED, SKIPPED: wherever the notification store
lives, so any process tells what the workers did), and the database pool's connections in
use.

Several processes (`--workers N`, the worker companion) each write their values to files in
`PROMETHEUS_MULTIPROC_DIR`, which `mov serve` sets to a fresh folder in the data folder
before any of them starts; a scrape of any process adds them all up. Without it (tests that
build the app in-process) the values are this process's.

`/metrics` is not public: it answers only with `Authorization: Bearer <MOV_METRICS_TOKEN>`
(401 otherwise) and does not exist (404) when no token is configured.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.handlers import HTTPRouteHandler
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from mov_adapters.bootstrap import Runtime
from mov_core.domain.changes import EnrollmentConfirmed, PromotedFromWaitlist, Waitlisted
from mov_core.domain.errors import InvalidToken
from mov_core.domain.notifications import DeliveryStatus
from mov_core.ports.errors import PortError
from mov_core.ports.persistence import Committed

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED = "unmatched"

REQUESTS = Counter("mov_http_requests", "HTTP requests answered", ["route", "method", "status"])
LATENCY = Histogram(
    "mov_http_request_duration_seconds",
    "Time from a request's arrival to its answer's end",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
RATE_LIMITED = Counter("mov_rate_limit_refusals", "Requests refused with 429", ["limit"])
ENROLLMENTS = Counter(
    "mov_enrollments", "Places taken, by placement (promoted: from the waitlist)", ["placement"]
)
SOCKETS = Gauge("mov_open_sockets", "Open Socket.IO connections", multiprocess_mode="livesum")
_PLACEMENTS = {
    EnrollmentConfirmed: "enrolled",
    Waitlisted: "waitlisted",
    PromotedFromWaitlist: "promoted",
}


def observe_request(route: str | None, method: str, status: int, seconds: float) -> None:
    template = route or UNMATCHED
    REQUESTS.labels(template, method, str(status)).inc()
    LATENCY.labels(template, method).observe(seconds)


async def count_enrollments(committed: Committed) -> None:
    """The dispatcher's subscriber: each place a commit took, by placement."""
    for change in committed.changes:
        placement = _PLACEMENTS.get(type(change))
        if placement is not None:
            ENROLLMENTS.labels(placement).inc()


def _scraped(
    runtime: Runtime,
    backlog: tuple[int, datetime | None] | None,
    deliveries: Mapping[DeliveryStatus, int] | None,
) -> bytes:
    """What is read at scrape time, in a registry of its own (one process answers it)."""
    registry = CollectorRegistry()
    if deliveries is not None:
        by_status = Gauge("mov_deliveries", "E-mail deliveries by status", ["status"],
                          registry=registry)  # fmt: skip
        for status, count in deliveries.items():
            by_status.labels(status.value).set(count)
    if backlog is not None:
        waiting, oldest = backlog
        Gauge("mov_outbox_backlog", "Changes waiting for the worker", registry=registry).set(
            waiting
        )
        age = 0.0 if oldest is None else (datetime.now(UTC) - oldest).total_seconds()
        Gauge(
            "mov_outbox_oldest_age_seconds",
            "Age of the oldest change waiting (0: none waits)",
            registry=registry,
        ).set(max(age, 0.0))
    for name, reading in runtime.gauges.items():
        Gauge(f"mov_{name}", f"{name.replace('_', ' ')} (this process)", registry=registry).set(
            reading()
        )
    return generate_latest(registry)


def _counted() -> bytes:
    if os.environ.get(MULTIPROCESS_DIR):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    from prometheus_client import REGISTRY  # noqa: PLC0415 - only without multiprocess files

    return generate_latest(REGISTRY)


def metrics_route(runtime: Runtime) -> HTTPRouteHandler:
    """The `/metrics` handler over this runtime (not in the OpenAPI document)."""
    token = runtime.settings.metrics_token

    @get("/metrics", include_in_schema=False)
    async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
        if token is None:
            raise NotFoundException
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            raise InvalidToken
        try:
            backlog = await runtime.services.outbox_backlog()
        except PortError:  # the database is down: the counters still answer
            backlog = None
        try:
            deliveries = await runtime.services.delivery_counts()
        except PortError:  # so is the notification store
            deliveries = None
        body = _counted() + _scraped(runtime, backlog, deliveries)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return metrics
