"""The dashboard's jobs: health, presets, submitting a run or a comparison, a job's state."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from fastapi import FastAPI

from creditsim import __version__
from creditsim.engine import footprint
from creditsim.figures import numbers as fmt
from creditsim.scenario import load_scenario, preset_names
from creditsim.web.guard import clip
from creditsim.web.knobs import (
    CompareRequest,
    KnobError,
    RunRequest,
    check_population,
    check_preset,
    describe_preset,
    scenario_for,
)
from creditsim.web.routes_common import ApiError, Parts, checked, submit


def add_job_routes(app: FastAPI, parts: Parts) -> None:
    manager, renderer = parts.manager, parts.renderer

    @app.get("/api/health")
    def health() -> dict[str, Any]:
        return {
            "ok": True,
            "version": __version__,
            "jobs": manager.counts(),
            "drawing": renderer.busy(),
            "limits": {
                "max_population": parts.max_population,
                "max_running": parts.max_running,
                "max_queued": parts.max_queued,
                "time_limit_seconds": parts.time_limit,
                "abandon_after_seconds": parts.abandon_after,
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
            return describe_preset(name, parts.max_population)
        except KnobError as error:
            raise ApiError(404, str(error)) from None

    @app.post("/api/runs", status_code=202)
    def submit_run(body: RunRequest) -> dict[str, Any]:
        check = checked(lambda: _run_payload(body, parts.max_population))
        payload, description = check
        out = parts.folder / "runs" / _folder_name()
        job = submit(manager, "run", payload, description, out)
        return manager.view(job)

    @app.post("/api/compare", status_code=202)
    def submit_compare(body: CompareRequest) -> dict[str, Any]:
        payload, description = checked(lambda: _compare_payload(body, parts.max_population))
        out = parts.folder / "compares" / _folder_name()
        job = submit(manager, "compare", payload, description, out)
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


def _folder_name() -> str:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{uuid.uuid4().hex[:8]}"
