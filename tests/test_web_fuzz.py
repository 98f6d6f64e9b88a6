"""An API fuzz of the dashboard driven by its OpenAPI description (schemathesis): every operation,
with requests that fit the schema and requests that do not, answers without a 5xx, and the server
still answers afterwards.

Bounded: a fixed number of examples per operation (the whole file runs in well under a minute),
and the app under test takes runs of at most 50 citizens; every run or comparison it accepts is
cancelled at once, so the fuzz never starts a real simulation. Catalogued runs that the
generated ids are steered to (tiny runs of every preset, with groups that have nobody in them)
let the fuzz reach the plots, the report, the audit and the blacklist of real runs.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
import zlib
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from test_web_support import make_client

from creditsim import catalogue
from creditsim.figures.plots import KINDS
from creditsim.scenario import preset_names
from creditsim.web import create_app
from creditsim.workflow.compare import compare
from creditsim.workflow.run import run

EXAMPLES = 30  # per operation and generation mode
CAP = 50  # citizens: larger runs are refused (422)
COUNTS: Counter = Counter()
KNOWN: dict[str, list[int]] = {}


# The schema is read from the app when the module is collected (schemathesis parametrizes the
# test by operation); the runs it is steered to are made by the fixture.
DATA = Path(tempfile.mkdtemp(prefix="creditsim-fuzz-"))
APP = create_app(data_dir=DATA, max_population=CAP, max_running=1, max_queued=2)
schema = schemathesis.openapi.from_asgi("/api/openapi.json", APP)
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=EXAMPLES
)


@pytest.fixture(scope="module")
def fuzz_app():
    for preset, population in (("national-2018", 10), ("rongcheng-pilot", 1000), ("sesame", 1)):
        run(preset, population=population, years=1, out=DATA / "runs" / preset)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compared = compare("national-2018", "no-system", population=10, years=1, seeds=1,
                           out=DATA / "compares" / "one")  # fmt: skip
    try:
        with make_client(APP) as client:
            ours = [r for r in catalogue.list_runs(limit=None, kind="run")
                    if str(r.get("path") or "").startswith(str(DATA))]  # fmt: skip
            KNOWN["run_id"] = [row["id"] for row in ours] or [1]
            KNOWN["compare_id"] = [compared.catalogue_id or 1]
            KNOWN["a"] = KNOWN["b"] = KNOWN["run_id"]
            KNOWN["kind"] = [*KINDS, *(f"{kind}.svg" for kind in KINDS)]
            KNOWN["name"] = preset_names()
            APP.state.fuzz_client = client
            yield APP
            health = client.get("/api/health")
            assert health.status_code == 200 and health.json()["ok"]
    finally:
        APP.state.manager.stop()
        shutil.rmtree(DATA, ignore_errors=True)
    print(
        f"\nAPI fuzz: {COUNTS['requests']} requests generated, {COUNTS['5xx']} answered 5xx; "
        f"by status: {_statuses()}"
    )
    assert COUNTS["requests"] >= 200
    assert COUNTS["5xx"] == 0


def _statuses() -> dict[str, int]:
    return {key[7:]: value for key, value in sorted(COUNTS.items()) if key.startswith("status:")}


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
def test_fuzz_no_server_error(case, fuzz_app):
    # Steer most generated ids, plot kinds and preset names to ones that exist, so that the fuzz
    # reaches real plots, reports and blacklists (the rest stay as generated).
    for where in (case.path_parameters, case.query):
        if not isinstance(where, dict):
            continue
        for name, known in KNOWN.items():
            value = where.get(name)
            if isinstance(value, int) and not isinstance(value, bool) and value % 5:
                where[name] = known[value % len(known)]
            elif isinstance(value, str) and (mixed := zlib.crc32(value.encode())) % 5:
                where[name] = known[mixed % len(known)]
    headers = {}
    if case.method.upper() in ("POST", "PUT", "PATCH", "DELETE") and case.body is None:
        headers["Content-Type"] = "application/json"
    COUNTS["requests"] += 1
    try:
        response = case.call(headers=headers)
    except Exception:  # the in-process transport raises what the app let escape: a 500
        COUNTS["5xx"] += 1
        COUNTS["status:500"] += 1
        raise
    COUNTS[f"status:{response.status_code}"] += 1
    if response.status_code >= 500:
        COUNTS["5xx"] += 1
    assert response.status_code < 500, (case.method, case.formatted_path, response.text[:500])
    assert len(response.content) < 2_000_000 or case.path.endswith("/audit")
    if response.status_code == 202:  # a run or comparison was queued: cancel it at once
        job = response.json()["id"]
        client = fuzz_app.state.fuzz_client
        cancel = client.delete(f"/api/jobs/{job}", headers={"Content-Type": "application/json"})
        assert cancel.status_code == 200, cancel.text
