"""MkDocs hook: the command line's help, as the installed `creditsim` prints it, generated as the
site builds, so that the command-line reference cannot disagree with the code.

A page holds markers `<!-- cli-help: run -->` (the words of a command, none for the top level);
each is replaced by that command's `--help` in a text block. The help comes from the Typer app
itself, invoked in this process at a fixed width of 100 columns.
"""

from __future__ import annotations

import re

MARKER = re.compile(r"<!-- cli-help:([a-z ]*)-->")
WIDTH = "100"


def on_page_markdown(markdown: str, page, config, files) -> str:
    if not MARKER.search(markdown):
        return markdown
    return MARKER.sub(lambda match: _block(help_text(match.group(1).split())), markdown)


def help_text(command: list[str]) -> str:
    from typer.testing import CliRunner

    from creditsim.cli import app

    result = CliRunner().invoke(
        app, [*command, "--help"], prog_name="creditsim", env={"COLUMNS": WIDTH, "NO_COLOR": "1"}
    )
    if result.exit_code != 0:
        raise RuntimeError(f"creditsim {' '.join(command)} --help failed: {result.output}")
    lines = [line.rstrip() for line in result.output.splitlines()]
    while lines and not lines[0]:
        lines.pop(0)
    return "\n".join(lines).rstrip()


def _block(text: str) -> str:
    return f"```text\n{text}\n```"
