"""The dashboard's comparisons: the list, one comparison, and two runs set side by side."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Query

from creditsim.web.routes_common import Parts, found


def add_compare_routes(app: FastAPI, parts: Parts) -> None:
    library = parts.library

    @app.get("/api/compares")
    def compares(limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[dict[str, Any]]:
        return library.runs(limit=limit, kind="compare")

    @app.get("/api/compares/{compare_id}")
    def compare_view(compare_id: int) -> dict[str, Any]:
        return found(lambda: library.compare_view(compare_id))

    @app.get("/api/compare-runs")
    def compare_runs(a: int, b: int) -> dict[str, Any]:
        return found(lambda: library.compare_runs(a, b))
