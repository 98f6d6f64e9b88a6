"""What a dashboard job does in its own process: run (or compare), write, record, report back.

Imported once by the fork server, so that each job starts with the simulator already loaded.
Messages to the parent: ("progress", done, total, label), then ("done", result) or
("error", message).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from creditsim import catalogue
from creditsim.scenario import Scenario, ScenarioError
from creditsim.workflow.compare import compare
from creditsim.workflow.run import run


def main(kind: str, payload: dict[str, Any], out: str, conn) -> None:
    def progress(done: int, total: int, label: str) -> None:
        conn.send(("progress", done, total, label))

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if kind == "run":
                result = _run(payload, Path(out), progress)
            else:
                result = _compare(payload, Path(out), progress)
        conn.send(("done", result))
    except (ScenarioError, ValueError, catalogue.CatalogueError) as error:
        conn.send(("error", str(error).splitlines()[0] if str(error) else type(error).__name__))
    except BaseException as error:  # noqa: BLE001 - report anything, then end
        conn.send(("error", f"the run failed: {type(error).__name__}: {error}"))
    finally:
        conn.close()


def _run(payload: dict[str, Any], out: Path, progress) -> dict[str, Any]:
    scenario = Scenario.model_validate(payload["scenario"])
    result = run(scenario, out=out, progress=progress, catalogue=False)
    steps = max(1, result.manifest["shards"] * 6)
    progress(steps, steps, "recording the run")
    run_id = catalogue.record_run(result, settings={"dashboard": payload["settings"]})
    if run_id is None:
        raise catalogue.CatalogueError("the run catalogue is switched off: the run was not kept")
    return {"run": run_id, "path": str(out)}


def _compare(payload: dict[str, Any], out: Path, progress) -> dict[str, Any]:
    a = Scenario.model_validate(payload["a"])
    b = Scenario.model_validate(payload["b"])
    result = compare(
        a,
        b,
        population=payload["population"],
        years=payload["years"],
        seed=payload["seed"],
        seeds=payload["seeds"],
        out=out,
        progress=progress,
    )
    if result.catalogue_id is None:
        raise catalogue.CatalogueError("the run catalogue is switched off: nothing was kept")
    settings = catalogue.show_run(result.catalogue_id).get("settings") or {}
    catalogue.update(result.catalogue_id, settings={**settings, "dashboard": payload["settings"]})
    return {"compare": result.catalogue_id, "path": str(out)}
