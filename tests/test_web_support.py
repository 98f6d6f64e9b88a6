"""Shared pieces of the dashboard's tests (no tests here): a real uvicorn server on loopback,
and waiting for a job."""

from __future__ import annotations

import contextlib
import threading
import time
import warnings


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
