"""A short, bounded load test of the dashboard on loopback: while a run is in progress, 50
concurrent requests (reads, polls and more runs than the queue takes) are all answered, and every
accepted run finishes and is in the catalogue: nothing lost.

The run in progress is made far longer than the burst (two million citizens over ten years) and is
cancelled after it, so that the queue's bound is tested with the queue truly full: a short run
could end mid-burst on a fast machine and free a place."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from test_web_support import live_server

from creditsim.web import create_app

REQUESTS = 50
SECONDS = 30.0  # the whole burst must be answered within this


def test_concurrent_requests_while_a_run_is_in_progress(tmp_path):
    app = create_app(data_dir=tmp_path, max_running=1, max_queued=3)
    with live_server(app) as base, httpx.Client(base_url=base, timeout=SECONDS) as client:
        long_run = {"population": 2_000_000, "years": 10, "seed": 1}
        running = client.post("/api/runs", json=long_run)
        assert running.status_code == 202
        job = running.json()["id"]
        deadline = time.monotonic() + 20
        while client.get(f"/api/jobs/{job}").json()["state"] == "queued":
            assert time.monotonic() < deadline
            time.sleep(0.02)

        def one(index: int) -> tuple[int, int, dict]:
            with httpx.Client(base_url=base, timeout=SECONDS) as own:
                kind = index % 5
                if kind == 0:
                    body = {"population": 1_000 + index, "seed": index}
                    response = own.post("/api/runs", json=body)
                elif kind == 1:
                    response = own.get(f"/api/jobs/{job}")
                elif kind == 2:
                    response = own.get("/api/health")
                elif kind == 3:
                    response = own.get("/api/presets/national-2018")
                else:
                    response = own.get("/api/runs", params={"limit": 20})
                return index, response.status_code, response.json()

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=25) as pool:
            answers = list(pool.map(one, range(REQUESTS)))
        elapsed = time.monotonic() - started
        assert len(answers) == REQUESTS and elapsed < SECONDS
        accepted = []
        for index, status, body in answers:
            if index % 5 == 0:
                assert status in (202, 503), (status, body)
                if status == 202:
                    accepted.append(body["id"])
                else:
                    assert "busy" in body["error"]
            else:
                assert status == 200, (status, body)
        assert client.get(f"/api/jobs/{job}").json()["state"] == "running"
        assert len(accepted) == 3  # the queue takes three; the rest are told to come back
        assert len(set(accepted)) == len(accepted)
        cancelled = client.request("DELETE", f"/api/jobs/{job}", json={})
        assert cancelled.json()["state"] == "cancelled", (cancelled.status_code, cancelled.text)

        # Every accepted run finishes and is catalogued: nothing lost.
        finished = {}
        deadline = time.monotonic() + 60
        for job_id in accepted:
            while True:
                state = client.get(f"/api/jobs/{job_id}").json()
                if state["state"] in ("done", "failed", "cancelled"):
                    finished[job_id] = state
                    break
                assert time.monotonic() < deadline, state
                time.sleep(0.1)
        assert {s["state"] for s in finished.values()} == {"done"}, finished
        catalogued = {row["id"] for row in client.get("/api/runs", params={"limit": 500}).json()}
        assert {s["result"]["run"] for s in finished.values()} <= catalogued
        assert client.get("/api/health").json()["jobs"] == {"queued": 0, "running": 0}
