"""MkDocs hook: run the tutorials while the site builds, so that every number on them is the
code's own output.

A tutorial is a Markdown page in jupytext's format (its front matter names a Python kernel). The
hook reads it as a notebook, executes it with nbclient on a fresh kernel in a temporary folder
(with its own run catalogue, and the `creditsim` command on the PATH for its shell cells), and
gives MkDocs the page back as Markdown: each code cell as a code block, then its outputs (text,
tables, figures as embedded PNG images). A cell that raises fails the build. The executed
notebook is written beside the page as `NAME.ipynb`, for readers who want to run it themselves.

Executed pages are kept in `.cache/docs-notebooks/`, keyed by the page's source and by every file
of `src/creditsim`: a page is run again whenever it or the code changes (a fresh clone, as in CI,
runs them all). `CREDITSIM_DOCS_CACHE=off` runs them all regardless.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import logging
import os
import re
import sys
import tempfile
import time
from pathlib import Path

log = logging.getLogger("mkdocs.hooks.notebooks")

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
CONTROL = re.compile(r"(\x1b\[[0-9;?]*[A-Za-z]|\r|\n)")
STYLE = re.compile(r"<style[^>]*>.*?</style>", re.DOTALL)
TIMEOUT_S = 600  # per cell
CACHE = Path(".cache/docs-notebooks")

_executed: dict[str, object] = {}  # dest path of the .ipynb -> executed notebook
_timings: dict[str, float] = {}


def on_pre_build(config) -> None:
    _executed.clear()
    _timings.clear()


def is_tutorial(page) -> bool:
    kernel = (page.meta.get("jupyter") or {}).get("kernelspec") or {}
    return kernel.get("language") == "python"


def on_page_markdown(markdown: str, page, config, files) -> str:
    if not is_tutorial(page):
        return markdown
    import nbformat

    source = Path(page.file.abs_src_path)
    root = Path(config["config_file_path"]).parent
    cached = root / CACHE / f"{_key(source, root)}.json"
    if cached.exists() and os.environ.get("CREDITSIM_DOCS_CACHE", "on") != "off":
        kept = json.loads(cached.read_text(encoding="utf-8"))
        notebook, seconds = nbformat.reads(kept["notebook"], as_version=4), kept["seconds"]
        log.info("%s: unchanged since it was run (%.1f s); kept", page.file.src_uri, seconds)
    else:
        notebook, seconds = execute(source)
        _timings[page.file.src_uri] = seconds
        log.info("executed %s in %.1f s", page.file.src_uri, seconds)
        cached.parent.mkdir(parents=True, exist_ok=True)
        for old in cached.parent.glob(f"{source.stem}-*.json"):
            old.unlink()
        cached.write_text(
            json.dumps({"notebook": nbformat.writes(notebook), "seconds": seconds}),
            encoding="utf-8",
        )
    stem = Path(page.file.src_uri).stem
    _executed[str(Path(page.file.src_uri).with_suffix(".ipynb"))] = notebook
    return render(notebook, stem, seconds)


def execute(source: Path):
    """The page run as a notebook on a fresh kernel, in a temporary folder; and its seconds."""
    import jupytext
    from jupyter_client import KernelManager
    from nbclient import NotebookClient

    notebook = jupytext.read(source, fmt="md")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="creditsim-docs-") as work, _environment(work):
        # A kernel on local sockets in the temporary folder, not on TCP ports.
        manager = KernelManager(kernel_name="python3", transport="ipc",
                                ip=str(Path(work) / "kernel"))  # fmt: skip
        try:
            NotebookClient(
                notebook,
                km=manager,
                timeout=TIMEOUT_S,
                allow_errors=False,
                resources={"metadata": {"path": work}},
            ).execute()
        finally:
            if manager.has_kernel:
                manager.shutdown_kernel(now=True)
    return notebook, time.perf_counter() - started


def _key(source: Path, root: Path) -> str:
    """The page's name and a hash of its text and of every file of the package's source."""
    digest = hashlib.sha256(source.read_bytes())
    package = root / "src" / "creditsim"
    for path in sorted(package.rglob("*")):
        if path.is_file() and path.suffix in (".py", ".toml", ".json", ".js", ".css", ".html"):
            digest.update(str(path.relative_to(package)).encode())
            digest.update(path.read_bytes())
    return f"{source.stem}-{digest.hexdigest()[:16]}"


def on_post_build(config) -> None:
    import nbformat

    site = Path(config["site_dir"])
    for dest, notebook in _executed.items():
        path = site / dest
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, str(path))
    if _timings:
        total = sum(_timings.values())
        log.info("tutorials: %d executed in %.1f s in all", len(_timings), total)


class _environment:
    """The kernel's environment: a catalogue of its own, the venv's commands on the PATH, a
    terminal width for tables printed by the command line."""

    def __init__(self, work: str) -> None:
        self.values = {
            "CREDITSIM_CATALOGUE": str(Path(work) / "catalogue.duckdb"),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "COLUMNS": "100",
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        }
        self.saved: dict[str, str | None] = {}

    def __enter__(self) -> _environment:
        for key, value in self.values.items():
            self.saved[key] = os.environ.get(key)
            os.environ[key] = value
        return self

    def __exit__(self, *exc) -> None:
        for key, value in self.saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# ---------------------------------------------------------------------------------- rendering


def render(notebook, stem: str, seconds: float) -> str:
    parts: list[str] = []
    noted = False
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            text = cell.source
            if not noted and text.lstrip().startswith("# "):
                title, _, rest = text.lstrip().partition("\n")
                text = f"{title}\n\n{_note(stem, seconds)}\n{rest}"
                noted = True
            parts.append(text)
        elif cell.cell_type == "code":
            parts.append(_code(cell.source))
            parts.extend(_outputs(cell))
    return "\n\n".join(parts) + "\n"


def _note(stem: str, seconds: float) -> str:
    return (
        '!!! info "This page runs"\n'
        "    Every number, table and figure below is the output of the code beside it, run by "
        f"the build of this site on the code it documents ({seconds:.0f} s). Download it as a "
        "notebook: "
        f'<a href="{stem}.ipynb" download>{stem}.ipynb</a>.\n'
    )


def _fence(text: str, language: str) -> str:
    ticks = "`" * max(3, max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
    return f"{ticks}{language}\n{text.rstrip()}\n{ticks}"


def _code(source: str) -> str:
    if source.startswith("%%bash\n"):
        return _fence(source.removeprefix("%%bash\n"), "bash")
    return _fence(source, "python")


def _as_terminal(text: str) -> str:
    """What a terminal would show of `text`: a progress bar redrawn in place with carriage
    returns and erase-line codes (and erased at its end) leaves what it left on screen, and
    colour codes are dropped."""
    lines = [""]
    for token in CONTROL.split(text):
        if token == "\n":
            lines.append("")
        elif token == "\r" or (token.startswith("\x1b[") and token.endswith("K")):  # erase
            lines[-1] = ""
        elif token.startswith("\x1b[") and token.endswith("A"):  # cursor up: that line goes
            for _ in range(int(token[2:-1] or 1)):
                if len(lines) > 1:
                    lines.pop()
                lines[-1] = ""
        elif not token.startswith("\x1b["):
            lines[-1] += token
    return "\n".join(lines)


def _output_block(body: str, kind: str) -> str:
    return f'<div class="nb-output {kind}" markdown>\n\n{body}\n\n</div>'


def _outputs(cell) -> list[str]:
    alt = cell.metadata.get("alt", "A figure drawn by the code above")
    blocks: list[str] = []
    streams: list[tuple[str, str]] = []  # consecutive stream outputs, merged by name

    def flush() -> None:
        for name, text in streams:
            shown = _as_terminal(text)
            if shown.strip():
                blocks.append(_output_block(_fence(shown, "text"), f"nb-{name}"))
        streams.clear()

    for output in cell.get("outputs", []):
        kind = output.output_type
        if kind == "stream":
            text = output.text
            if streams and streams[-1][0] == output.name:
                streams[-1] = (output.name, streams[-1][1] + text)
            else:
                streams.append((output.name, text))
            continue
        flush()
        if kind == "error":  # allow_errors is off, so this is never reached; say so if it is
            raise RuntimeError(f"a cell raised {output.ename}: {output.evalue}")
        data = output.get("data", {})
        if "image/png" in data:
            png = data["image/png"].replace("\n", "")
            size = output.get("metadata", {}).get("image/png", {})
            width = f' width="{size["width"]}"' if "width" in size else ""
            blocks.append(
                f'<figure class="nb-figure"><img src="data:image/png;base64,{png}"{width} '
                f'alt="{html.escape(alt)}"></figure>'
            )
            base64.b64decode(png, validate=True)  # a broken image fails the build
        elif "text/html" in data:
            table = STYLE.sub("", data["text/html"]).replace(' border="1"', "")
            blocks.append(f'<div class="nb-output nb-html">\n{table.strip()}\n</div>')
        elif "text/markdown" in data:
            blocks.append(_output_block(data["text/markdown"], "nb-markdown"))
        elif "text/plain" in data:
            blocks.append(_output_block(_fence(ANSI.sub("", data["text/plain"]), "text"),
                                        "nb-result"))  # fmt: skip
    flush()
    return blocks
