"""The dashboard's runs: the list, one run, its audit, its plots and its blacklist."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import FastAPI, Query
from fastapi.responses import Response

from creditsim.web import blacklist as bl
from creditsim.web.routes_common import ApiError, LabelRequest, Parts, drawn, found
from creditsim.web.views import NotFound


def has_route(app: FastAPI, path: str) -> bool:
    """Whether the app serves `path` (a route's template, as declared)."""
    return any(getattr(route, "path", None) == path for route in app.routes)


def add_run_routes(app: FastAPI, parts: Parts) -> None:
    library, renderer = parts.library, parts.renderer

    @app.get("/api/runs")
    def runs(limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[dict[str, Any]]:
        return library.runs(limit=limit, kind="run")

    @app.get("/api/runs/{run_id}")
    def run_view(run_id: int) -> dict[str, Any]:
        view = found(lambda: library.run_view(run_id))
        # The findings and case files are served by their own routes, where the app has them.
        view["has_findings"] = has_route(app, "/api/runs/{run_id}/findings")
        view["has_case"] = has_route(app, "/runs/{run_id}/case/{citizen_id}")
        return view

    @app.patch("/api/runs/{run_id}")
    def label_run(run_id: int, body: LabelRequest) -> dict[str, Any]:
        """Label a run (shown and searched in Past runs)."""
        return found(lambda: library.label(run_id, "run", body.label))

    @app.delete("/api/runs/{run_id}")
    def delete_run(run_id: int) -> dict[str, Any]:
        """Delete a run made on this dashboard: its files; the catalogue marks it deleted."""
        return found(lambda: library.delete(run_id, "run"))

    @app.get("/api/runs/{run_id}/audit")
    def audit(run_id: int) -> dict[str, Any]:
        return found(lambda: library.audit(run_id))

    @app.get("/api/runs/{run_id}/plots/{kind}", response_class=Response)
    async def plot(run_id: int, kind: str, layout: Literal["wide", "narrow"] = "wide") -> Response:
        """One plot of the run, SVG (drawn once, then cached); `narrow`: for a phone, the
        sanctions' small multiples in one column."""
        name = kind.removesuffix(".svg")
        narrow = layout == "narrow"
        data = await drawn(renderer, lambda: library.drawing(run_id, name, narrow))
        return Response(data, media_type="image/svg+xml", headers={"Cache-Control": "max-age=3600"})

    @app.get("/api/runs/{run_id}/blacklist")
    def blacklist(
        run_id: int,
        page: Annotated[int, Query(ge=1)] = 1,
        per_page: Annotated[int, Query(ge=1, le=bl.MAX_PER_PAGE)] = 25,
        wrongful: bool | None = None,
        entry: Annotated[str | None, Query(max_length=80)] = None,
        order: Literal["published", "wrongful_first"] = "published",
    ) -> dict[str, Any]:
        try:
            data = library.blacklist_page(
                run_id,
                page_number=page,
                per_page=per_page,
                wrongful=wrongful,
                entry=entry,
                order=order,
            )
            data["has_case"] = has_route(app, "/runs/{run_id}/case/{citizen_id}")
            return data
        except NotFound as error:
            raise ApiError(404, str(error)) from None
        except bl.BlacklistUnavailable as error:
            raise ApiError(409, str(error)) from None
        except ValueError as error:
            raise ApiError(422, str(error)) from None
