"""The `creditsim` command: a thin layer over the Python API.

A user's mistake (a bad scenario, an unknown preset, a missing file, a bad option) gets one clear
message and exit status 2, never a traceback.
"""

from __future__ import annotations

import csv
import datetime as dt
import errno
import functools
import json
import math
import sys
from collections.abc import Callable
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from creditsim.errors import CreditsimError, OutputError

if TYPE_CHECKING:
    from creditsim.workflow.compare import CompareResult
    from creditsim.workflow.sweep import SweepResult

app = typer.Typer(
    help="creditsim: simulate and audit social credit systems on synthetic citizens.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
scenarios_app = typer.Typer(help="List and show scenario presets.", no_args_is_help=True)
app.add_typer(scenarios_app, name="scenarios")
runs_app = typer.Typer(
    help="The run catalogue: every run recorded, to list, show and query.", no_args_is_help=True
)
app.add_typer(runs_app, name="runs")


# Options that several commands take, defined once.
MAX_YEARS = 50.0
MAX_SEED = 2**63 - 1  # the catalogue keeps seeds as 64-bit integers


def _years(value: float | None) -> float | None:
    """Years as a finite number in range (NaN would pass a plain range check's wording)."""
    if value is not None and not (math.isfinite(value) and 0.01 <= value <= MAX_YEARS):
        raise typer.BadParameter(f"{value}: allowed is a number of years from 0.01 to 50")
    return value


Years = Annotated[
    float | None, typer.Option("--years", "-y", callback=_years, help="Years to simulate.")
]
Overwrite = Annotated[
    bool, typer.Option("--overwrite", help="Allow writing into a non-empty directory.")
]
RunsWorkers = Annotated[
    int | None,
    typer.Option("--workers", "-w", min=1, help="Run the runs on a local Dask cluster."),
]
RunsScheduler = Annotated[
    str | None,
    typer.Option("--scheduler", help="Run the runs on the Dask cluster at this address."),
]
RunsCitizenRows = Annotated[
    str | None,
    typer.Option("--citizen-rows", help="With --out: all, none or a fraction (default all)."),
]
MemoryLimit = Annotated[
    str | None,
    typer.Option(
        "--memory-limit",
        help="Refuse, before it starts, work that would need more memory than this (8GiB, "
        "500MB; none: no limit). Default: what this machine has available.",
    ),
]

console = Console()
errors = Console(stderr=True)


def _fail(message: str) -> None:
    errors.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def _reported(command: Callable[..., None]) -> Callable[..., None]:
    """The command, with every error its user can mend said in one message and exit status 2:
    creditsim's own, and a place that cannot be written (a full disk, no permission)."""

    @functools.wraps(command)
    def reporting(*args: object, **kwargs: object) -> None:
        try:
            command(*args, **kwargs)
        except CreditsimError as error:
            _fail(str(error))
        except OSError as error:
            _fail(_os_message(error))
        except MemoryError:
            _fail("out of memory: lower --shard-size (memory grows with it), or the population")

    return reporting


def _os_message(error: OSError) -> str:
    """What the system refused, where, and what to do; never a traceback."""
    where = f"{error.filename}: " if error.filename else ""
    reason = error.strerror or str(error)
    if error.errno == errno.ENOSPC:
        return (
            f"{where}{reason}: free some space; a run cut off this way is finished with "
            "--resume and the same options"
        )
    return f"{where}{reason}"


@app.command("run")
@_reported
def run_command(
    scenario: Annotated[str, typer.Argument(help="A preset name or a path to a .toml file.")],
    population: Annotated[
        int | None, typer.Option("--population", "-n", min=1, help="Citizens to simulate.")
    ] = None,
    years: Years = None,
    seed: Annotated[
        int | None, typer.Option("--seed", "-s", min=0, max=MAX_SEED, help="Random seed.")
    ] = None,
    shard_size: Annotated[
        int | None,
        typer.Option(
            "--shard-size", min=1000, help="Citizens per shard (memory is bounded by it)."
        ),
    ] = None,
    citizen_rows: Annotated[
        str | None,
        typer.Option(
            "--citizen-rows",
            help="Citizen rows to write: all, none, or a fraction such as 0.01 (a random "
            "sample); the time series and the audit always cover everyone.",
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Directory to write the run into.")
    ] = None,
    overwrite: Overwrite = False,
    resume: Annotated[
        bool, typer.Option("--resume", help="Finish a run in --out that was cut off.")
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option("--workers", "-w", min=1, help="Run shards on a local Dask cluster."),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="Run shards on the Dask cluster at this address."),
    ] = None,
    backend: Annotated[
        str,
        typer.Option("--backend", help="Array backend: numpy, or cupy for a GPU."),
    ] = "numpy",
    memory_limit: MemoryLimit = None,
) -> None:
    """Run SCENARIO and print its summary; with --out, write the run directory."""
    from creditsim.scenario import load_scenario
    from creditsim.workflow.run import run, run_scenario

    try:
        rows = _citizen_rows(citizen_rows)
        settings = (population, years, seed, shard_size, rows)
        if any(setting is not None for setting in settings):
            load_scenario(scenario)  # the file as written: a flag does not excuse a bad value
        resolved = run_scenario(scenario, *settings)
        with _progress("simulating", percent=True) as advance:
            result = run(
                resolved,
                out=out,
                overwrite=overwrite,
                resume=resume,
                workers=workers,
                scheduler=scheduler,
                backend=backend,
                progress=advance,
                memory_limit=memory_limit,
            )
    except CreditsimError as error:
        _fail(str(error))
        return
    _print_run(result)


def _print_run(result) -> None:
    """The run's summary, one measure a row, and where it was written and recorded."""
    table = Table(title=f"creditsim: {result.scenario.name}", show_header=True)
    table.add_column("measure")
    table.add_column("value", justify="right")
    from creditsim.audit.flags import four_fifths

    flags = four_fifths(result.audit())  # counted as the dashboard counts them
    for key, value in result.summary().items():
        if key in ("flagged (four-fifths rule)", "flagged, significant"):
            continue
        table.add_row(key, f"{value:,}" if isinstance(value, int) else str(value))
    table.add_row("flagged by the four-fifths rule", flags["words"])
    console.print(table)
    _print_years(result)
    if result.path is not None:
        console.print(f"written to {result.path}")
    if result.catalogue_id is not None:
        console.print(f"recorded in the run catalogue as run {result.catalogue_id}")


def _print_years(result) -> None:
    """Travel bans and lists by calendar year, at 1.4 billion, when the run spans several."""
    years = result.by_year_rows()
    if len({row["year"] for row in years}) < 2:
        return
    table = Table(title="by calendar year, at 1.4 billion (history: before the period of interest)")
    for column in ("year", "sanction or list", "people under it", "on the year's last day",
                   "ever, to the year's end", "purchases denied"):  # fmt: skip
        table.add_column(column, justify="left" if column == "sanction or list" else "right")
    for row in years:
        if row["kind"] == "sanction" and "denied_purchases" not in row:
            continue  # travel bans and lists only
        denied = row.get("denied_purchases_at_1_4_billion")
        table.add_row(
            f"{row['year']}{' (history)' if row['history'] else ''}", row["name"],
            f"{row['people_at_1_4_billion']:,}", f"{row['at_end_at_1_4_billion']:,}",
            f"{row['people_to_date_at_1_4_billion']:,}", "" if denied is None else f"{denied:,}",
        )  # fmt: skip
    console.print(table)


def _citizen_rows(value: str | None) -> str | float | None:
    if value is None or value in ("all", "none"):
        return value
    try:
        fraction = float(value)
    except ValueError:
        fraction = -1.0
    if not 0.0 < fraction <= 1.0:
        raise OutputError(f"--citizen-rows {value}: allowed are all, none, or a fraction in (0, 1]")
    return fraction


@scenarios_app.command("list")
@_reported
def scenarios_list() -> None:
    """List the presets shipped with creditsim."""
    from creditsim.scenario import load_scenario, preset_names

    table = Table(show_header=True)
    table.add_column("preset")
    table.add_column("description")
    for name in preset_names():
        table.add_row(name, load_scenario(name).description)
    console.print(table)


@scenarios_app.command("show")
@_reported
def scenarios_show(
    name: Annotated[str, typer.Argument(help="A preset name or a path to a .toml file.")],
) -> None:
    """Print a scenario fully resolved (every `extends` applied, every default filled in)."""
    from creditsim.scenario import load_scenario, to_toml

    try:
        scenario = load_scenario(name)
    except CreditsimError as error:
        _fail(str(error))
        return
    print(to_toml(scenario), end="")


@app.command("compare")
@_reported
def compare_command(
    a: Annotated[
        str,
        typer.Argument(
            help="Scenario A, the baseline: no-system (B - A: the system's own effect) or the "
            "policy in force; a preset name or a .toml path."
        ),
    ],
    b: Annotated[
        str, typer.Argument(help="Scenario B: the system or the change. Reported: B - A.")
    ],
    population: Annotated[
        int | None, typer.Option("--population", "-n", help="Citizens (default: A's).")
    ] = None,
    years: Years = None,
    seeds: Annotated[int, typer.Option("--seeds", "-k", help="Replicate seeds.")] = 5,
    seed: Annotated[
        int | None,
        typer.Option("--seed", "-s", min=0, max=MAX_SEED, help="First seed (default: A's)."),
    ] = None,
    confidence: Annotated[
        float, typer.Option("--confidence", help="Of the intervals on the differences.")
    ] = 0.95,
    workers: RunsWorkers = None,
    scheduler: RunsScheduler = None,
    citizen_rows: RunsCitizenRows = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write compare.parquet, compare.json and the runs."),
    ] = None,
    overwrite: Overwrite = False,
    every_metric: Annotated[
        bool, typer.Option("--all", help="Show every metric, also those zero in A and B.")
    ] = False,
    memory_limit: MemoryLimit = None,
) -> None:
    """Compare B with A, the baseline, on the same citizens and chances: B - A per seed, over
    --seeds seeds (no-system as A: the system's own effect)."""
    from creditsim.workflow.compare import compare

    try:
        with _progress("comparing") as advance:
            result = compare(
                a,
                b,
                population=population,
                years=years,
                seeds=seeds,
                seed=seed,
                confidence=confidence,
                workers=workers,
                scheduler=scheduler,
                citizen_rows=_citizen_rows(citizen_rows),
                out=out,
                overwrite=overwrite,
                progress=advance,
                memory_limit=memory_limit,
            )
    except CreditsimError as error:
        _fail(str(error))
        return
    _print_comparison(result, every_metric)


def _print_comparison(result: CompareResult, every_metric: bool) -> None:
    import pandas as pd

    seeds = result.seeds
    span = str(seeds[0]) if len(seeds) == 1 else f"{seeds[0]}-{seeds[-1]}"
    table = Table(
        title=f"{result.b.name} (B) against {result.a.name} (A, the baseline): "
        f"{result.population:,} citizens, {len(seeds)} paired seeds ({span})",
        show_header=True,
    )
    level = f"{result.confidence:.0%}"
    for name, justify in (
        ("metric", "left"),
        ("A mean", "right"),
        ("B mean", "right"),
        ("B - A", "right"),
        (f"{level} interval", "right"),
        ("significant", "center"),
    ):
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    hidden = 0
    for row in result.table.itertuples(index=False):
        quiet = all(v == 0 or v != v for v in (*row.a_values, *row.b_values))  # zero or NaN
        if quiet and not every_metric:
            hidden += 1
            continue
        interval = (
            "" if row.ci_low != row.ci_low else f"[{_number(row.ci_low)}, {_number(row.ci_high)}]"
        )
        significant = "" if row.significant is pd.NA else ("yes" if row.significant else "no")
        table.add_row(
            escape(row.metric),
            _number(row.a_mean),
            _number(row.b_mean),
            _number(row.difference, signed=True),
            interval,
            significant,
        )
    console.print(table)
    if hidden:
        console.print(f"{hidden} metrics zero in A and B are not shown (--all shows them)")
    if result.note:
        console.print(result.note)
    if result.path is not None:
        console.print(f"written to {result.path}")
    if result.catalogue_id is not None:
        console.print(f"recorded in the run catalogue as {result.catalogue_id}")


@app.command("sweep")
@_reported
def sweep_command(
    scenario: Annotated[str, typer.Argument(help="A preset name or a path to a .toml file.")],
    settings: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="path.to.field=v1,v2,... (a grid; lists of named tables by name, e.g. "
            "sanctions.flight_ban.duration_days=180,365), or path=low:high with --lhs.",
        ),
    ] = None,
    lhs: Annotated[
        int | None,
        typer.Option("--lhs", help="Draw this many points of a Latin hypercube over the ranges."),
    ] = None,
    seeds: Annotated[int, typer.Option("--seeds", "-k", help="Replicate seeds per point.")] = 1,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed",
            "-s",
            min=0,
            max=MAX_SEED,
            help="First seed, and the hypercube's (default: the scenario's).",
        ),
    ] = None,
    population: Annotated[
        int | None, typer.Option("--population", "-n", help="Citizens per run.")
    ] = None,
    years: Years = None,
    workers: RunsWorkers = None,
    scheduler: RunsScheduler = None,
    citizen_rows: RunsCitizenRows = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write sweep.parquet, sweep.json and the runs."),
    ] = None,
    overwrite: Overwrite = False,
    memory_limit: MemoryLimit = None,
) -> None:
    """Run SCENARIO over a grid (or a Latin hypercube) of settings, each on --seeds seeds."""
    from creditsim.workflow.sweep import parse_settings, sweep

    try:
        grid, ranges = parse_settings(settings or [], lhs)
        with _progress("sweeping") as advance:
            result = sweep(
                scenario,
                grid=grid,
                ranges=ranges,
                lhs=lhs,
                seeds=seeds,
                seed=seed,
                population=population,
                years=years,
                workers=workers,
                scheduler=scheduler,
                citizen_rows=_citizen_rows(citizen_rows),
                out=out,
                overwrite=overwrite,
                progress=advance,
                memory_limit=memory_limit,
            )
    except CreditsimError as error:
        _fail(str(error))
        return
    _print_sweep(result)


def _print_sweep(result: SweepResult) -> None:
    from creditsim.workflow.metrics import HEADLINE

    runs = len(result.table)
    table = Table(
        title=f"sweep of {result.scenario.name}: {len(result.points)} points x "
        f"{len(result.seeds)} seeds = {runs} runs (means over the seeds)",
        show_header=True,
    )
    summary = result.summary()
    table.add_column("point", justify="right")
    for name in result.parameters:
        table.add_column(escape(name), justify="right", overflow="fold")
    metrics = [name for name in HEADLINE if name in summary.columns]
    for name in metrics:
        table.add_column(escape(name), justify="right", overflow="fold")
    for row in summary.to_dict(orient="records"):
        cells = [str(row["point"])]
        cells += [escape(_setting(row[name])) for name in result.parameters]
        cells += [_number(row[name]) for name in metrics]
        table.add_row(*cells)
    console.print(table)
    if result.path is not None:
        console.print(f"written to {result.path}")
    if result.catalogue_id is not None:
        console.print(f"recorded in the run catalogue as {result.catalogue_id}")


@app.command("calibrate")
@_reported
def calibrate_command(
    scenario: Annotated[str, typer.Argument(help="A preset name or a path to a .toml file.")],
    targets: Annotated[
        str | None,
        typer.Option(
            "--targets",
            "-t",
            help="A targets file, or a scenario that ships one (default: the scenario's own).",
        ),
    ] = None,
    fit: Annotated[
        list[str] | None,
        typer.Option(
            "--fit",
            help="path.to.field=low:high to fit (default: the targets file's parameters table).",
        ),
    ] = None,
    method: Annotated[
        str,
        typer.Option(
            "--method",
            help="mcmc: a posterior (emcee), the default; optimize: one best point (Nelder-Mead).",
        ),
    ] = "mcmc",
    population: Annotated[
        int | None, typer.Option("--population", "-n", help="Citizens per evaluation.")
    ] = None,
    years: Years = None,
    seed: Annotated[
        int | None,
        typer.Option("--seed", "-s", min=0, max=MAX_SEED, help="The seed of every evaluation."),
    ] = None,
    walkers: Annotated[int, typer.Option("--walkers", help="mcmc: walkers of the ensemble.")] = 16,
    steps: Annotated[int, typer.Option("--steps", help="mcmc: steps of every walker.")] = 50,
    burn: Annotated[
        int | None,
        typer.Option("--burn", help="mcmc: steps dropped before keeping (default: half)."),
    ] = None,
    max_evaluations: Annotated[
        int, typer.Option("--max-evaluations", help="optimize: runs the optimiser may make.")
    ] = 80,
    workers: RunsWorkers = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Write calibration.json, posterior.csv and fitted.toml here."
        ),
    ] = None,
    overwrite: Overwrite = False,
    memory_limit: MemoryLimit = None,
) -> None:
    """Find values of SCENARIO's parameters consistent with published figures (at 1.4 billion)."""
    from creditsim.workflow.calibrate import calibrate, parse_fit

    try:
        ranges = parse_fit(fit) if fit else None
        with _progress("calibrating") as advance:
            result = calibrate(
                scenario,
                targets,
                parameters=ranges,
                method=method,
                population=population,
                years=years,
                seed=seed,
                walkers=walkers,
                steps=steps,
                burn=burn,
                max_evaluations=max_evaluations,
                workers=workers,
                out=out,
                overwrite=overwrite,
                progress=advance,
                memory_limit=memory_limit,
            )
    except CreditsimError as error:
        _fail(str(error))
        return
    _print_calibration(result)


def _print_calibration(result) -> None:
    """The parameters (the posterior's median and 90% interval, or the fitted point), then each
    target: published against the model, before and after, with the model's interval."""
    from creditsim.workflow.calibrate import calibration_text

    parameters, targets, notes = calibration_text(result)
    for title, rows in ((parameters[0], parameters[1]), (targets[0], targets[1])):
        table = Table(title=title, show_header=True)
        for index, column in enumerate(rows[0]):
            table.add_column(column, justify="left" if index == 0 else "right", overflow="fold")
        for row in rows[1:]:
            table.add_row(*(escape(cell) for cell in row))
        console.print(table)
    for line in notes:
        console.print(escape(line))
    if result.path is not None:
        console.print(f"written to {result.path}")
    if result.catalogue_id is not None:
        console.print(f"recorded in the run catalogue as {result.catalogue_id}")


@app.command("uncertainty")
@_reported
def uncertainty_command(
    scenario: Annotated[str, typer.Argument(help="A preset name or a path to a .toml file.")],
    samples: Annotated[
        int | None,
        typer.Option(
            "--samples",
            "-k",
            help="Morris: trajectories (default 10; runs: k x (assumptions + 1)). Sobol: base "
            "points, a power of 2 (default 64; runs: k x (assumptions + 2)).",
        ),
    ] = None,
    method: Annotated[
        str, typer.Option("--method", "-m", help="morris (elementary effects) or sobol.")
    ] = "morris",
    population: Annotated[
        int | None, typer.Option("--population", "-n", help="Citizens per run.")
    ] = None,
    years: Years = None,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed", "-s", min=0, max=MAX_SEED, help="The seed of every run and of the design."
        ),
    ] = None,
    workers: RunsWorkers = None,
    scheduler: RunsScheduler = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Write uncertainty.json, uncertainty.parquet and uncertainty.html here.",
        ),
    ] = None,
    overwrite: Overwrite = False,
    memory_limit: MemoryLimit = None,
) -> None:
    """Carry SCENARIO's assumption ranges into an interval on every headline number, and rank
    the unknowns that drive them (global sensitivity, SALib)."""
    from creditsim.workflow.uncertainty import uncertainty

    with _progress("drawing from the assumption ranges") as advance:
        result = uncertainty(
            scenario,
            samples=samples,
            method=method,
            population=population,
            years=years,
            seed=seed,
            workers=workers,
            scheduler=scheduler,
            out=out,
            overwrite=overwrite,
            progress=advance,
            memory_limit=memory_limit,
        )
    _print_uncertainty(result)


def _print_uncertainty(result) -> None:
    """The headline numbers over the ranges beside the scenario as written, then what drives
    wrongful sanctions, disparity and children reached."""
    from creditsim.workflow.uncertainty_page import key_metrics, label, ranked_metrics, show

    table = Table(
        title=f"{result.scenario.name}: {len(result.ranges)} assumptions, {result.method}, "
        f"{result.runs} runs of {result.population:,} citizens (seed {result.seed})",
        show_header=True,
    )
    for column in ("headline number", "over the ranges", "as written", "sampling (95%)"):
        table.add_column(column, justify="left" if column == "headline number" else "right")
    for metric in key_metrics(result):
        entry = result.intervals[metric]
        sampling = entry["sampling_interval"]
        table.add_row(
            escape(label(metric)),
            f"{show(metric, entry['low'])} to {show(metric, entry['high'])}",
            show(metric, entry["scenario_value"]),
            "—"
            if sampling is None
            else f"{show(metric, sampling[0])} to {show(metric, sampling[1])}",
        )
    console.print(table)
    value, conf = ("mu_star", "mu_star_conf") if result.method == "morris" else ("ST", "ST_conf")
    for metric in ranked_metrics(result):
        entry = result.sensitivity[metric]
        ranking = Table(title=f"what drives {escape(label(metric))}", show_header=True)
        for column in ("rank", "assumption", "mu*" if value == "mu_star" else "ST", "±"):
            ranking.add_column(column, justify="left" if column == "assumption" else "right")
        for row in entry["ranking"][:5]:
            ranking.add_row(str(row["rank"]), escape(row["path"]), _index(row[value]),
                            _index(row[conf]))  # fmt: skip
        if entry["note"]:
            ranking.caption = escape(entry["note"])
        console.print(ranking)
    for path, note in result.notes.items():
        console.print(f"note: {escape(path)}: {escape(note)}")
    for path, reason in result.left_out.items():
        console.print(f"left out: {escape(path)}: {escape(reason)}")
    if result.path is not None:
        console.print(f"written to {result.path}")


def _index(value: float | None) -> str:
    return "—" if value is None else f"{value:.3g}"


class _progress:
    """A progress bar on stderr, in per cent (a run's stages) or as a count (the runs of a
    compare or sweep); yields its callback. Where stderr is not a terminal nothing would be
    drawn: the callback does nothing and Rich's progress module is not loaded."""

    def __init__(self, label: str, percent: bool = False):
        self.label = label
        self.bar = None
        if errors.is_terminal:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            count = "{task.percentage:>3.0f}%" if percent else "{task.completed}/{task.total}"
            self.bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TextColumn(count),
                TimeElapsedColumn(),
                console=errors,
                transient=True,
            )

    def __enter__(self) -> Callable[[int, int, str], None]:
        bar = self.bar
        if bar is None:
            return _no_progress
        bar.__enter__()
        task = bar.add_task(self.label, total=None)

        def advance(done: int, total: int, label: str) -> None:
            bar.update(task, completed=done, total=total, description=label)

        return advance

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


def _no_progress(done: int, total: int, label: str) -> None:
    """Progress nobody sees."""


def _setting(value: object) -> str:
    """A swept value: floats to six significant digits (a hypercube draws long ones)."""
    return f"{value:.6g}" if isinstance(value, float) else _plain(value)


def _number(value: float, signed: bool = False) -> str:
    """A mean for a table: whole numbers with separators, others to four significant digits."""
    if value != value:  # NaN: undefined (a ratio over zero)
        return "n/a"
    sign = "+" if signed and value != 0 else ""
    if float(value).is_integer():
        return f"{value:{sign},.0f}"
    if abs(value) >= 1000:
        return f"{value:{sign},.1f}"
    return f"{value:{sign}.4g}"


class QueryFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


@app.command("report")
@_reported
def report_command(
    source: Annotated[
        str,
        typer.Argument(
            help="A run directory (creditsim run ... --out DIR), a compare directory, or a run "
            "catalogue id."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="The HTML file to write.")],
    targets: Annotated[
        str | None,
        typer.Option(
            "--targets",
            help="Published figures to compare with: a targets file or a scenario name "
            "(default: the run's scenario's own, where they ship).",
        ),
    ] = None,
) -> None:
    """Write one self-contained HTML report of a run or a comparison (opens with no network)."""
    from creditsim.report import ReportError, report

    try:
        path = report(source, out, targets=targets)
    except ReportError as error:
        _fail(str(error))
        return
    console.print(f"report written to {path}")


@app.command("case")
@_reported
def case_command(
    run: Annotated[
        str, typer.Argument(help="A run directory (creditsim run ... --out DIR) or a run id.")
    ],
    citizen: Annotated[str, typer.Argument(help="The citizen's id in the run (0, 1, ...).")],
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write the case file as an HTML page.")
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the case file as JSON.")
    ] = None,
) -> None:
    """One synthetic citizen's case file: their acts and the records made about them (and who
    really did it), scores, lists, sanctions, appeals and the children reached."""
    from creditsim.report.case_page import check_output, print_case, write_case
    from creditsim.workflow.case import case

    check_output(html, "--html")
    check_output(json_out, "--json")
    found = case(run, citizen)
    print_case(found, console)
    for path in write_case(found, html, json_out):
        console.print(f"written to {path}")


@app.command("serve")
@_reported
def serve_command(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (loopback by default).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", min=0, max=65535)] = 8000,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Where the dashboard's runs are written (default "
            "~/.local/share/creditsim/dashboard, or $CREDITSIM_DASHBOARD_DIR).",
        ),
    ] = None,
    max_population: Annotated[
        int, typer.Option("--max-population", min=1, help="Most citizens a run may have.")
    ] = 2_000_000,
    max_running: Annotated[
        int, typer.Option("--max-running", min=1, help="Runs at once, each in its own process.")
    ] = 1,
    max_queued: Annotated[
        int, typer.Option("--max-queued", min=0, help="Runs that may wait; more are refused.")
    ] = 8,
    time_limit: Annotated[
        float, typer.Option("--time-limit", min=1.0, help="Seconds a run may take at most.")
    ] = 600.0,
    abandon_after: Annotated[
        float,
        typer.Option(
            "--abandon-after",
            min=1.0,
            help="Cancel a run whose page has not asked about it for this many seconds.",
        ),
    ] = 60.0,
) -> None:
    """Start the local web dashboard: knobs, runs with a progress bar, plots, comparisons and
    the synthetic public blacklist."""
    from creditsim.web import create_app, is_loopback

    try:
        import uvicorn
    except ImportError:  # pragma: no cover - a dependency; only a broken install lacks it
        _fail("the dashboard needs uvicorn and fastapi: pip install creditsim")
        return
    try:
        application = create_app(
            data_dir=data_dir,
            max_population=max_population,
            max_running=max_running,
            max_queued=max_queued,
            time_limit=time_limit,
            abandon_after=abandon_after,
            allowed_hosts=None if is_loopback(host) else ["*"],
        )
    except (ValueError, OSError) as error:
        _fail(str(error))
        return
    if not is_loopback(host):
        errors.print(
            f"[bold yellow]warning:[/] listening on {escape(host)}: anyone who can reach it "
            "can start runs (there is no login)",
            highlight=False,
        )
    shown = "localhost" if is_loopback(host) else host
    kept = application.state.data_dir
    console.print(
        f"creditsim dashboard on http://{shown}:{port}/ (runs kept in {kept}); Ctrl-C stops it"
    )
    uvicorn.run(application, host=host, port=port, log_level="warning")


@runs_app.command("list")
@_reported
def runs_list(
    limit: Annotated[
        int, typer.Option("--limit", "-l", min=1, help="How many, newest first.")
    ] = 20,
    kind: Annotated[
        str | None, typer.Option("--kind", help="Only run, compare, sweep or calibrate.")
    ] = None,
) -> None:
    """List the runs recorded in the catalogue, newest first."""
    from creditsim import catalogue

    try:
        rows = catalogue.list_runs(limit, kind)
    except CreditsimError as error:
        _fail(str(error))
        return
    if not rows:
        console.print(f"no runs recorded in {catalogue.catalogue_path()}")
        return
    table = Table(show_header=True)
    for name, justify in (
        ("id", "right"),
        ("kind", "left"),
        ("created (UTC)", "left"),
        ("scenario", "left"),
        ("population", "right"),
        ("seed", "right"),
        ("wall s", "right"),
        ("records", "right"),
        ("wrongful records", "right"),
        ("sanctioned (wrongfully)", "right"),
        ("path", "left"),
    ):
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for row in rows:
        sanctioned = _cell(row["sanctioned"])
        if row["wrongfully_sanctioned"] is not None:
            sanctioned += f" ({_cell(row['wrongfully_sanctioned'])})"
        table.add_row(
            str(row["id"]),
            row["kind"],
            f"{row['created_at']:%Y-%m-%d %H:%M:%S}",
            _cell(row["scenario"]),
            _cell(row["population"]),
            _cell(row["seed"], thousands=False),
            _cell(row["wall_seconds"]),
            _cell(row["records"]),
            _cell(row["wrongful_records"]),
            sanctioned,
            _cell(row["path"]),
        )
    console.print(table)


@runs_app.command("show")
@_reported
def runs_show(run_id: Annotated[str, typer.Argument(help="A run's id (see `runs list`).")]) -> None:
    """Show everything the catalogue holds on one run."""
    from creditsim import catalogue

    try:
        row = catalogue.show_run(run_id)
    except CreditsimError as error:
        _fail(str(error))
        return
    table = Table(title=f"run {row['id']}", show_header=False)
    table.add_column("field")
    table.add_column("value", overflow="fold")
    nested = ("timings", "metrics", "settings", "files", "scenario_json")
    for name, value in row.items():
        if name not in nested:
            table.add_row(name, _cell(value, thousands=name not in ("id", "seed", "parent")))
    console.print(table)
    for name, title in (("metrics", "headline metrics"), ("timings", "seconds by stage")):
        values = row.get(name)
        if values:
            inner = Table(title=title, show_header=False)
            inner.add_column("measure")
            inner.add_column("value", justify="right")
            for key, value in values.items():
                inner.add_row(key, _cell(value))
            console.print(inner)
    for name in ("settings", "files"):
        if row.get(name):
            console.print(f"[bold]{name}[/]: {escape(json.dumps(row[name]))}", soft_wrap=True)
    if row.get("scenario_json") is not None:
        console.print(
            "the resolved scenario: creditsim runs query "
            f'"SELECT scenario_json FROM runs WHERE id = {row["id"]}" --format json',
            soft_wrap=True,
        )


@runs_app.command("query")
@_reported
def runs_query(
    sql: Annotated[
        str,
        typer.Argument(
            help="One read statement over the tables runs, citizens and timeseries "
            "(citizens and timeseries hold every run on disk, with a run_id column)."
        ),
    ],
    output: Annotated[
        QueryFormat, typer.Option("--format", "-f", help="table, csv or json.")
    ] = QueryFormat.table,
    max_rows: Annotated[
        int, typer.Option("--max-rows", min=1, help="Rows shown in a table (csv, json: all).")
    ] = 100,
) -> None:
    """Query the catalogue and the runs' Parquet files with SQL (read only)."""
    from creditsim import catalogue

    try:
        result = catalogue.query(sql)
    except CreditsimError as error:
        _fail(str(error))
        return
    names = result.column_names
    rows = result.to_pylist()
    if output is QueryFormat.json:
        print(json.dumps(rows, indent=2, default=_json_value))
        return
    if output is QueryFormat.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(names)
        for row in rows:
            writer.writerow([_plain(row[name]) for name in names])
        return
    table = Table(show_header=True)
    for name in names:
        table.add_column(name, overflow="fold")
    for row in rows[:max_rows]:
        table.add_row(*(_cell(row[name], thousands=False) for name in names))
    console.print(table)
    shown = min(len(rows), max_rows)
    more = f", {shown:,} shown (--max-rows, or --format csv for all)" if shown < len(rows) else ""
    console.print(f"{len(rows):,} rows{more}")


def _cell(value: object, thousands: bool = True) -> str:
    """A value for a Rich table cell (escaped: no markup)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, int):
        text = f"{value:,}" if thousands else str(value)
    elif isinstance(value, float):
        text = f"{value:,.6g}" if thousands else f"{value:.6g}"
    else:
        text = _plain(value)
    return escape(text)


def _json_value(value: object) -> object:
    """What json cannot write: sums (DuckDB's HUGEINT, a Decimal) as numbers, the rest as text."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    return str(value)


def _plain(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, default=_json_value)
    return str(value)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
