"""One way to reach Dask, for a run's shards and for the runs of a compare, sweep or calibration.

The cluster is reached (a scheduler's address checked and connected to, or a local cluster of
worker processes started) before anything is written, so a wrong address costs nothing. Every
task gets a key unique to this call, so a shared scheduler never hands back another client's
results. A task that fails hands its error back as a value: the worker logs no "Compute Failed"
screen with the task's arguments (a whole scenario) and the caller raises the error itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from creditsim.engine.memory import WORKER_ENVIRONMENT
from creditsim.errors import CreditsimError, shorten

SCHEMES = ("tcp", "tls", "ws", "wss")
CONNECT_SECONDS = 10  # how long to wait for a scheduler that does not answer
# Local workers log errors only: a run stopped by an error would otherwise print a warning for
# every task it cancels, after the one message that matters.
LOCAL_WORKERS = WORKER_ENVIRONMENT | {"DASK_LOGGING__DISTRIBUTED": "error"}
# Local workers run without Dask's statistical profiler. It samples the running task's stack
# 100 times a second, and keeps a tree of the stacks for each second of the last thousand: on a
# run of many shards each worker gained some 700 objects per shard (national-2018 at 1,000,000
# citizens a shard), which nobody reads, as a local cluster has no dashboard.
LOCAL_CONFIG = {
    "distributed.nanny.pre-spawn-environ": LOCAL_WORKERS,
    "distributed.worker.profile.enabled": False,
}


class ClusterError(CreditsimError):
    """The Dask cluster cannot be used; nothing has been written."""


def check_address(address: str) -> str:
    """A scheduler's address as Dask takes it, `SCHEME://HOST:PORT`; anything else is refused
    with a message that says what is allowed."""
    shown = shorten(address)
    allowed = f"allowed is SCHEME://HOST:PORT with SCHEME one of {', '.join(SCHEMES)}"
    try:
        parts = urlsplit(address.strip())
        port = parts.port
    except ValueError:
        parts, port = None, None
    if parts is None or parts.scheme not in SCHEMES or not parts.hostname or port is None:
        raise ClusterError(f"--scheduler {shown!r}: not a Dask scheduler address; {allowed}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ClusterError(f"--scheduler {shown!r}: an address has no path or query; {allowed}")
    return address.strip()


@contextmanager
def dask_client(workers: int | None, scheduler: str | None) -> Iterator[Any]:
    """A Dask client on the scheduler at `scheduler`, or on a local cluster of `workers` worker
    processes (one thread each); None when neither is given. Closed, with its cluster, after."""
    if scheduler is None and workers is None:
        yield None
        return
    address = None if scheduler is None else check_address(scheduler)
    import dask
    from distributed import Client, LocalCluster

    cluster = None
    if address is not None:
        try:
            client = Client(address, timeout=CONNECT_SECONDS)
        except (OSError, TimeoutError) as error:
            raise ClusterError(
                f"--scheduler {address}: no Dask scheduler answered within {CONNECT_SECONDS} s "
                f"({type(error).__name__}); start one with `dask scheduler`, or use --workers"
            ) from None
    else:
        with dask.config.set(LOCAL_CONFIG):
            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
        client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


@dataclass(frozen=True)
class _Failed:
    error: BaseException


@dataclass(frozen=True)
class _Guarded:
    """The task as a worker runs it: its error is returned, not raised."""

    function: Callable[[Any], Any]

    def __call__(self, item: Any) -> Any:
        try:
            return self.function(item)
        except Exception as error:  # handed back to the caller, which raises it
            return _Failed(error)


def map_unordered(
    client: Any, function: Callable[[Any], Any], items: list[Any], label: str
) -> Iterator[tuple[int, Any]]:
    """Run `function` on every item as a task; yield (index, result) as each finishes. Each
    future is let go once taken, so neither the workers nor this process hold finished results.
    The first task that failed raises its own error here."""
    from distributed import as_completed

    token = uuid.uuid4().hex
    keys = [f"creditsim-{label}-{token}-{index}" for index in range(len(items))]
    for future in as_completed(client.map(_Guarded(function), items, key=keys, pure=False)):
        index = int(future.key.rsplit("-", 1)[1])
        result = future.result()
        future.release()
        del future
        if isinstance(result, _Failed):
            raise result.error
        yield index, result
