"""Outputs: Arrow tables with readable labels, written as Parquet and JSON, atomically.

Every file is written under a temporary name in its final folder and renamed when complete, so a
killed run leaves finished files or nothing, never a truncated one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from creditsim.scenario.schema import AGE_BANDS, INCOME_BANDS, Scenario


def labels(scenario: Scenario) -> dict[str, list[str]]:
    """The names behind the small-integer columns: stored as Parquet dictionaries."""
    names = {
        "region": [r.name for r in scenario.regions],
        "group": [g.name for g in scenario.groups],
        "age_band": list(AGE_BANDS),
        "income_band": list(INCOME_BANDS),
    }
    for policy in scenario.score_policies:
        names[f"grade_{policy.name}"] = [band.grade for band in policy.grades]
    return names


def to_table(columns: dict[str, np.ndarray], scenario: Scenario) -> pa.Table:
    """A table of the columns; none holds a missing value, so every field is required (which
    spares the Parquet writer and readers the definition levels)."""
    names = labels(scenario)
    arrays, fields = [], []
    for key, value in columns.items():
        if key in names:
            codes = arrow_array(value.astype(np.int8))
            array = pa.DictionaryArray.from_arrays(codes, _strings(names[key]))
        else:
            array = arrow_array(value)
        arrays.append(array)
        fields.append(pa.field(key, array.type, nullable=False))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def arrow_array(values: np.ndarray) -> pa.Array:
    """The Arrow array `pa.array(values)` gives, built over the NumPy buffer. `pa.array` asks
    pyarrow's pandas shim whether the values are a pandas categorical, which imports pandas
    (a third of a small run's start-up); numbers, booleans, days and text need no such question."""
    values = np.asarray(values)
    kind = values.dtype.kind if values.ndim == 1 else ""
    if kind in ("O", "U"):
        texts = values.tolist()  # an empty object array is Arrow's null type: left to pa.array
        if (texts or kind == "U") and all(type(t) is str for t in texts):
            return _strings(texts)
    elif kind == "M" and values.dtype == DAYS and not np.isnat(values).any():
        days = values.view(np.int64).astype(np.int32)  # Arrow's date32: days since 1970
        return pa.Array.from_buffers(pa.date32(), days.size, [None, pa.py_buffer(days)])
    elif kind == "b":
        bits = np.packbits(values, bitorder="little")
        return pa.Array.from_buffers(pa.bool_(), values.size, [None, pa.py_buffer(bits)])
    elif kind in ("i", "u", "f") and values.dtype.isnative:
        values = np.ascontiguousarray(values)
        arrow_type = pa.from_numpy_dtype(values.dtype)
        return pa.Array.from_buffers(arrow_type, values.size, [None, pa.py_buffer(values)])
    return pa.array(values)


DAYS = np.dtype("datetime64[D]")


def _strings(names: list[str]) -> pa.Array:
    """A string array of `names`, from its offsets and bytes (as `arrow_array`, without
    pandas)."""
    encoded = [name.encode("utf-8") for name in names]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int32)
    lengths = np.cumsum([len(e) for e in encoded], dtype=np.int64)
    if lengths.size and lengths[-1] > np.iinfo(np.int32).max:  # past 32-bit offsets
        return pa.array(names, type=pa.string())
    offsets[1:] = lengths
    data = pa.py_buffer(b"".join(encoded))
    return pa.Array.from_buffers(pa.string(), len(encoded), [None, pa.py_buffer(offsets), data])


# The citizen and household ids: each citizen file holds a contiguous range of them, so their
# statistics prune, and as near-sequences they take little room stored as deltas.
IDS = ("citizen", "household")


def write_parquet(table: pa.Table, path: Path) -> None:
    """LZ4 (fast to write and read), dictionaries for the labelled columns only. (Parquet is
    imported here: a run kept in memory does without it and its file systems' TLS.)"""
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        labelled = [field.name for field in table.schema if pa.types.is_dictionary(field.type)]
        ids = [name for name in IDS if name in table.column_names]
        pq.write_table(
            table, temporary, compression="lz4", use_dictionary=labelled, write_statistics=ids,
            column_encoding=dict.fromkeys(ids, "DELTA_BINARY_PACKED"),
        )  # fmt: skip
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_json(data: Any, path: Path, indent: int | None = 2) -> None:
    """`indent=None` writes compactly, with the C encoder: for the large audit."""
    text = json.dumps(
        data, indent=indent, sort_keys=True, separators=None if indent else (",", ":")
    )
    write_text(text + "\n", path)


def write_text(text: str, path: Path) -> None:
    """Write under a temporary name, then rename: a reader sees the whole file or none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def shard_file(folder: Path, shard: int) -> Path:
    return folder / f"part-{shard:05d}.parquet"
