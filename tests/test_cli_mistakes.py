"""A user's mistake in an option, or a place that cannot be written: one message, exit status 2,
no traceback, and nothing written."""

from __future__ import annotations

import errno
import math

import pytest
from typer.testing import CliRunner

from creditsim.cli import app
from creditsim.engine import cluster, tasks
from creditsim.engine.cluster import ClusterError, check_address, dask_client, map_unordered


def invoke(*args: str):
    return CliRunner().invoke(app, [*args], env={"COLUMNS": "200", "NO_COLOR": "1"})


def assert_refused(done, *fragments: str) -> str:
    text = done.output
    assert done.exit_code == 2, text
    assert "Traceback" not in text
    assert done.exception is None or isinstance(done.exception, SystemExit)
    for fragment in fragments:
        assert fragment in text, (fragment, text)
    return text


@pytest.mark.parametrize(
    "address", ["not-an-address", "", "http://host:8786", "tcp://host", "tcp://:8786",
                "tcp://host:99999", "tcp://host:8786/path", "x" * 10_000]
)  # fmt: skip
def test_a_bad_scheduler_address_is_refused_before_anything_is_written(tmp_path, address):
    out = tmp_path / "out"
    done = invoke("run", "no-system", "-n", "100", "--scheduler", address, "--out", str(out))
    text = assert_refused(done, "--scheduler", "allowed is SCHEME://HOST:PORT", "tcp, tls")
    assert len(text) < 400  # a long value is cut short, never echoed whole
    assert not out.exists()


def test_good_addresses_pass_the_check():
    for address in ("tcp://127.0.0.1:8786", "tls://scheduler.example:8786", "ws://[::1]:8786"):
        assert check_address(address) == address


def test_an_unreachable_scheduler_fails_soon_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(cluster, "CONNECT_SECONDS", 1)
    out = tmp_path / "out"
    done = invoke(
        "run", "no-system", "-n", "100", "--scheduler", "tcp://127.0.0.1:9", "--out", str(out)
    )
    assert_refused(done, "no Dask scheduler answered within 1 s")
    assert not out.exists()


def test_out_under_a_file_is_refused(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("mine")
    done = invoke("run", "no-system", "-n", "100", "--out", str(blocker / "run"))
    assert_refused(done, "is a file, so no directory can be made in it")
    assert blocker.read_text() == "mine"


def test_a_full_disk_is_one_message_and_the_run_can_be_resumed(tmp_path, monkeypatch):
    out = tmp_path / "run"
    options = ("run", "national-2018", "-n", "3000", "--shard-size", "1000", "--out", str(out))
    written = tasks.write_parquet
    calls = []

    def fill_up(table, path):
        calls.append(path)
        if len(calls) > 4:  # the disk fills during the second shard
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        written(table, path)

    monkeypatch.setattr(tasks, "write_parquet", fill_up)
    assert_refused(invoke(*options), "no space left on the device", "--resume")
    monkeypatch.setattr(tasks, "write_parquet", written)
    assert (out / "shards" / "part-00000.npz").is_file()
    assert not (out / "manifest.json").exists()
    resumed = invoke(*options, "--resume")
    assert resumed.exit_code == 0, resumed.output
    fresh = tmp_path / "fresh"
    assert invoke(*options[:-1], str(fresh)).exit_code == 0
    assert (out / "audit.json").read_bytes() == (fresh / "audit.json").read_bytes()


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("runs", "list", "--limit", str(10**30)), ("--limit", "1 to 1,000,000,000")),
        (("runs", "list", "--limit", "0"), ("--limit",)),
        (("runs", "list", "--kind", "nope"), ("--kind nope", "run, compare, sweep, calibrate")),
        (("run", "no-system", "--years", "nan"), ("--years", "0.01 to 50")),
        (("run", "no-system", "--years", "inf"), ("--years", "0.01 to 50")),
        (("run", "no-system", "--seed", str(2**64)), ("--seed", str(2**63 - 1))),
        (("compare", "no-system", "no-system", "--seed", str(2**64)), ("--seed",)),
    ],
)
def test_option_mistakes(args, fragments):
    assert_refused(invoke(*args), *fragments)


def test_a_failing_task_raises_its_own_error_on_the_caller():
    with dask_client(1, None) as client, pytest.raises(ValueError, match="math domain error"):
        dict(map_unordered(client, math.sqrt, [4.0, -1.0], "test"))


def test_no_client_without_workers_or_scheduler():
    with dask_client(None, None) as client:
        assert client is None
    with pytest.raises(ClusterError), dask_client(None, "nope"):
        pass
