"""The `creditsim` command: a thin layer over the Python API.

A user's mistake (a bad scenario, an unknown preset, a missing file, a bad option) gets one clear
message and exit status 2, never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

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


def main() -> None:
    app()


if __name__ == "__main__":
    main()
