"""Plots and the HTML report: plot kinds, a self-contained file with every section and the audit's
numbers, bad input refused with one message, and the report rendered in headless Chromium with no
console error (skipped where Chromium or Playwright is missing)."""

from __future__ import annotations

import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from matplotlib.figure import Figure
from typer.testing import CliRunner

import creditsim
from creditsim import cli
from creditsim.figures.numbers import integer, number, percent, ratio, signed_number
from creditsim.figures.plots import KINDS
from creditsim.report import ReportError, open_source
from creditsim.workflow.targets import gap_table, load_targets

SECTIONS = (
    "findings",
    "headlines",
    "simulated",
    "sanctions",
    "wrongful",
    "disparity",
    "regions",
    "children",
    "mobility",
    "behaviour",
    "scores",
    "side-by-side",
    "published",
    "limits",
)


class Page(HTMLParser):
    """What the tests read from a report: tags with their attributes, section ids, and each table
    as its caption and rows of cell texts."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.tables: list[dict] = []
        self._cell: list[str] | None = None
        self._caption: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "table":
            self.tables.append({"caption": "", "rows": []})
        elif tag == "caption":
            self._caption = []
        elif tag == "tr" and self.tables:
            self.tables[-1]["rows"].append([])
        elif tag in ("td", "th") and self.tables:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "caption" and self._caption is not None:
            self.tables[-1]["caption"] = "".join(self._caption).strip()
            self._caption = None
        elif tag in ("td", "th") and self._cell is not None:
            self.tables[-1]["rows"][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._caption is not None:
            self._caption.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def table(self, starts: str) -> dict[str, list[str]]:
        """The table whose caption starts with `starts`, as {first cell: the row's cells}."""
        found = [t for t in self.tables if t["caption"].startswith(starts)]
        assert found, f"no table captioned {starts!r}"
        return {row[0]: row for row in found[0]["rows"][1:]}


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    return creditsim.run("national-2018", population=8_000, seed=3, out=folder / "run")


@pytest.fixture(scope="module")
def report_file(written, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("html") / "report.html"
    done = CliRunner().invoke(cli.app, ["report", str(written.path), "-o", str(out)])
    assert done.exit_code == 0, done.output
    assert "report written to" in done.output
    return out


@pytest.fixture(scope="module")
def page(report_file) -> Page:
    return Page(report_file.read_text(encoding="utf-8"))


# ------------------------------------------------------------------------------------------ plots


def test_every_plot_kind_is_a_figure_and_all_come_as_a_dict(written):
    figures = written.plot()
    assert list(figures) == list(KINDS)
    for kind, figure in figures.items():
        assert isinstance(figure, Figure), kind
        assert any(ax.get_visible() and ax.has_data() for ax in figure.axes), kind
        assert figure.creditsim_alt, kind
    single = written.plot("sanctions")
    assert isinstance(single, Figure)
    titles = [" ".join(ax.get_title("left").split()) for ax in single.axes]
    assert any("flight ban" in title for title in titles)


def test_sanctions_with_the_same_citizens_week_by_week_share_one_panel(written):
    """Every sanction and list that held anyone is named in exactly one panel, and the panels
    that name several show series that are equal week by week."""
    weekly = (
        written.timeseries()
        .groupby("period")[[f"{s.name}_active" for s in written.scenario.sanctions]]
        .sum()
    )
    held = [s.name for s in written.scenario.sanctions if weekly[f"{s.name}_active"].max() > 0]
    panels = [" ".join(ax.get_title("left").split()) for ax in written.plot("sanctions").axes]
    for name in held:
        label = name.replace("_", " ")
        named = [p for p in panels if label in p.split(", ") or f"{label} (reward)" in p]
        assert len(named) == 1, (name, panels)
    for panel in panels:
        names = [n for n in held if n.replace("_", " ") in panel.split(", ")]
        if len(names) > 1:
            first = weekly[f"{names[0]}_active"].to_numpy()
            for other in names[1:]:
                assert (weekly[f"{other}_active"].to_numpy() == first).all(), panel


@pytest.mark.parametrize("kind", ["wrongful", "children", "side_by_side", "regions"])
def test_the_plots_carry_intervals_around_their_values(written, kind):
    """Every bar of these plots has an error bar (a 95% interval) that holds the bar's end."""
    figure = written.plot(kind)
    checked = 0
    for ax in figure.axes:
        for container in ax.containers:
            errorbar = getattr(container, "errorbar", None)
            if errorbar is None:
                continue
            segments = errorbar.lines[2][0].get_segments()
            for bar, segment in zip(container.patches, segments, strict=True):
                low, high = sorted(point[0] for point in segment)
                assert low - 1e-9 <= bar.get_width() <= high + 1e-9, (kind, bar, segment)
                checked += 1
    assert checked >= 3, kind
    assert "95%" in " ".join(ax.get_xlabel() for ax in figure.axes)


def test_plots_drawn_in_two_processes_are_the_plots_drawn_in_one(written, monkeypatch):
    """The command line draws half the plots in a forked child; the figures are the same, and
    a child that fails has its share drawn by the parent."""
    from creditsim.report import drawing
    from creditsim.report.run_report import CAPTIONS

    serial = drawing.draw_figures(written, CAPTIONS, parallel=False)
    assert list(serial) == list(KINDS)
    assert drawing.draw_figures(written, CAPTIONS, parallel=True) == serial

    def broken(draw, kinds, send):
        raise SystemExit(3)

    monkeypatch.setattr(drawing, "_child", broken)
    assert drawing.draw_figures(written, CAPTIONS, parallel=True) == serial


def test_an_unknown_plot_kind_names_the_allowed_ones(written):
    with pytest.raises(ValueError, match="unknown plot kind 'pie'") as raised:
        written.plot("pie")
    for kind in KINDS:
        assert kind in str(raised.value)


def test_plots_say_why_a_panel_is_empty():
    result = creditsim.run("fico-baseline", population=2_000, seed=1, catalogue=False)
    texts = [text.get_text() for ax in result.plot("side_by_side").axes for text in ax.texts]
    assert any("nothing to set side by side" in text for text in texts)


# ------------------------------------------------------------------------------------------- html


def test_the_report_is_self_contained(report_file, page):
    text = report_file.read_text(encoding="utf-8")
    assert not any(tag in ("script", "link", "iframe", "object", "embed") for tag, _ in page.tags)
    for tag, attrs in page.tags:
        for name in ("src", "href", "srcset", "data", "poster"):
            value = (attrs.get(name) or "").strip()
            if not value:
                continue
            if name == "href":
                assert value.startswith("#"), (tag, value)
            else:
                assert value.startswith("data:"), (tag, value[:60])
    assert "@import" not in text and "url(" not in text and "@font-face" not in text
    csp = [a for t, a in page.tags if t == "meta" and a.get("http-equiv")]
    assert csp and "default-src 'none'" in csp[0]["content"]
    assert not (report_file.parent / f".{report_file.name}.tmp").exists()
    assert [p.name for p in report_file.parent.iterdir()] == [report_file.name]


def test_every_section_is_there_with_headings_alt_text_and_captions(page):
    ids = [a.get("id") for t, a in page.tags if t == "section"]
    assert ids == list(SECTIONS)
    images = [a for t, a in page.tags if t == "img"]
    assert len(images) == len(KINDS)
    assert all(a.get("alt") and len(a["alt"]) > 40 for a in images)
    assert all(a["src"].startswith("data:image/svg+xml;base64,") for a in images)
    assert all(table["caption"] for table in page.tables)
    assert sum(1 for t, _ in page.tags if t == "h1") == 1
    assert sum(1 for t, _ in page.tags if t == "h2") >= len(SECTIONS)


def test_what_was_simulated_is_stated(written, report_file):
    text = report_file.read_text(encoding="utf-8")
    manifest = written.manifest
    for fact in (
        "national-2018",
        manifest["scenario_hash"],
        manifest["creditsim_version"],
        "8,000 (synthetic)",
        "365 days",
        "Mechanisms switched on",
        "face identification",
        "every citizen here is synthetic",
    ):
        assert fact.lower() in text.lower(), fact


def test_the_numbers_are_the_audits(written, page):
    audit = written.audit()
    overall = audit["overall"]
    headline = page.table("The headline numbers")
    assert headline["records"][1] == integer(overall["records"]) == f"{overall['records']:,}"
    assert headline["wrongful records"][1] == f"{overall['wrongful_records']:,}"
    anyone = overall["sanctions"]["any"]
    assert headline["citizens under any sanction"][1] == f"{anyone['sanctioned']:,}"
    assert headline["children reached"][1] == f"{overall['children_reached']:,}"
    change = overall["behaviour_change"]["offending"]["change_share"]
    assert headline["change in offending"][1] == percent(change, signed=True)

    sanctions = page.table("Each sanction and reward")
    for name, entry in overall["sanctions"].items():
        row = sanctions["any sanction" if name == "any" else name.replace("_", " ")]
        assert row[3:5] == [f"{entry['sanctioned']:,}", f"{entry['wrongful']:,}"], name
    flight = overall["sanctions"]["flight_ban"]
    assert sanctions["flight ban"][7] == (
        f"{flight['denied_purchases']:,} ({flight['denied_purchases_at_1_4_billion']:,})"
    )

    groups = page.table("Any sanction, by group")
    for group, entry in audit["by_group"].items():
        label = group + (" (reference)" if group == audit["reference_group"] else "")
        assert groups[label][1] == f"{entry['citizens']:,}"
        assert groups[label][5] == ratio(entry["sanctions"]["any"]["disparate_impact"])

    regions = page.table("By region")
    assert list(regions) == [r.name for r in written.scenario.regions]  # the scenario's order
    for region, entry in audit["by_region"].items():
        assert regions[region][2] == f"{entry['sanctions']['any']['sanctioned']:,}"

    mobility = page.table("Mobility by score policy")
    national = overall["policies"]["national"]["mobility"]
    assert mobility["national (points)"][3:5] == [
        f"{national['fell_to_bottom_grade']:,}",
        f"{national['climbed_back']:,}",
    ]

    gap = page.table("Published figures against the model")
    expected = gap_table(audit, load_targets("national-2018"), written.manifest["years"])
    assert len(gap) == len(expected)
    for row, target in zip(gap.values(), expected, strict=True):
        assert target["id"] in row[0]
        assert row[1:3] == [integer(target["published"]), integer(target["model"])]


def test_the_python_api_and_a_catalogue_id_give_the_same_report(written, tmp_path, page):
    from_object = creditsim.report(written, tmp_path / "a.html")
    assert from_object == tmp_path / "a.html"
    assert [a.get("id") for t, a in Page(from_object.read_text()).tags if t == "section"] == list(
        SECTIONS
    )
    assert written.catalogue_id is not None
    out = tmp_path / "b.html"
    done = CliRunner().invoke(cli.app, ["report", str(written.catalogue_id), "-o", str(out)])
    assert done.exit_code == 0, done.output
    by_id = Page(out.read_text())
    assert by_id.table("Each sanction and reward") == page.table("Each sanction and reward")


def test_targets_are_omitted_with_a_note_where_none_ship(tmp_path):
    result = creditsim.run("fico-baseline", population=2_000, seed=1, catalogue=False)
    text = creditsim.report(result, tmp_path / "r.html").read_text()
    assert "No published figures ship for the scenario “fico-baseline”" in text
    assert "Published figures against the model" not in text
    with pytest.raises(ReportError, match="--targets: metric .*flight_ban"):
        creditsim.report(result, tmp_path / "t.html", targets="national-2018")
    assert not (tmp_path / "t.html").exists()


def test_a_run_without_a_system_still_reads(tmp_path):
    result = creditsim.run("no-system", population=2_000, seed=1, catalogue=False)
    text = creditsim.report(result, tmp_path / "none.html").read_text()
    assert "No social credit system at all" in text
    assert [a.get("id") for t, a in Page(text).tags if t == "section"] == list(SECTIONS)


def test_a_comparison_gets_its_paired_differences(tmp_path):
    compared = creditsim.compare(
        "national-2018", "no-system", population=2_000, seeds=2, out=tmp_path / "cmp",
        catalogue=False,
    )  # fmt: skip
    out = creditsim.report(tmp_path / "cmp", tmp_path / "cmp.html")
    page = Page(out.read_text())
    table = page.table("Every audit metric")
    data = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    row = next(m for m in data["metrics"] if m["metric"] == "sanctions.any.sanctioned")
    assert table["sanctions.any.sanctioned"][1:4] == [
        number(row["a_mean"]),
        number(row["b_mean"]),
        signed_number(row["difference"]),
    ]
    assert table["sanctions.any.sanctioned"][3].startswith("−")  # fewer without the system
    assert compared.to_json()["a"]["scenario"] == "national-2018"
    from_object = creditsim.report(compared, tmp_path / "obj.html").read_text()
    assert "Paired differences" in from_object


# ------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: str(tmp / "nowhere"), "no such run directory"),
        (lambda tmp: "999", "no run with id 999"),
        (lambda tmp: str(_mkdir(tmp / "empty")), "not a run directory"),
        (lambda tmp: str(_unfinished(tmp / "cut")), "did not finish"),
        (lambda tmp: str(_file(tmp / "a.txt")), "not a directory"),
    ],
)
def test_bad_input_gets_one_message_status_2_and_nothing_written(tmp_path, make, message):
    out = tmp_path / "out" / "report.html"
    out.parent.mkdir()
    done = CliRunner().invoke(cli.app, ["report", make(tmp_path), "-o", str(out)])
    assert done.exit_code == 2, done.output
    assert message in done.stderr
    assert done.stderr.count("error:") == 1 and "Traceback" not in done.output
    assert list(out.parent.iterdir()) == []


def test_bad_output_and_targets_are_refused_before_anything_is_written(written, tmp_path):
    missing = CliRunner().invoke(
        cli.app, ["report", str(written.path), "-o", str(tmp_path / "no" / "r.html")]
    )
    assert missing.exit_code == 2 and "does not exist" in missing.stderr
    targets = CliRunner().invoke(
        cli.app,
        ["report", str(written.path), "-o", str(tmp_path / "r.html"), "--targets", "nope.toml"],
    )
    assert targets.exit_code == 2 and "no such targets file" in targets.stderr
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ReportError, match="is a directory"):
        creditsim.report(written, tmp_path)
    with pytest.raises(ReportError, match="not a run directory"):
        open_source(tmp_path)


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


def _unfinished(path: Path) -> Path:
    path.mkdir()
    (path / "plan.json").write_text("{}")
    return path


def _file(path: Path) -> Path:
    path.write_text("hello")
    return path


# ---------------------------------------------------------------------------------------- browser


def test_the_report_renders_in_headless_chromium_with_no_console_error(report_file, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (.ci/run installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    problems: list[str] = []
    outside: list[str] = []
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=browser,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            view = chromium.new_page(viewport={"width": 1280, "height": 900})
            view.on(
                "console",
                lambda m: (
                    problems.append(f"{m.type}: {m.text}")
                    if m.type in ("error", "warning")
                    else None
                ),
            )
            view.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            view.on(
                "request",
                lambda r: (
                    outside.append(r.url) if not r.url.startswith(("data:", "file:")) else None
                ),
            )
            view.goto(report_file.as_uri(), wait_until="load")
            images = view.evaluate(
                "[...document.images].map(i => [i.complete, i.naturalWidth, i.alt.length])"
            )
            overflow = view.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            headings = view.evaluate("[...document.querySelectorAll('h2')].map(h => h.innerText)")
            view.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        finally:
            chromium.close()
    assert problems == []
    assert outside == []
    assert len(images) == len(KINDS)
    assert all(done and width > 0 and alt > 0 for done, width, alt in images), images
    assert overflow <= 0, "the page is wider than the window"
    assert "Disparity by group" in headings and "The gap to the published figures" in headings
    assert (tmp_path / "report.png").stat().st_size > 50_000
