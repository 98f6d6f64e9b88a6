"""The local web dashboard: `creditsim serve`, or `create_app()` for any ASGI server.

`create_app(data_dir="dashboard")` gives a FastAPI app (the tests drive it with TestClient);
`serve(port=8000)` runs it with uvicorn on 127.0.0.1:8000.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from creditsim.web.app import create_app, default_data_dir
from creditsim.web.knobs import MAX_POPULATION


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    data_dir: str | Path | None = None,
    max_population: int = MAX_POPULATION,
    max_running: int = 1,
    max_queued: int = 8,
    time_limit: float = 600.0,
    abandon_after: float = 60.0,
) -> None:
    """Run the dashboard with uvicorn until interrupted. On any address but loopback, the
    server also answers requests whose Host is that address (there is no authentication)."""
    import uvicorn

    hosts = None if is_loopback(host) else ["*"]
    app = create_app(
        data_dir=data_dir,
        max_population=max_population,
        max_running=max_running,
        max_queued=max_queued,
        time_limit=time_limit,
        abandon_after=abandon_after,
        allowed_hosts=hosts,
    )
    uvicorn.run(app, host=host, port=port, log_level="warning")


__all__ = ["create_app", "default_data_dir", "is_loopback", "serve"]
