"""A synthetic citizen's case file as a page: GET /runs/{run_id}/case/{citizen_id}.

The case is rebuilt by re-running the citizen's shard (`creditsim.workflow.case`), in a thread,
then kept in the run's cache folder, so a second visit is served from disk. The page is the one
`creditsim case RUN CITIZEN --html` writes, with the children linked to their own case files.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from creditsim.report.render import CSP as PAGE_CSP
from creditsim.web.routes_common import ApiError, Parts, found


def add_case_routes(app: FastAPI, parts: Parts) -> None:
    library = parts.library

    @app.get("/runs/{run_id}/case/{citizen_id}", response_class=HTMLResponse)
    async def case_page(run_id: int, citizen_id: int) -> HTMLResponse:
        """One synthetic citizen's case file: their acts and the records made about them (and
        who really did it), scores, lists, sanctions, appeals and the children reached."""
        row = await run_in_threadpool(found, lambda: library.entry(run_id))
        if row.get("path") is None or row.get("on_disk") != "present":
            raise ApiError(404, f"run {run_id}: its files are not on disk, so it has no cases")
        cached = _cache_folder(library.cache_dir, row) / f"case-{citizen_id}.html"
        text = await run_in_threadpool(_page, Path(row["path"]), run_id, citizen_id, cached)
        return HTMLResponse(text, headers={"Content-Security-Policy": PAGE_CSP})


def _cache_folder(cache_dir: Path, row: dict) -> Path:
    """The run's cases, named by its id and what identifies its files (ids may be reused)."""
    key = f"{row.get('path')}|{row.get('scenario_hash')}|{row.get('wall_seconds')}"
    digest = hashlib.blake2b(key.encode(), digest_size=6).hexdigest()
    return cache_dir / f"cases-{row['id']}-{digest}"


def _page(path: Path, run_id: int, citizen_id: int, cached: Path) -> str:
    if cached.is_file():
        return cached.read_text(encoding="utf-8")
    from creditsim.outputs import write_text
    from creditsim.report.case_page import render_case
    from creditsim.workflow.case import CaseError, case

    try:
        built = case(path, citizen_id)
    except CaseError as error:
        raise ApiError(404, str(error)) from None
    text = render_case(built, child_link=f"/runs/{run_id}/case/{{citizen}}")
    write_text(text, cached)
    return text


__all__ = ["add_case_routes"]
