"""Arrow arrays built over NumPy buffers (outputs.arrow_array) are the arrays pa.array gives,
and writing a table imports no pandas (pa.array would: a third of a small run's start-up)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pyarrow as pa
import pytest

from creditsim.outputs import arrow_array

RNG = np.random.default_rng(5)
CASES = {
    "int8": np.arange(-3, 9, dtype=np.int8),
    "uint32": np.arange(7, dtype=np.uint32) * 1_000_003,
    "int64 strided": np.arange(30, dtype=np.int64)[::4],
    "float64 with nan": np.array([np.nan, 1.5, -0.0, np.inf]),
    "float32": RNG.random(11).astype(np.float32),
    "bool": RNG.random(21) < 0.5,
    "bool empty": np.zeros(0, dtype=bool),
    "int64 empty": np.zeros(0, dtype=np.int64),
    "days": np.array(["2018-01-01", "1969-12-31", "2030-02-28"], dtype="datetime64[D]"),
    "days with NaT": np.array(["2018-01-01", "NaT"], dtype="datetime64[D]"),
    "text objects": np.array(["AAA", "", "中文", "grade D (national)"], dtype=object),
    "text unicode": np.array(["x", "yé"]),
    "objects empty": np.zeros(0, dtype=object),
}


def _logical(array: pa.Array) -> tuple:
    """Type, nulls and values, with NaN compared as a value (pa.Array.equals says NaN != NaN)."""
    flat = [("nan" if isinstance(v, float) and np.isnan(v) else v) for v in array.to_pylist()]
    return array.type, array.null_count, flat


@pytest.mark.parametrize("name", list(CASES))
def test_arrow_array_is_what_pa_array_gives(name):
    values = CASES[name]
    got, want = arrow_array(values), pa.array(values)
    got.validate(full=True)
    assert _logical(got) == _logical(want)


def test_a_bool_array_keeps_its_bits_past_a_byte():
    values = np.array([True] * 9 + [False] * 3 + [True])
    assert arrow_array(values).to_pylist() == values.tolist()


def test_writing_a_table_imports_no_pandas(tmp_path):
    code = (
        "import sys, numpy as np\n"
        "from creditsim.outputs import arrow_array, write_parquet\n"
        "import pyarrow as pa\n"
        "columns = {'a': np.arange(5), 'b': np.ones(5, bool), 'c': np.array(list('abcde'), object),"
        " 'd': np.arange(5).astype('datetime64[D]')}\n"
        "arrays = [arrow_array(v) for v in columns.values()]\n"
        "table = pa.Table.from_arrays(arrays, names=list(columns))\n"
        f"write_parquet(table, __import__('pathlib').Path({str(tmp_path / 't.parquet')!r}))\n"
        "print('pandas' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
