"""The dashboard's web app: `create_app(...)` gives a FastAPI app; `creditsim serve` runs it.

The page (static/index.html, app.js, style.css) is plain HTML, CSS and JavaScript served from
the package: nothing is fetched from anywhere else, and the Content-Security-Policy says so.
The JSON API under /api is what the page uses:

    GET    /api/health                    the server answers; jobs running and waiting
    GET    /api/presets                   preset names and descriptions
    GET    /api/presets/{name}            a preset's knobs: current values and what is allowed
    POST   /api/runs                      queue a run (202: the job); 503 when the queue is full
    POST   /api/compare                   queue a paired comparison of two settings
    GET    /api/jobs/{id}                 a job's state and progress (asking keeps it alive)
    DELETE /api/jobs/{id}                 cancel a job
    GET    /api/runs                      catalogued runs, newest first
    GET    /api/runs/{id}                 one run: headline numbers, tables, settings
    PATCH  /api/runs/{id}                 label it ({"label": "..."})
    DELETE /api/runs/{id}                 delete a run made on the dashboard (its files)
    GET    /api/runs/{id}/audit           its whole audit (audit.json)
    GET    /api/runs/{id}/plots/{kind}    one plot, SVG (?layout=narrow: for a phone)
    GET    /api/runs/{id}/blacklist       one page of its synthetic public blacklist
    GET    /api/runs/{id}/findings        what it found, in plain words with intervals
    GET    /api/compares                  catalogued comparisons
    GET    /api/compares/{id}             one comparison: every paired difference
    PATCH  /api/compares/{id}             label it
    DELETE /api/compares/{id}             delete a comparison made on the dashboard, with its runs
    GET    /api/compare-runs?a=&b=        two catalogued runs side by side
    GET    /runs/{id}/report              the run's HTML report (as `creditsim report` writes it)
    GET    /runs/{id}/case/{citizen}      a synthetic citizen's case file (`creditsim case`)
    GET    /compares/{id}/report          the comparison's HTML report

Every error is {"error": "one message"}: a bad request names the field and what is allowed, and
repeats at most a few dozen characters of what it was sent.

What a request may be (`creditsim.web.guard`): the Host must be the server's own (loopback by
default); a POST, PUT, PATCH or DELETE must say `Content-Type: application/json` (415) and come
from the dashboard's own page or a program, not another web site (Origin, Sec-Fetch-Site: 403);
a body is at most 64 KiB (413). Plots and reports are drawn in worker processes, one per CPU,
each once (then served from the run's cache); when too many are waiting, 503 with Retry-After.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from creditsim import __version__, catalogue
from creditsim.web.guard import MAX_BODY, RequestGuard, clip, clip_message
from creditsim.web.heavy import QUEUE, Renderer
from creditsim.web.jobs import JobManager
from creditsim.web.knobs import (
    MAX_POPULATION,
    CompareRequest,
    RunRequest,
)
from creditsim.web.routes_case import add_case_routes
from creditsim.web.routes_common import ApiError, Parts
from creditsim.web.routes_compares import add_compare_routes
from creditsim.web.routes_findings import add_findings_routes
from creditsim.web.routes_jobs import add_job_routes
from creditsim.web.routes_pages import add_page_routes
from creditsim.web.routes_runs import add_run_routes
from creditsim.web.views import Library

STATIC = Path(__file__).parent / "static"
DEFAULT_DATA_DIR = Path("~/.local/share/creditsim/dashboard")
DATA_DIR_ENV = "CREDITSIM_DASHBOARD_DIR"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "::1", "[::1]", "testserver"]


def default_data_dir() -> Path:
    value = os.environ.get(DATA_DIR_ENV, "").strip()
    return Path(value or DEFAULT_DATA_DIR).expanduser()


def create_app(
    *,
    data_dir: str | Path | None = None,
    max_population: int = MAX_POPULATION,
    max_running: int = 1,
    max_queued: int = 8,
    time_limit: float = 600.0,
    abandon_after: float = 60.0,
    allowed_hosts: list[str] | None = None,
    max_body: int = MAX_BODY,
    heavy_workers: int | None = None,
    heavy_queue: int = QUEUE,
) -> FastAPI:
    """The dashboard app. Runs are written under `data_dir` (default
    ~/.local/share/creditsim/dashboard, or $CREDITSIM_DASHBOARD_DIR) and recorded in the run
    catalogue; at most `max_running` run at once and `max_queued` wait; a run is stopped after
    `time_limit` seconds, and a job nobody has asked about for `abandon_after` seconds is
    cancelled. `allowed_hosts`: the Host names the server answers (loopback by default).
    `max_body`: the largest request body taken, in bytes. Plots and reports are drawn by
    `heavy_workers` processes (default: one per CPU) with at most `heavy_queue` waiting."""
    if catalogue.catalogue_path() is None:
        raise ValueError(
            f"the dashboard keeps every run in the run catalogue, but {catalogue.ENV}=off "
            "switches it off: unset it, or point it at a file"
        )
    if max_population < 1:
        raise ValueError("max_population must be at least 1")
    folder = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    folder.mkdir(parents=True, exist_ok=True)
    folder = folder.resolve()
    manager = JobManager(
        max_running=max_running,
        max_queued=max_queued,
        time_limit=time_limit,
        abandon_after=abandon_after,
    )
    library = Library(folder)
    renderer = Renderer(workers=heavy_workers, queue=heavy_queue)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI):
        manager.start()
        try:
            yield
        finally:
            manager.stop()
            renderer.close()

    app = FastAPI(
        title="creditsim dashboard",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.manager = manager
    app.state.library = library
    app.state.data_dir = folder
    app.state.max_population = max_population
    app.state.renderer = renderer
    # Outermost last: the Host is checked first, then what a request may be, then the headers.
    app.add_middleware(RequestGuard, max_body=max_body)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts or LOOPBACK_HOSTS)

    _security_headers(app)

    _errors(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    parts = Parts(
        manager, library, renderer, folder,
        max_population, max_running, max_queued, time_limit, abandon_after,
    )  # fmt: skip
    add_page_routes(app, parts)
    add_job_routes(app, parts)
    add_run_routes(app, parts)
    add_compare_routes(app, parts)
    add_findings_routes(app, parts)
    add_case_routes(app, parts)
    return app


# ------------------------------------------------------------------------------------- errors


def _security_headers(app: FastAPI) -> None:
    """Every answer carries the dashboard's CSP and no-sniff, no-referrer; the API's, no-store."""

    @app.middleware("http")
    async def headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if request.url.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def _errors(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, error: ApiError) -> JSONResponse:
        return JSONResponse(
            {"error": clip_message(error.message)}, error.status, headers=error.headers
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        model = {"/api/runs": RunRequest, "/api/compare": CompareRequest}.get(request.url.path)
        message = clip_message(validation_message(error.errors(), model))
        return JSONResponse({"error": message}, 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        message = error.detail if isinstance(error.detail, str) else str(error.detail)
        if error.status_code == 404 and message == "Not Found":
            message = "no such page or endpoint (the API is under /api: see /api/health)"
        return JSONResponse(
            {"error": clip_message(message)}, error.status_code, headers=error.headers
        )

    @app.exception_handler(Exception)
    async def unexpected(_: Request, error: Exception) -> JSONResponse:
        return JSONResponse(
            {"error": clip_message(f"internal error: {type(error).__name__}: {error}")},
            status_code=500,
        )


MAX_FIELD = 60  # characters of a field name (a generated key can be any length)


def validation_message(errors: list[dict[str, Any]], model: type[BaseModel] | None) -> str:
    """FastAPI's list of errors as one message: the first, naming its field and what is allowed."""
    if not errors:
        return "the request is not valid"
    first = errors[0]
    where = first["loc"][0] if first["loc"] else "body"
    loc = [str(part) for part in first["loc"][1:] if part != "[key]"]
    field = ".".join(clip(part, MAX_FIELD, quote=False) for part in loc)
    kind = first.get("type", "")
    message = first.get("msg", "not valid")
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    if kind == "json_invalid":
        detail = (first.get("ctx") or {}).get("error", "")
        detail = clip(detail, quote=False) if detail else ""
        return f"the request body is not valid JSON{': ' + detail if detail else ''}"
    if kind == "missing" and not loc and where == "body":
        return "the request needs a JSON body (an object; {} takes every default)"
    if kind == "extra_forbidden":
        allowed = _allowed(model, loc[:-1])
        return f"field `{field}`: unknown field; allowed: {allowed}{more}"
    if kind != "missing" and "input" in first and not isinstance(first["input"], dict | list):
        message = f"{message} (got {clip(first['input'])})"
    name = f"field `{field}`" if field else f"the request {where}"
    return f"{name}: {message}{more}"


def _allowed(model: type[BaseModel] | None, path: list[str]) -> str:
    node: Any = model
    for part in path:
        if node is None or not hasattr(node, "model_fields"):
            return "see the API's schema at /api/openapi.json"
        field = node.model_fields.get(part)
        if field is None:
            return "see the API's schema at /api/openapi.json"
        annotation = field.annotation
        candidates = [annotation, *getattr(annotation, "__args__", ())]
        node = next((c for c in candidates if isinstance(c, type) and hasattr(c, "model_fields")),
                    None)  # fmt: skip
    if node is None or not hasattr(node, "model_fields"):
        return "see the API's schema at /api/openapi.json"
    return ", ".join(node.model_fields)


__all__ = ["CSP", "DEFAULT_DATA_DIR", "ApiError", "create_app", "default_data_dir"]
