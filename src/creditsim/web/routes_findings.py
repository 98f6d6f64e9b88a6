"""A run's findings for the dashboard: what was found, in plain words with 95% intervals, the
same list both reports open with (`creditsim.report.findings`).

    GET /api/runs/{run_id}/findings   {"findings": [{"title": str, "text": str}, ...]}
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

from creditsim.report.findings import as_dicts, run_findings
from creditsim.web.routes_common import ApiError, Parts, found


def add_findings_routes(app: FastAPI, parts: Parts) -> None:
    library = parts.library

    @app.get("/api/runs/{run_id}/findings")
    async def findings(run_id: int) -> dict[str, Any]:
        """What the run found: wrongful sanctions, disparity and why, children, who climbs
        back; each with its interval and its convention in words."""
        _, result = await run_in_threadpool(found, lambda: library.result(run_id))
        if result is None:
            raise ApiError(404, f"run {run_id}: its files are not on disk, so it has no findings")
        seed = int(result.manifest.get("seed") or 0)
        return {"findings": as_dicts(run_findings(result.audit(), seed))}


__all__ = ["add_findings_routes"]
