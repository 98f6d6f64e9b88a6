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
    GET    /api/runs/{id}/audit           its whole audit (audit.json)
    GET    /api/runs/{id}/plots/{kind}    one plot, SVG
    GET    /api/runs/{id}/blacklist       one page of its synthetic public blacklist
    GET    /api/compares                  catalogued comparisons
    GET    /api/compares/{id}             one comparison: every paired difference
    GET    /api/compare-runs?a=&b=        two catalogued runs side by side
    GET    /runs/{id}/report              the run's HTML report (as `creditsim report` writes it)

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
import datetime as dt
import os
import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from creditsim import __version__, catalogue
from creditsim.engine import footprint
from creditsim.figures import numbers as fmt
from creditsim.report.loading import ReportError
from creditsim.report.render import CSP as REPORT_CSP
from creditsim.scenario import load_scenario, preset_names
from creditsim.web import blacklist as bl
from creditsim.web.guard import MAX_BODY, RequestGuard, clip, clip_message
from creditsim.web.heavy import QUEUE, Drawing, Renderer, Saturated
from creditsim.web.jobs import Busy, JobManager
from creditsim.web.knobs import (
    MAX_POPULATION,
    CompareRequest,
    KnobError,
    RunRequest,
    check_population,
    check_preset,
    describe_preset,
    scenario_for,
)
from creditsim.web.views import Library, NotFound

STATIC = Path(__file__).parent / "static"
DEFAULT_DATA_DIR = Path("~/.local/share/creditsim/dashboard")
DATA_DIR_ENV = "CREDITSIM_DASHBOARD_DIR"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "::1", "[::1]", "testserver"]


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


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

    @app.middleware("http")
    async def headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if request.url.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    _errors(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    # ---------------------------------------------------------------------------------- page

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.get("/runs/{run_id}/report", response_class=HTMLResponse)
    async def report(run_id: int) -> HTMLResponse:
        """The run's HTML report, as `creditsim report` writes it (drawn once, then cached)."""
        data = await _drawn(renderer, lambda: library.drawing(run_id, "report"))
        return HTMLResponse(data, headers={"Content-Security-Policy": REPORT_CSP})

    # ----------------------------------------------------------------------------------- api

    @app.get("/api/health")
    def health() -> dict[str, Any]:
        return {
            "ok": True,
            "version": __version__,
            "jobs": manager.counts(),
            "drawing": renderer.busy(),
            "limits": {
                "max_population": max_population,
                "max_running": max_running,
                "max_queued": max_queued,
                "time_limit_seconds": time_limit,
                "abandon_after_seconds": abandon_after,
            },
        }

    @app.get("/api/presets")
    def presets() -> list[dict[str, Any]]:
        out = []
        for name in preset_names():
            scenario = load_scenario(name)
            out.append({"name": name, "description": scenario.description})
        return out

    @app.get("/api/presets/{name}")
    def preset(name: str) -> dict[str, Any]:
        try:
            return describe_preset(name, max_population)
        except KnobError as error:
            raise ApiError(404, str(error)) from None

    @app.post("/api/runs", status_code=202)
    def submit_run(body: RunRequest) -> dict[str, Any]:
        check = _checked(lambda: _run_payload(body, max_population))
        payload, description = check
        out = folder / "runs" / _folder_name()
        job = _submit(manager, "run", payload, description, out)
        return manager.view(job)

    @app.post("/api/compare", status_code=202)
    def submit_compare(body: CompareRequest) -> dict[str, Any]:
        payload, description = _checked(lambda: _compare_payload(body, max_population))
        out = folder / "compares" / _folder_name()
        job = _submit(manager, "compare", payload, description, out)
        return manager.view(job)

    @app.get("/api/jobs/{job_id}")
    def job(job_id: str) -> dict[str, Any]:
        found = manager.get(job_id)
        if found is None:
            raise ApiError(
                404, f"no job {clip(job_id)} (jobs are forgotten when the server restarts)"
            )
        return manager.view(found)

    @app.delete("/api/jobs/{job_id}")
    def cancel(job_id: str) -> dict[str, Any]:
        found = manager.cancel(job_id)
        if found is None:
            raise ApiError(404, f"no job {clip(job_id)}")
        return manager.view(found)

    @app.get("/api/runs")
    def runs(limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[dict[str, Any]]:
        return library.runs(limit=limit, kind="run")

    @app.get("/api/runs/{run_id}")
    def run_view(run_id: int) -> dict[str, Any]:
        return _found(lambda: library.run_view(run_id))

    @app.get("/api/runs/{run_id}/audit")
    def audit(run_id: int) -> dict[str, Any]:
        return _found(lambda: library.audit(run_id))

    @app.get("/api/runs/{run_id}/plots/{kind}", response_class=Response)
    async def plot(run_id: int, kind: str) -> Response:
        """One plot of the run, SVG (drawn once, then cached)."""
        name = kind.removesuffix(".svg")
        data = await _drawn(renderer, lambda: library.drawing(run_id, name))
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

    @app.get("/api/compares")
    def compares(limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[dict[str, Any]]:
        return library.runs(limit=limit, kind="compare")

    @app.get("/api/compares/{compare_id}")
    def compare_view(compare_id: int) -> dict[str, Any]:
        return _found(lambda: library.compare_view(compare_id))

    @app.get("/api/compare-runs")
    def compare_runs(a: int, b: int) -> dict[str, Any]:
        return _found(lambda: library.compare_runs(a, b))

    return app


# ----------------------------------------------------------------------------------- requests


def _run_payload(body: RunRequest, cap: int) -> tuple[dict[str, Any], str]:
    check_preset(body.preset)
    check_population(body.population, cap)
    settings = {"population": body.population, "years": body.years, "seed": body.seed}
    scenario, point = scenario_for(
        body.preset, body.knobs, {**settings, "citizen_rows": "all"}, field="knobs"
    )
    footprint.check(scenario)  # a run that would not fit in memory: 422, as creditsim run
    record = {
        "preset": body.preset,
        **settings,
        "knobs": body.knobs.model_dump(exclude_defaults=True),
        "paths": point,
    }
    payload = {"scenario": scenario.model_dump(mode="json"), "settings": record}
    changes = f", {len(point)} setting{'s' if len(point) > 1 else ''} changed" if point else ""
    description = (
        f"{body.preset}: {fmt.integer(body.population)} citizens, {_years(body.years)}, "
        f"seed {body.seed}{changes}"
    )
    return payload, description


def _compare_payload(body: CompareRequest, cap: int) -> tuple[dict[str, Any], str]:
    check_preset(body.a.preset, "a.preset")
    check_preset(body.b.preset, "b.preset")
    check_population(body.population, cap)
    settings = {"population": body.population, "years": body.years, "citizen_rows": "none"}
    a, point_a = scenario_for(body.a.preset, body.a.knobs, settings, field="a.knobs")
    b, point_b = scenario_for(body.b.preset, body.b.knobs, settings, field="b.knobs")
    footprint.check_runs([a, b], runs=2 * body.seeds)
    payload = {
        "a": a.model_dump(mode="json"),
        "b": b.model_dump(mode="json"),
        "population": body.population,
        "years": body.years,
        "seed": body.seed,
        "seeds": body.seeds,
        "settings": {
            "a": {"preset": body.a.preset, "knobs": body.a.knobs.model_dump(exclude_defaults=True),
                  "paths": point_a},
            "b": {"preset": body.b.preset, "knobs": body.b.knobs.model_dump(exclude_defaults=True),
                  "paths": point_b},
            "population": body.population,
            "years": body.years,
            "seed": body.seed,
            "seeds": body.seeds,
        },
    }  # fmt: skip
    description = (
        f"{body.a.preset}{' (changed)' if point_a else ''} against "
        f"{body.b.preset}{' (changed)' if point_b else ''}: {fmt.integer(body.population)} "
        f"citizens, {_years(body.years)}, {body.seeds} seed{'s' if body.seeds > 1 else ''}"
    )
    return payload, description


def _years(years: float) -> str:
    return "1 year" if years == 1 else f"{years:g} years"


def _checked(make):
    try:
        return make()
    except (KnobError, footprint.FootprintError) as error:
        raise ApiError(422, str(error)) from None


def _submit(manager: JobManager, kind: str, payload, description: str, out: Path):
    try:
        return manager.submit(kind, payload, description, out)
    except Busy as error:
        raise ApiError(503, str(error), headers={"Retry-After": "10"}) from None


def _found(make):
    try:
        return make()
    except NotFound as error:
        raise ApiError(404, str(error)) from None
    except catalogue.CatalogueError as error:
        raise ApiError(503, str(error)) from None


async def _drawn(renderer: Renderer, what) -> bytes:
    """A plot or report: found in the catalogue (in a thread), then drawn by the renderer."""
    drawing: Drawing = await run_in_threadpool(_found, what)
    try:
        return await renderer.get(drawing)
    except Saturated as error:
        raise ApiError(503, str(error), headers={"Retry-After": str(error.retry_after)}) from None
    except ReportError as error:
        raise ApiError(404, str(error)) from None


def _folder_name() -> str:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{uuid.uuid4().hex[:8]}"


# ------------------------------------------------------------------------------------- errors


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
