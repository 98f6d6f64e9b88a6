"""What the dashboard's routes share: the app's parts (`Parts`), the API error, and the helpers
that turn a failure into one (not found 404, busy 503, a bad setting 422)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from creditsim import catalogue
from creditsim.engine import footprint
from creditsim.report.loading import ReportError
from creditsim.web.heavy import Drawing, Renderer, Saturated
from creditsim.web.jobs import Busy, JobManager
from creditsim.web.knobs import KnobError
from creditsim.web.views import Library, NotFound, Refused

MAX_LABEL = 80  # characters of a label


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


@dataclass(frozen=True)
class Parts:
    """The app's parts and limits, as the routes see them."""

    manager: JobManager
    library: Library
    renderer: Renderer
    folder: Path
    max_population: int
    max_running: int
    max_queued: int
    time_limit: float
    abandon_after: float


def checked(make):
    try:
        return make()
    except (KnobError, footprint.FootprintError) as error:
        raise ApiError(422, str(error)) from None


def submit(manager: JobManager, kind: str, payload, description: str, out: Path):
    try:
        return manager.submit(kind, payload, description, out)
    except Busy as error:
        raise ApiError(503, str(error), headers={"Retry-After": "10"}) from None


class LabelRequest(BaseModel):
    """PATCH /api/runs/{id} or /api/compares/{id}: a reader's label (empty: none)."""

    model_config = ConfigDict(extra="forbid")
    label: Annotated[str, Field(max_length=MAX_LABEL)]


def found(make):
    try:
        return make()
    except NotFound as error:
        raise ApiError(404, str(error)) from None
    except Refused as error:
        raise ApiError(409, str(error)) from None
    except catalogue.CatalogueError as error:
        raise ApiError(503, str(error)) from None


async def drawn(renderer: Renderer, what) -> bytes:
    """A plot or report: found in the catalogue (in a thread), then drawn by the renderer."""
    drawing: Drawing = await run_in_threadpool(found, what)
    try:
        return await renderer.get(drawing)
    except Saturated as error:
        raise ApiError(503, str(error), headers={"Retry-After": str(error.retry_after)}) from None
    except ReportError as error:
        raise ApiError(404, str(error)) from None
