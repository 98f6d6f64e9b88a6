"""The dashboard's pages: the single-page app, and a run's HTML report."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse

from creditsim.report.render import CSP as REPORT_CSP
from creditsim.web.routes_common import Parts, drawn

STATIC = Path(__file__).parent / "static"


def add_page_routes(app: FastAPI, parts: Parts) -> None:
    library, renderer = parts.library, parts.renderer

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.get("/runs/{run_id}/report", response_class=HTMLResponse)
    async def report(run_id: int) -> HTMLResponse:
        """The run's HTML report, as `creditsim report` writes it (drawn once, then cached)."""
        data = await drawn(renderer, lambda: library.drawing(run_id, "report"))
        return HTMLResponse(data, headers={"Content-Security-Policy": REPORT_CSP})

    @app.get("/compares/{compare_id}/report", response_class=HTMLResponse)
    async def compare_report(compare_id: int) -> HTMLResponse:
        """The comparison's HTML report, as `creditsim report` writes it (drawn once, cached)."""
        data = await drawn(renderer, lambda: library.compare_drawing(compare_id))
        return HTMLResponse(data, headers={"Content-Security-Policy": REPORT_CSP})
