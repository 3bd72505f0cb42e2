"""The probes an orchestrator polls: ``GET /healthz`` (the process answers) and ``GET /readyz`` (it can serve: each
readiness check passes). Both are open (a probe carries no credentials) and say nothing an outsider could use: check
names and short reasons, never addresses or secrets.

Public names: ``ReadinessCheck``, ``health_router(checks)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from fastapi import APIRouter
from fastapi.responses import JSONResponse

ReadinessCheck = Callable[[], "str | None"]
"""None when ready; otherwise the reason, shown in ``/readyz``'s answer."""

OK = "ok"


def health_router(checks: Mapping[str, ReadinessCheck]) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    def healthz() -> JSONResponse:
        return JSONResponse({"status": OK}, headers={"Cache-Control": "no-store"})

    @router.get("/readyz")
    def readyz() -> JSONResponse:
        # A plain def: the checks block (database, broker), so they run in the thread pool, off the event loop.
        results = {name: check() or OK for name, check in checks.items()}
        ready = all(result == OK for result in results.values())
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": results},
            status_code=200 if ready else 503,
            headers={"Cache-Control": "no-store"},
        )

    return router
