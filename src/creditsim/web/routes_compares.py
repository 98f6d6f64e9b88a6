"""The dashboard's comparisons: the list, one comparison, and two runs set side by side."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Query

from creditsim.web.routes_common import LabelRequest, Parts, found


def add_compare_routes(app: FastAPI, parts: Parts) -> None:
    library = parts.library

    @app.get("/api/compares")
    def compares(limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[dict[str, Any]]:
        return library.runs(limit=limit, kind="compare")

    @app.get("/api/compares/{compare_id}")
    def compare_view(compare_id: int) -> dict[str, Any]:
        return found(lambda: library.compare_view(compare_id))

    @app.patch("/api/compares/{compare_id}")
    def label_compare(compare_id: int, body: LabelRequest) -> dict[str, Any]:
        """Label a comparison (shown and searched in Past runs)."""
        return found(lambda: library.label(compare_id, "compare", body.label))

    @app.delete("/api/compares/{compare_id}")
    def delete_compare(compare_id: int) -> dict[str, Any]:
        """Delete a comparison made on this dashboard, with its runs: their files; the catalogue
        marks them deleted."""
        return found(lambda: library.delete(compare_id, "compare"))

    @app.get("/api/compare-runs")
    def compare_runs(a: int, b: int) -> dict[str, Any]:
        return found(lambda: library.compare_runs(a, b))
