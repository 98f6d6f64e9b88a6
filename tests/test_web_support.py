"""Shared pieces of the dashboard's tests (no tests here): a stand-in for `RunResult.blacklist()`
where this creditsim has none yet, and a real uvicorn server on loopback.

The stand-in returns exactly the documented schema (one row per published entry: citizen,
entry, start_day, end_day, reasons, sanctions, wrongful, wrongful_causes, region, group,
age_band, income_band, household), built from the citizen rows, so that the dashboard's
blacklist pages are exercised whether or not the engine's own method has landed.
"""

from __future__ import annotations

import contextlib
import threading
import time
import warnings

import numpy as np
import pandas as pd
import pytest

from creditsim.engine.runner import RunResult

HAS_BLACKLIST = hasattr(RunResult, "blacklist")


def stand_in_blacklist(self: RunResult) -> pd.DataFrame:
    """The documented schema, from the citizen rows: an entry per citizen on the public
    blacklist and on each list; wrongful ones caused by a face misidentification."""
    frame = self.to_frame()
    days = int(self.manifest["days"])
    sanction_names = [s.name for s in self.scenario.sanctions]
    rows = []
    sources = [("blacklist", "days_blacklist", "wrongful_blacklist")]
    for policy in self.scenario.list_policies:
        sources.append(
            (f"list:{policy.name}", f"days_listed_{policy.name}", f"wrongful_listed_{policy.name}")
        )
    for entry, days_column, wrongful_column in sources:
        if days_column not in frame.columns:
            continue
        listed = frame[frame[days_column] > 0]
        for row in listed.itertuples(index=False):
            served = int(getattr(row, days_column))
            start = max(0, days - served)
            wrongful = bool(getattr(row, wrongful_column))
            under = [n for n in sanction_names if getattr(row, f"days_{n}", 0) > 0]
            rows.append(
                {
                    "citizen": np.int64(row.citizen),
                    "entry": entry,
                    "start_day": start,
                    "end_day": start + 730,
                    "reasons": "unpaid_judgment"
                    if entry != "blacklist"
                    else "unpaid_judgment,tax_evasion",
                    "sanctions": ",".join(under),
                    "wrongful": wrongful,
                    "wrongful_causes": "face_misidentification,data_merge" if wrongful else "",
                    "region": str(row.region),
                    "group": str(row.group),
                    "age_band": str(row.age_band),
                    "income_band": str(row.income_band),
                    "household": np.int64(row.household),
                }
            )
    columns = ["citizen", "entry", "start_day", "end_day", "reasons", "sanctions", "wrongful",
               "wrongful_causes", "region", "group", "age_band", "income_band",
               "household"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def use_blacklist(monkeypatch: pytest.MonkeyPatch):
    """RunResult.blacklist: the engine's own where it exists, else (for this test) the stand-in."""
    if not HAS_BLACKLIST:
        monkeypatch.setattr(RunResult, "blacklist", stand_in_blacklist, raising=False)
    return RunResult.blacklist


def make_client(app):
    with warnings.catch_warnings():  # starlette's notice that it prefers httpx2
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    return TestClient(app)


@contextlib.contextmanager
def live_server(app):
    """The app on uvicorn at 127.0.0.1 and an ephemeral port; yields its base URL."""
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def wait_for(client, job_id: str, seconds: float = 30.0) -> dict:
    """Poll a job until it has finished (done, failed or cancelled)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["state"] in ("done", "failed", "cancelled"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish in {seconds} s")
