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
import pyarrow.parquet as pq

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
            dictionary = pa.array(names[key], type=pa.string())
            array = pa.DictionaryArray.from_arrays(pa.array(value.astype(np.int8)), dictionary)
        else:
            array = pa.array(value)
        arrays.append(array)
        fields.append(pa.field(key, array.type, nullable=False))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


# The citizen and household ids: each citizen file holds a contiguous range of them, so their
# statistics prune, and as near-sequences they take little room stored as deltas.
IDS = ("citizen", "household")


def write_parquet(table: pa.Table, path: Path) -> None:
    """LZ4 (fast to write and read), dictionaries for the labelled columns only."""
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
