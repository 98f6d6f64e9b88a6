"""The architecture holds: imports point one way (import-linter's contracts in .importlinter),
and starting creditsim loads none of the heavy libraries (what they cost is in bench/)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("numpy", "pandas", "pyarrow", "scipy", "duckdb", "dask", "distributed", "matplotlib",
         "fastapi", "uvicorn", "pydantic", "jinja2")  # fmt: skip
PROBE = """
import json, sys, runpy
{load}
heavy = {heavy!r}
print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules}} & set(heavy))))
"""


def _loaded(load: str) -> list[str]:
    code = PROBE.format(load=load, heavy=HEAVY)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_import_contracts_hold():
    linter = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if linter is None:
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    done = subprocess.run([linter], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "BROKEN" not in done.stdout and "KEPT" in done.stdout


def test_import_creditsim_loads_no_heavy_library():
    assert _loaded("import creditsim") == []


def test_the_command_line_starts_without_the_simulator():
    load = (
        "import sys\nfrom creditsim import cli\nsys.argv = ['creditsim', '--help']\n"
        "try:\n    cli.main()\nexcept SystemExit:\n    pass"
    )
    assert _loaded(load) == []


def test_the_public_api_is_reached_on_first_use():
    import creditsim

    assert creditsim.run.__module__ == "creditsim.workflow.run"
    assert creditsim.calibrate.__module__ == "creditsim.workflow.calibrate"
    for name in ("OutputError", "ScenarioError", "WorkflowError"):
        assert issubclass(getattr(creditsim, name), creditsim.CreditsimError)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        creditsim.nope  # noqa: B018


def test_a_run_kept_in_memory_does_without_parquet():
    # Parquet (and the TLS its file systems load) is imported only where a file is written or
    # read: a run in memory starts that much sooner.
    code = (
        "import sys, creditsim\n"
        "creditsim.run('national-2018', population=300, years=0.1, seed=1, catalogue=False)\n"
        "print(sorted(m for m in ('pyarrow.parquet', 'ssl') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
