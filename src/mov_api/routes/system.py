"""Health checks and the service map (as the first MOV's gateway answered)."""

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from litestar import Controller, Response, get

from mov_adapters.wire import iso
from mov_api.routes.deps import ChecksDep

CHECK_TIMEOUT_S = 2.0
SERVICES = {
    "auth": "/api/v1/auth",
    "events": "/api/v1/events",
    "enrollments": "/api/v1/enrollments",
    "chat": "/api/v1/chat",
    "notifications": "/api/v1/notifications",
}


async def _probe(check: Any) -> dict[str, Any]:  # noqa: ANN401 - a HealthCheck
    began = time.perf_counter()
    try:
        await asyncio.wait_for(check(), CHECK_TIMEOUT_S)
        status = "up"
    except Exception:  # noqa: BLE001 - any failure means down; details stay in our logs
        status = "down"
    return {"status": status, "latencyMs": round((time.perf_counter() - began) * 1000, 1)}


async def _health(checks: ChecksDep) -> Response[dict[str, Any]]:
    names = list(checks)
    results = await asyncio.gather(*(_probe(checks[n]) for n in names))
    statuses = dict(zip(names, results, strict=True))
    healthy = all(r["status"] == "up" for r in results)
    body = {
        "success": healthy,
        "message": "MOV is healthy" if healthy else "MOV is unhealthy",
        "timestamp": iso(datetime.now(UTC)),
        "checks": statuses,
    }
    return Response(body, status_code=200 if healthy else 503)


class SystemController(Controller):
    tags = ["operations"]

    @get("/health")
    async def health(self, checks: ChecksDep) -> Response[dict[str, Any]]:
        """Every dependency checked: 200 when all are up, else 503."""
        return await _health(checks)

    @get("/health/ready")
    async def ready(self, checks: ChecksDep) -> Response[dict[str, Any]]:
        """Ready to serve: the same checks as `/health`."""
        return await _health(checks)

    @get("/health/live")
    async def live(self) -> dict[str, Any]:
        """The process is up and accepting requests."""
        return {"success": True, "message": "MOV is alive", "timestamp": iso(datetime.now(UTC))}

    @get("/api/v1")
    async def service_map(self) -> dict[str, Any]:
        return {
            "success": True,
            "message": "MOV Event Management API Gateway",
            "version": "1.0.0",
            "services": SERVICES,
        }
