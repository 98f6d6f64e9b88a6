"""The dashboard's work queue: each run (or paired comparison) in a process of its own.

At most `max_running` jobs run at once and at most `max_queued` wait; a submission beyond that
is refused (`Busy`, answered 503). Every job is bounded:

- it runs in a child process, so it can be stopped at any moment (terminated, then killed);
- a running job is stopped after `time_limit` seconds;
- a job, queued or running, whose client has not asked about it for `abandon_after` seconds is
  cancelled: the page asks twice a second while it waits, so a closed page stops its run;
- a cancelled or failed job's partial directory is removed.

The child writes the run directory under the data dir and records it in the run catalogue; the
parent only reads messages from it (progress, then the catalogue id or an error).
"""

from __future__ import annotations

import multiprocessing
import shutil
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
FINISHED = (DONE, FAILED, CANCELLED)
KEEP_FINISHED = 500  # finished jobs remembered (their runs stay in the catalogue regardless)
TICK = 0.05  # seconds between the supervisor's rounds


class Busy(RuntimeError):
    """Every slot is taken and the queue is full; the message says so and what to do."""


@dataclass
class Job:
    id: str
    kind: str  # "run" or "compare"
    payload: dict[str, Any]  # what the child needs (JSON-able)
    description: str
    out: Path
    state: str = QUEUED
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    last_seen: float = field(default_factory=time.monotonic)
    done: int = 0
    total: int = 0
    label: str = "waiting for a free slot"
    result: dict[str, Any] | None = None
    error: str | None = None
    process: Any = None
    conn: Any = None
    deadline: float | None = None


class JobManager:
    """Queue, run, watch and bound the dashboard's jobs (see the module's doc)."""

    def __init__(
        self,
        *,
        max_running: int = 1,
        max_queued: int = 8,
        time_limit: float = 600.0,
        abandon_after: float = 60.0,
    ) -> None:
        if max_running < 1 or max_queued < 0:
            raise ValueError("max_running must be at least 1 and max_queued at least 0")
        self.max_running = max_running
        self.max_queued = max_queued
        self.time_limit = time_limit
        self.abandon_after = abandon_after
        self.jobs: dict[str, Job] = {}
        self.lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._context = _context()

    # ------------------------------------------------------------------------------- interface

    def start(self) -> None:
        with self.lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(
                    target=self._supervise, name="creditsim-web-jobs", daemon=True
                )
                self._thread.start()

    def stop(self) -> None:
        """Cancel every job and stop watching (the server is shutting down)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self.lock:
            for job in self.jobs.values():
                if job.state not in FINISHED:
                    self._end(job, CANCELLED, error="the dashboard was shut down")

    def submit(self, kind: str, payload: dict[str, Any], description: str, out: Path) -> Job:
        self.start()
        with self.lock:
            waiting = sum(job.state == QUEUED for job in self.jobs.values())
            running = sum(job.state == RUNNING for job in self.jobs.values())
            if waiting + running >= self.max_queued + self.max_running:
                raise Busy(
                    f"the dashboard is busy: {_count(running, 'run')} under way and "
                    f"{waiting} waiting, as many as it takes at once; try again when one has "
                    "finished"
                )
            job = Job(uuid.uuid4().hex[:12], kind, payload, description, out)
            self.jobs[job.id] = job
            self._prune()
        return job

    def get(self, job_id: str, seen: bool = True) -> Job | None:
        with self.lock:
            job = self.jobs.get(job_id)
            if job is not None and seen:
                job.last_seen = time.monotonic()
            return job

    def cancel(self, job_id: str, reason: str = "cancelled: nothing was kept") -> Job | None:
        with self.lock:
            job = self.jobs.get(job_id)
            if job is not None and job.state not in FINISHED:
                self._end(job, CANCELLED, error=reason)
            return job

    def counts(self) -> dict[str, int]:
        with self.lock:
            states = [job.state for job in self.jobs.values()]
        return {state: states.count(state) for state in (QUEUED, RUNNING)}

    def view(self, job: Job) -> dict[str, Any]:
        """What GET /api/jobs/{id} answers."""
        with self.lock:
            position = ahead = None
            if job.state == QUEUED:
                waiting = [j for j in self.jobs.values() if j.state == QUEUED]
                waiting.sort(key=lambda j: j.created)
                position = 1 + [j.id for j in waiting].index(job.id)
                # How many must finish before it starts (0: it starts at the next round).
                running = sum(j.state == RUNNING for j in self.jobs.values())
                ahead = max(0, running + position - self.max_running)
            elapsed = None
            if job.started is not None:
                elapsed = (job.finished or time.time()) - job.started
            return {
                "id": job.id,
                "kind": job.kind,
                "state": job.state,
                "description": job.description,
                "position": position,
                "ahead": ahead,
                "progress": {
                    "done": job.done,
                    "total": job.total,
                    "fraction": (job.done / job.total) if job.total else 0.0,
                    "label": job.label,
                },
                "elapsed_seconds": None if elapsed is None else round(elapsed, 2),
                "time_limit_seconds": self.time_limit,
                "abandon_after_seconds": self.abandon_after,
                "result": job.result,
                "error": job.error,
            }

    # ------------------------------------------------------------------------------ supervisor

    def _supervise(self) -> None:
        while not self._stop.is_set():
            try:
                self._round()
            except Exception:  # noqa: BLE001 - the supervisor must outlive any one job
                traceback.print_exc()
            time.sleep(TICK)

    def _round(self) -> None:
        now = time.monotonic()
        with self.lock:
            for job in list(self.jobs.values()):
                if job.state == RUNNING:
                    self._read(job)
                if job.state in FINISHED:
                    continue
                if now - job.last_seen > self.abandon_after:
                    self._end(
                        job,
                        CANCELLED,
                        error=f"cancelled: nobody asked about it for {self.abandon_after:g} s "
                        "(the page that started it was closed)",
                    )
                elif job.state == RUNNING and job.deadline is not None and now > job.deadline:
                    self._end(
                        job,
                        FAILED,
                        error=f"stopped at the time limit of {self.time_limit:g} s "
                        "that this dashboard gives a run; try fewer citizens or years",
                    )
            running = sum(job.state == RUNNING for job in self.jobs.values())
            waiting = sorted(
                (job for job in self.jobs.values() if job.state == QUEUED),
                key=lambda job: job.created,
            )
            for job in waiting[: max(0, self.max_running - running)]:
                self._launch(job)

    def _launch(self, job: Job) -> None:
        reader, writer = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=_child_main,
            args=(job.kind, job.payload, str(job.out), writer),
            name=f"creditsim-web-{job.id}",
            daemon=True,
        )
        job.state = RUNNING
        job.started = time.time()
        job.deadline = time.monotonic() + self.time_limit
        job.label = "starting"
        try:
            process.start()
        except Exception as error:  # noqa: BLE001
            writer.close()
            reader.close()
            self._end(job, FAILED, error=f"could not start the run: {error}")
            return
        writer.close()  # the child holds its own end: end of file when it exits
        job.process, job.conn = process, reader

    def _read(self, job: Job) -> None:
        """Take the child's messages; notice when it has ended."""
        conn = job.conn
        if conn is None:
            return
        try:
            while conn.poll():
                message = conn.recv()
                kind = message[0]
                if kind == "progress":
                    _, job.done, job.total, job.label = message
                elif kind == "done":
                    job.result = message[1]
                    self._end(job, DONE)
                    return
                elif kind == "error":
                    self._end(job, FAILED, error=message[1])
                    return
        except (EOFError, OSError):
            pass
        process = job.process
        if process is not None and not process.is_alive():
            code = process.exitcode
            self._end(job, FAILED, error=f"the run ended without a result (exit code {code})")

    def _end(self, job: Job, state: str, error: str | None = None) -> None:
        job.state = state
        job.finished = time.time()
        if error is not None:
            job.error = error
        if state != DONE:
            job.label = state
        process, conn = job.process, job.conn
        job.process = job.conn = None
        if conn is not None:
            conn.close()
        if process is not None:
            if process.is_alive():
                process.terminate()
                process.join(timeout=3)
                if process.is_alive():
                    process.kill()
            process.join(timeout=3)
        if state != DONE:
            shutil.rmtree(job.out, ignore_errors=True)

    def _prune(self) -> None:
        finished = [job for job in self.jobs.values() if job.state in FINISHED]
        finished.sort(key=lambda job: job.finished or 0.0)
        for job in finished[: max(0, len(finished) - KEEP_FINISHED)]:
            del self.jobs[job.id]


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _context():
    """Children forked from a server that has imported the simulator once (forkserver): quick to
    start, and never a fork of the web server's threads."""
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["creditsim.web.child"])
        return context
    return multiprocessing.get_context("spawn")


def _child_main(kind: str, payload: dict[str, Any], out: str, conn) -> None:
    from creditsim.web.child import main

    main(kind, payload, out, conn)


__all__ = ["CANCELLED", "DONE", "FAILED", "QUEUED", "RUNNING", "Busy", "Job", "JobManager"]
