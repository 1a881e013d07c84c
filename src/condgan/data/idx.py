"""Reader for the IDX format of the MNIST family (optionally gzipped), with full validation."""

from __future__ import annotations

import gzip
import hashlib
import math
import zlib
from pathlib import Path

import numpy as np

from condgan.errors import CondganError

# Third magic byte -> element type (big-endian on disk).
_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_bytes(path: Path, gz: bool | None = None) -> bytes:
    """The file's content, decompressed when it is gzipped (by default: when it ends in .gz)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise CondganError(f"dataset file not found: {path}") from None
    if not (gz if gz is not None else path.suffix == ".gz"):
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as err:
        raise CondganError(f"{path} is corrupt or truncated (gzip: {err})") from None


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decode IDX bytes: 2 zero bytes, a type byte, a rank byte, big-endian int32 sizes, data."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise CondganError(f"{name} is not an IDX file (bad magic number)")
    dtype = _DTYPES.get(data[2])
    if dtype is None:
        raise CondganError(f"{name} has an unknown IDX element type 0x{data[2]:02x}")
    ndim = data[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(data) < header:
        raise CondganError(f"{name} has a truncated or invalid IDX header")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    if 0 in shape:
        raise CondganError(f"{name} holds no data (shape {shape})")
    expected = header + math.prod(shape) * dtype.itemsize  # exact: numpy's int64 product can wrap
    if len(data) != expected:
        problem = "truncated" if len(data) < expected else "longer than its header says"
        raise CondganError(f"{name} is {problem}: {len(data)} bytes for shape {shape}, expected {expected}")
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))  # a writable, native-order copy


def read_idx(path: Path | str, md5: str | None = None) -> np.ndarray:
    """Read an IDX file; `md5` (of the decompressed content) is checked when given."""
    path = Path(path)
    data = read_bytes(path)
    if md5 is not None:
        actual = hashlib.md5(data).hexdigest()
        if actual != md5:
            raise CondganError(f"{path} failed its checksum: expected md5 {md5}, got {actual} (corrupt file?)")
    return parse_idx(data, name=str(path))
