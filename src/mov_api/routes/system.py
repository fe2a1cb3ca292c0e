"""Health checks and the service map (as the first MOV's gateway answered)."""

import asyncio
import time
from datetime import UTC, datetime
from typing import Any, Literal

from litestar import Controller, Response, get

from mov_api.routes.deps import ChecksDep
from mov_api.schemas import CheckOut, HealthOut, LiveOut, ServiceMapOut, iso_moment

CHECK_TIMEOUT_S = 2.0
SERVICES = {
    "auth": "/api/v1/auth",
    "events": "/api/v1/events",
    "enrollments": "/api/v1/enrollments",
    "chat": "/api/v1/chat",
    "notifications": "/api/v1/notifications",
}


async def _probe(check: Any) -> CheckOut:  # noqa: ANN401 - a HealthCheck
    began = time.perf_counter()
    status: Literal["up", "down"]
    try:
        await asyncio.wait_for(check(), CHECK_TIMEOUT_S)
        status = "up"
    except Exception:  # noqa: BLE001 - any failure means down; details stay in our logs
        status = "down"
    return CheckOut(status, round((time.perf_counter() - began) * 1000, 1))


async def _health(checks: ChecksDep) -> Response[HealthOut]:
    names = list(checks)
    results = await asyncio.gather(*(_probe(checks[n]) for n in names))
    healthy = all(r.status == "up" for r in results)
    body = HealthOut(
        success=healthy,
        message="MOV is healthy" if healthy else "MOV is unhealthy",
        timestamp=iso_moment(datetime.now(UTC)),
        checks=dict(zip(names, results, strict=True)),
    )
    return Response(body, status_code=200 if healthy else 503)


class SystemController(Controller):
    tags = ["operations"]

    @get("/health")
    async def health(self, checks: ChecksDep) -> Response[HealthOut]:
        """Every dependency checked: 200 when all are up, else 503."""
        return await _health(checks)

    @get("/health/ready")
    async def ready(self, checks: ChecksDep) -> Response[HealthOut]:
        """Ready to serve: the same checks as `/health`."""
        return await _health(checks)

    @get("/health/live")
    async def live(self) -> LiveOut:
        """The process is up and accepting requests."""
        return LiveOut(
            success=True, message="MOV is alive", timestamp=iso_moment(datetime.now(UTC))
        )

    @get("/api/v1")
    async def service_map(self) -> ServiceMapOut:
        return ServiceMapOut(
            success=True,
            message="MOV Event Management API Gateway",
            version="1.0.0",
            services=SERVICES,
        )
