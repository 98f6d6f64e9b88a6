"""--overwrite and --resume touch only what creditsim wrote: a user's files are never removed."""

from __future__ import annotations

import json

import pytest

import creditsim
from creditsim.engine.rundir import planned_files
from creditsim.errors import OutputError

SMALL = {"population": 3000, "shard_size": 1000, "seed": 5}
USER_FILES = ("secret.csv", "citizens/mine.txt", "shards/notes.md", "blacklist/keep.parquet",
              "timeseries/.draft.tmp-1", ".hidden.tmp-7", "runs/mine/plan.txt")  # fmt: skip


def _plant(out, names=USER_FILES):
    for name in names:
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"the user's own {name}\n")


def _assert_planted(out, names=USER_FILES):
    for name in names:
        assert (out / name).read_text() == f"the user's own {name}\n", name


def _tree(out):
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())


def test_overwrite_removes_only_the_previous_runs_files(tmp_path):
    out = tmp_path / "run"
    creditsim.run("national-2018", out=out, catalogue=False, **SMALL)
    assert (out / "citizens" / "part-00002.parquet").is_file()
    _plant(out)
    creditsim.run("national-2018", out=out, overwrite=True, catalogue=False, population=900, seed=5)
    _assert_planted(out)
    # The earlier run's three shards are gone, the new run's one is there.
    run_files = [name for name in _tree(out) if name in planned_files(3)]
    assert "citizens/part-00001.parquet" not in run_files
    assert "citizens/part-00000.parquet" in run_files
    assert json.loads((out / "plan.json").read_text())["shard_sizes"] == [900]


def test_overwrite_refuses_files_in_the_way_and_removes_nothing(tmp_path):
    out = tmp_path / "mine"
    names = ("citizens/part-00000.parquet", "audit.json", "notes.txt")
    _plant(out, names)
    before = _tree(out)
    with pytest.raises(OutputError, match=r"audit\.json, citizens/part-00000\.parquet would be"):
        creditsim.run("no-system", out=out, overwrite=True, catalogue=False, population=500)
    assert _tree(out) == before
    _assert_planted(out, names)


def test_a_file_where_a_folder_goes_is_in_the_way(tmp_path):
    out = tmp_path / "mine"
    _plant(out, ("citizens",))
    with pytest.raises(OutputError, match="citizens would be replaced"):
        creditsim.run("no-system", out=out, overwrite=True, catalogue=False, population=500)
    _assert_planted(out, ("citizens",))


def test_a_run_beside_a_users_files_writes_and_keeps_them(tmp_path):
    out = tmp_path / "shared"
    _plant(out)
    creditsim.run("no-system", out=out, overwrite=True, catalogue=False, population=500)
    _assert_planted(out)
    assert (out / "audit.json").is_file()


def test_resume_removes_only_its_own_partial_writes(tmp_path):
    out = tmp_path / "run"
    creditsim.run("no-system", out=out, catalogue=False, population=500, seed=2)
    (out / "shards" / "part-00000.npz").unlink()
    own_partial = out / "citizens" / ".part-00000.parquet.tmp-123"
    own_partial.write_bytes(b"half")
    _plant(out, ("timeseries/.draft.tmp-1", ".hidden.tmp-7", "citizens/.mine.tmp-9"))
    creditsim.run("no-system", out=out, resume=True, catalogue=False, population=500, seed=2)
    assert not own_partial.exists()
    _assert_planted(out, ("timeseries/.draft.tmp-1", ".hidden.tmp-7", "citizens/.mine.tmp-9"))


def test_compare_overwrite_keeps_a_users_files_under_runs(tmp_path):
    out = tmp_path / "cmp"
    options = {"population": 600, "seeds": 2, "out": out, "catalogue": False}
    creditsim.compare("national-2018", "no-system", **options)
    assert (out / "runs" / "a-seed-1").is_dir()
    _plant(out)
    creditsim.compare("national-2018", "no-system", **(options | {"seeds": 1}), overwrite=True)
    _assert_planted(out)
    assert not (out / "runs" / "a-seed-1").exists()  # the earlier compare's second seed
    assert (out / "compare.json").is_file() and (out / "runs" / "a-seed-0" / "audit.json").is_file()


def test_compare_refuses_a_folder_where_its_file_goes(tmp_path):
    out = tmp_path / "cmp"
    (out / "compare.json").mkdir(parents=True)
    (out / "compare.json" / "keep.txt").write_text("mine")
    with pytest.raises(OutputError, match="compare.json would be replaced"):
        creditsim.compare(
            "national-2018", "no-system", population=600, seeds=1, out=out, overwrite=True,
            catalogue=False,
        )  # fmt: skip
    assert (out / "compare.json" / "keep.txt").read_text() == "mine"
