"""Arrow columns as numpy without loading pandas: Arrow's own `to_numpy` loads it (a third of a
second), so plain number columns are read straight from their buffers."""

from __future__ import annotations

from typing import Any

import numpy as np

NUMPY_TYPES = {
    **{name: name for name in ("int8", "int16", "int32", "int64")},
    **{name: name for name in ("uint8", "uint16", "uint32", "uint64")},
    "double": "float64",
    "float": "float32",
}


def to_numpy(column: Any) -> np.ndarray:
    """An Arrow column as numpy, straight from its buffer where it is a plain number column
    (Arrow's own to_numpy loads pandas, a third of a second); names as an object array."""
    array = column.combine_chunks() if hasattr(column, "combine_chunks") else column
    if hasattr(array.type, "value_type"):  # dictionary-encoded names (no compute module)
        names = np.asarray(array.dictionary.to_pylist() + [None], dtype=object)
        index = to_numpy(array.indices)
        if array.null_count:
            index = np.where(np.asarray(array.is_valid().to_pylist()), index, -1)
        return names[index]
    dtype = NUMPY_TYPES.get(str(array.type))
    if dtype is None or array.null_count:
        return np.asarray(array.to_pylist())  # dates, nulls: rare and small
    data = np.frombuffer(array.buffers()[1], dtype=dtype)
    return data[array.offset : array.offset + len(array)]


__all__ = ["NUMPY_TYPES", "to_numpy"]
