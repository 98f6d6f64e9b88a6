"""The dashboard's heavy requests, a run's plots and its HTML report: drawn in worker processes,
each at most once, with a bounded queue.

- At most `workers` are drawn at once (one process each, by default one per CPU: matplotlib
  holds the interpreter's lock while it draws, so threads would take turns), and the event loop
  never waits on one.
- What is drawn is written to the run's cache folder (per run and kind), so that asking again is
  instant; asking for what is being drawn waits for that drawing, it does not start another.
- When `workers` are busy and `queue` more are waiting, a request for something else is refused
  at once (`Saturated`, answered 503 with Retry-After) rather than left to wait for minutes.
"""

from __future__ import annotations

import asyncio
import io
import os
import threading
import warnings
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

QUEUE = 16  # drawings waiting beyond the running ones
NARROW = "-narrow"  # a plot kind drawn for a phone: its small multiples in one column
NARROW_KINDS = ("sanctions",)
NARROW_WIDTH = 4.2  # inches: about 90 pixels an inch on a phone, so 10-point text stays legible
PANEL_HEIGHT = 1.7  # inches a panel, in one column
TASKS_PER_WORKER = 200  # a worker is replaced after this many drawings (matplotlib's caches)


class Saturated(RuntimeError):
    """Every worker is busy and the queue is full; the message says when to come back."""

    retry_after = 5


@dataclass(frozen=True)
class Drawing:
    """What to draw: a plot `kind` or the "report" of the run directory `run`, cached at
    `cached`. `key` names it (the run's cache folder and the kind)."""

    key: str
    kind: str
    run: Path
    cached: Path


def cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


class Renderer:
    """Draw plots and reports in `workers` processes, each drawing once (see the module's doc)."""

    def __init__(self, workers: int | None = None, queue: int = QUEUE) -> None:
        if workers is not None and workers < 1 or queue < 0:
            raise ValueError("heavy workers must be at least 1 and the queue at least 0")
        self.workers = workers or cpu_count()
        self.queue = queue
        self._pool: ProcessPoolExecutor | None = None
        self._pending: dict[str, Future] = {}
        self._lock = threading.Lock()
        self.drawn = 0  # drawings started (a repeat served from the cache is not one)

    async def get(self, drawing: Drawing) -> bytes:
        """The drawing's bytes: from the cache, from a drawing under way, or drawn now."""
        if drawing.cached.is_file():
            return drawing.cached.read_bytes()
        try:
            # In a thread: starting a worker process takes a while, and the loop must not wait.
            future = await asyncio.to_thread(self._submit, drawing)
            # Shielded: a client that goes away does not cancel what others may be waiting for.
            return await asyncio.shield(asyncio.wrap_future(future))
        except BrokenProcessPool:
            self._reset()
            raise Saturated(
                "the worker drawing this plot or report stopped unexpectedly; try again"
            ) from None

    def busy(self) -> dict[str, int]:
        with self._lock:
            pending = len(self._pending)
        return {
            "drawing": min(pending, self.workers),
            "waiting": max(0, pending - self.workers),
            "workers": self.workers,
            "queue": self.queue,
        }

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
            self._pending.clear()
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------------------ internals

    def _submit(self, drawing: Drawing) -> Future:
        """The future of the drawing: one under way, or a new one. The lock is held only to
        look up and register it: starting a worker process (in `submit`) takes a while."""
        with self._lock:
            future = self._pending.get(drawing.key)
            if future is not None:
                return future
            if drawing.cached.is_file():  # drawn since `get` looked: the worker wrote it first
                future = Future()
                future.set_result(drawing.cached.read_bytes())
                return future
            if len(self._pending) >= self.workers + self.queue:
                raise Saturated(
                    f"the dashboard is busy drawing {len(self._pending)} plots and reports, the "
                    f"most it takes at once ({self.workers} at a time, {self.queue} waiting); "
                    f"try again in a few seconds"
                )
            if self._pool is None:
                from creditsim.web.jobs import _context

                self._pool = ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=_context(),
                    initializer=_warm,
                    max_tasks_per_child=TASKS_PER_WORKER,
                )
            pool = self._pool
            future = Future()  # what every request for this drawing waits on
            self._pending[drawing.key] = future
            self.drawn += 1

        def forget(done: Future, key: str = drawing.key) -> None:
            with self._lock:
                if self._pending.get(key) is done:
                    del self._pending[key]

        future.add_done_callback(forget)
        try:
            work = pool.submit(draw, drawing.kind, str(drawing.run), str(drawing.cached))
        except BaseException as error:  # a broken pool: everyone waiting hears of it
            future.set_exception(error)
            return future
        work.add_done_callback(lambda done: _settle(future, done))
        return future

    def _reset(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


def _settle(future: Future, done: Future) -> None:
    """Pass a worker's result (or error) on to the future the requests wait on."""
    error = done.exception() if not done.cancelled() else BrokenProcessPool("cancelled")
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(done.result())


# ------------------------------------------------------------------------- in a worker process


def _warm() -> None:
    """Import what drawing needs once, when the worker starts."""
    import creditsim.figures.plots  # noqa: F401
    import creditsim.report.run_report  # noqa: F401


def draw(kind: str, run: str, cached: str) -> bytes:
    """Draw one plot (as SVG) or the report (HTML) of the run directory `run`, or the report of
    the comparison directory `run` ("compare_report"); write it to `cached` (whole or not at
    all) and give its bytes."""
    from creditsim.report.loading import open_comparison, open_run

    if kind == "compare_report":
        from creditsim.report.compare_report import render_compare

        data = render_compare(open_comparison(Path(run))).encode("utf-8")
        write(Path(cached), data)
        return data
    result = open_run(Path(run))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "report":
            from creditsim.report.run_report import render_run

            data = render_run(result).encode("utf-8")
        else:
            base = kind.removesuffix(NARROW)
            figure = result.plot(base)
            if kind.endswith(NARROW):
                single_column(figure)
            buffer = io.BytesIO()
            figure.savefig(buffer, format="svg", metadata={"Date": None})
            data = buffer.getvalue()
    write(Path(cached), data)
    return data


def single_column(figure) -> None:
    """Small multiples laid out again in one column, narrow and taller, for a phone: the same
    panels, their text the same size in points on a figure under half as wide. Empty panels
    go; matplotlib's constrained layout places the rest."""
    from matplotlib.gridspec import GridSpec

    axes = [ax for ax in figure.axes if ax.get_subplotspec() is not None]
    live = [ax for ax in axes if ax.axison]
    if len(live) < 2:
        return
    for ax in axes:
        if not ax.axison:
            figure.delaxes(ax)
    grid = GridSpec(len(live), 1, figure=figure)
    for index, ax in enumerate(live):
        ax.set_subplotspec(grid[index])
        ax.tick_params(labelbottom=True)
    figure.set_size_inches(NARROW_WIDTH, PANEL_HEIGHT * len(live) + 0.8)
    figure.set_layout_engine("constrained")


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    try:
        temporary.write_bytes(data)
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


__all__ = ["NARROW", "Drawing", "Renderer", "Saturated", "cpu_count", "draw", "single_column"]
