"""The dashboard's runs: the list, one run, its audit, its plots and its blacklist."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Query
from fastapi.responses import Response

from creditsim.web import blacklist as bl
from creditsim.web.routes_common import ApiError, Parts, drawn, found
from creditsim.web.views import NotFound


def add_run_routes(app: FastAPI, parts: Parts) -> None:
    library, renderer = parts.library, parts.renderer

    @app.get("/api/runs")
    def runs(limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[dict[str, Any]]:
        return library.runs(limit=limit, kind="run")

    @app.get("/api/runs/{run_id}")
    def run_view(run_id: int) -> dict[str, Any]:
        return found(lambda: library.run_view(run_id))

    @app.get("/api/runs/{run_id}/audit")
    def audit(run_id: int) -> dict[str, Any]:
        return found(lambda: library.audit(run_id))

    @app.get("/api/runs/{run_id}/plots/{kind}", response_class=Response)
    async def plot(run_id: int, kind: str) -> Response:
        """One plot of the run, SVG (drawn once, then cached)."""
        name = kind.removesuffix(".svg")
        data = await drawn(renderer, lambda: library.drawing(run_id, name))
        return Response(data, media_type="image/svg+xml", headers={"Cache-Control": "max-age=3600"})

    @app.get("/api/runs/{run_id}/blacklist")
    def blacklist(
        run_id: int,
        page: Annotated[int, Query(ge=1)] = 1,
        per_page: Annotated[int, Query(ge=1, le=bl.MAX_PER_PAGE)] = 25,
        wrongful: bool | None = None,
        entry: Annotated[str | None, Query(max_length=80)] = None,
    ) -> dict[str, Any]:
        try:
            return library.blacklist_page(
                run_id, page_number=page, per_page=per_page, wrongful=wrongful, entry=entry
            )
        except NotFound as error:
            raise ApiError(404, str(error)) from None
        except bl.BlacklistUnavailable as error:
            raise ApiError(409, str(error)) from None
        except ValueError as error:
            raise ApiError(422, str(error)) from None
