"""The report's template layer: Jinja2 templates shipped in `report/templates`, autoescaped, and the
helpers that turn a figure or a table into the plain data the templates draw.

The page is self-contained: the style sheet (templates/report.css) is inlined by base.html, plots
are SVG data, there is no script, and the Content-Security-Policy forbids fetching anything.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
from typing import Any

from creditsim.version import __version__

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


@functools.cache
def environment() -> Any:
    """The Jinja2 environment over the shipped templates (autoescaped, loaded once)."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("creditsim.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(template: str, **context: Any) -> str:
    """One template rendered with `context` and what every report page needs."""
    page = {"csp": CSP, "version": __version__, **context}
    return environment().get_template(template).render(page)


def made_at() -> str:
    """When the report is made, to the minute, in UTC."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def raw(text: str) -> Any:
    """HTML to put in the page as it is (markup that was escaped where it was built)."""
    from markupsafe import Markup

    return Markup(text)


def figure(fig: Any, caption: str) -> dict[str, Any]:
    """A matplotlib Figure as SVG data with its alt text, size and caption."""
    from creditsim.figures.plots import svg

    width, height = (round(v * 72) for v in fig.get_size_inches())
    return {
        "data": base64.b64encode(svg(fig)).decode("ascii"),
        "alt": getattr(fig, "creditsim_alt", caption),
        "width": width,
        "height": height,
        "caption": caption,
    }


def table(
    caption: str,
    header: list[str],
    rows: list[list[Any]],
    numeric: set[int] | None = None,
    flags: list[bool] | None = None,
    compact: bool = False,
) -> dict[str, Any]:
    """A table for the `table` macro: the first cell of each row is its header; `numeric`
    columns are right-aligned; `flags` highlights rows. Cells are text (escaped) or `raw`."""
    return {
        "caption": caption,
        "header": header,
        "rows": [[c if hasattr(c, "__html__") else str(c) for c in row] for row in rows],
        "numeric": numeric or set(),
        "flags": flags or [False] * len(rows),
        "compact": compact,
    }


__all__ = ["CSP", "environment", "figure", "made_at", "raw", "render", "table"]
