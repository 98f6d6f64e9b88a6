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

from creditsim.engine.runner import STAGES, OutputError, run
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
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Directory to write the run into.")
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Allow writing into a non-empty directory.")
    ] = False,
) -> None:
    """Run SCENARIO and print its summary; with --out, write the run directory."""
    try:
        load_scenario(scenario)
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} stages"),
            TimeElapsedColumn(),
            console=errors,
            transient=True,
        ) as bar:
            task = bar.add_task("simulating", total=len(STAGES))

            def advance(stage: str) -> None:
                bar.update(task, advance=1, description=stage)

            result = run(
                scenario,
                population=population,
                years=years,
                seed=seed,
                shard_size=shard_size,
                out=out,
                overwrite=overwrite,
                progress=advance,
            )
    except (ScenarioError, OutputError) as error:
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
