"""The `creditsim` command: a thin layer over the Python API.

A user's mistake (a bad scenario, an unknown preset, a missing file, a bad option) gets one clear
message and exit status 2, never a traceback.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from creditsim import catalogue
from creditsim.catalogue import CatalogueError
from creditsim.engine.backend import BackendError
from creditsim.engine.runner import OutputError, run
from creditsim.scenario import ScenarioError, load_scenario, preset_names, to_toml

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

console = Console()
errors = Console(stderr=True)


def _fail(message: str) -> None:
    errors.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


@app.command("run")
def run_command(
    scenario: Annotated[str, typer.Argument(help="A preset name or a path to a .toml file.")],
    population: Annotated[
        int | None, typer.Option("--population", "-n", min=1, help="Citizens to simulate.")
    ] = None,
    years: Annotated[
        float | None, typer.Option("--years", "-y", min=0.01, max=50.0, help="Years to simulate.")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", "-s", min=0, help="Random seed.")] = None,
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
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Allow writing into a non-empty directory.")
    ] = False,
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
) -> None:
    """Run SCENARIO and print its summary; with --out, write the run directory."""
    try:
        rows = _citizen_rows(citizen_rows)
        load_scenario(scenario)
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            console=errors,
            transient=True,
        ) as bar:
            task = bar.add_task("simulating", total=None)

            def advance(done: int, total: int, label: str) -> None:
                bar.update(task, completed=done, total=total, description=label)

            result = run(
                scenario,
                population=population,
                years=years,
                seed=seed,
                shard_size=shard_size,
                citizen_rows=rows,
                out=out,
                overwrite=overwrite,
                resume=resume,
                workers=workers,
                scheduler=scheduler,
                backend=backend,
                progress=advance,
            )
    except (ScenarioError, OutputError, BackendError) as error:
        _fail(str(error))
        return
    table = Table(title=f"creditsim: {result.scenario.name}", show_header=True)
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in result.summary().items():
        table.add_row(key, f"{value:,}" if isinstance(value, int) else str(value))
    console.print(table)
    if result.path is not None:
        console.print(f"written to {result.path}")
    if result.catalogue_id is not None:
        console.print(f"recorded in the run catalogue as run {result.catalogue_id}")


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
def scenarios_list() -> None:
    """List the presets shipped with creditsim."""
    table = Table(show_header=True)
    table.add_column("preset")
    table.add_column("description")
    for name in preset_names():
        table.add_row(name, load_scenario(name).description)
    console.print(table)


@scenarios_app.command("show")
def scenarios_show(
    name: Annotated[str, typer.Argument(help="A preset name or a path to a .toml file.")],
) -> None:
    """Print a scenario fully resolved (every `extends` applied, every default filled in)."""
    try:
        scenario = load_scenario(name)
    except ScenarioError as error:
        _fail(str(error))
        return
    print(to_toml(scenario), end="")


class QueryFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


@runs_app.command("list")
def runs_list(
    limit: Annotated[
        int, typer.Option("--limit", "-l", min=1, help="How many, newest first.")
    ] = 20,
    kind: Annotated[
        str | None, typer.Option("--kind", help="Only run, compare, sweep or calibrate.")
    ] = None,
) -> None:
    """List the runs recorded in the catalogue, newest first."""
    try:
        rows = catalogue.list_runs(limit, kind)
    except CatalogueError as error:
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
def runs_show(run_id: Annotated[str, typer.Argument(help="A run's id (see `runs list`).")]) -> None:
    """Show everything the catalogue holds on one run."""
    try:
        row = catalogue.show_run(run_id)
    except CatalogueError as error:
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
    try:
        result = catalogue.query(sql)
    except CatalogueError as error:
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
