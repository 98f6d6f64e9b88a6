"""The report's plots, drawn as SVG figure data, in two processes where the machine has two cores.

Drawing the nine plots is most of a report's time, and each is independent: the process forks
once, the child draws half of them while the parent draws the other half, and the child sends
its figures back through a pipe. Where fork is not available, the machine has one core, or the
child fails in any way, the parent draws them all itself: the report is the same either way.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from creditsim.report.render import figure

if TYPE_CHECKING:
    from creditsim.result import RunResult

WAIT = 60.0  # seconds to wait for the child before drawing its share here

# Drawing the kinds in two groups of about equal cost (measured on national-2018).
FIRST = ("sanctions", "disparity", "wrongful", "mobility")


def draw_figures(
    result: RunResult, captions: dict[str, str], parallel: bool = False
) -> dict[str, dict[str, Any]]:
    """Every plot kind as the report's figure data ({kind: figure}), in the order of KINDS.
    `parallel`: draw half in a forked child where that can help."""
    from creditsim.figures.plots import KINDS, plot

    def draw(kinds: list[str]) -> dict[str, dict[str, Any]]:
        return {kind: figure(plot(result, kind), captions[kind]) for kind in kinds}

    kinds = list(KINDS)
    theirs = [k for k in kinds if k not in FIRST]
    ours = [k for k in kinds if k in FIRST]
    if not (parallel and _can_fork()) or not theirs or not ours:
        return draw(kinds)
    child = _start(draw, theirs)
    mine = draw(ours)  # the parent's share, while the child draws its own
    drawn = child.result() if child is not None else {}
    drawn.update(mine)
    missing = [k for k in theirs if k not in drawn]
    if missing:  # the child failed: draw its share here
        drawn.update(draw(missing))
    return {kind: drawn[kind] for kind in kinds}


def _can_fork() -> bool:
    import multiprocessing

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (cores or 1) >= 2 and "fork" in multiprocessing.get_all_start_methods()


class _Child:
    """A forked child drawing some kinds; `result()` gives its figures, or {} if it failed."""

    def __init__(self, draw, kinds: list[str]) -> None:
        import multiprocessing

        context = multiprocessing.get_context("fork")
        self.receive, send = context.Pipe(duplex=False)
        self.process = context.Process(target=_child, args=(draw, kinds, send), daemon=True)
        self.process.start()
        send.close()

    def result(self) -> dict[str, dict[str, Any]]:
        figures: Any = {}
        try:
            if self.receive.poll(WAIT):
                figures = self.receive.recv()
        except (EOFError, OSError):
            figures = {}
        finally:
            self.receive.close()
            self.process.join(timeout=1)
            if self.process.is_alive():  # stuck: it is ours to end, and its share is redrawn
                self.process.kill()
                self.process.join(timeout=5)
        return figures if isinstance(figures, dict) else {}


def _start(draw, kinds: list[str]) -> _Child | None:
    """A child drawing `kinds`, or None where no process could be started."""
    try:
        return _Child(draw, kinds)
    except OSError:
        return None


def _child(draw, kinds: list[str], send) -> None:
    try:
        send.send(draw(kinds))
    except BaseException:  # noqa: BLE001 - any failure: the parent draws them instead
        send.send({})
    finally:
        send.close()


__all__ = ["draw_figures"]
