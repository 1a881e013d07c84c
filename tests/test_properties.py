"""Property-based tests: whatever a user or an attacker hands the loaders, the answer is a
value or a CondganError, never another exception (a traceback in the CLI, a 500 in the server)."""

from __future__ import annotations

import dataclasses
import io
import json
import shutil
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from condgan.config import Config, DataConfig, LossConfig, ModelConfig, TrainConfig, read_yaml
from condgan.data.idx import parse_idx
from condgan.errors import CondganError
from condgan.models.storage import load_generator
from condgan.samples_file import load_samples

SETTINGS = settings(
    max_examples=150, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck)
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)


SECTIONS = {
    name: [f.name for f in dataclasses.fields(cls)]
    for name, cls in (("data", DataConfig), ("model", ModelConfig), ("loss", LossConfig), ("train", TrainConfig))
}
section_values = st.sampled_from(sorted(SECTIONS)).flatmap(
    lambda name: st.tuples(
        st.just(name),
        st.dictionaries(st.sampled_from(SECTIONS[name]) | st.text(max_size=6), json_values, max_size=4) | json_values,
    )
)


def loads_or_refuses(fn, *args) -> None:
    try:
        fn(*args)
    except CondganError as err:
        assert str(err) and "\n" not in str(err).strip(), repr(err)  # one line


@SETTINGS
@given(st.lists(section_values, max_size=4))
def test_any_config_values_are_taken_or_refused_in_one_line(sections):
    loads_or_refuses(Config.from_dict, dict(sections))


@SETTINGS
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_yaml_file_is_read_or_refused(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("yaml") / "c.yaml"
    path.write_bytes(data)
    loads_or_refuses(read_yaml, path)


idx_headers = st.builds(
    lambda kind, dims, tail: bytes([0, 0, kind, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + tail,
    st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x07]),
    st.lists(st.integers(0, 2**32 - 1) | st.integers(0, 30), min_size=0, max_size=6),
    st.binary(max_size=64),
)


@SETTINGS
@given(idx_headers | st.binary(max_size=64))
def test_any_idx_bytes_decode_or_are_refused(data):
    try:
        array = parse_idx(data)
    except CondganError:
        return
    assert array.nbytes <= len(data)  # nothing allocated beyond what the bytes hold


def _array(dtype: str, shape: tuple[int, ...], fill: float) -> np.ndarray:
    with np.errstate(invalid="ignore"):  # NaN cast to an integer type: whatever numpy makes of it
        return np.full(shape, fill).astype(dtype)


arrays = st.builds(
    _array,
    st.sampled_from(["uint8", "int64", "float32", "int8", "bool", "U3"]),
    st.lists(st.integers(0, 5), min_size=0, max_size=5).map(tuple),
    st.integers(-3, 300) | st.just(float("nan")),
)


@SETTINGS
@given(
    st.dictionaries(st.sampled_from(["images", "labels", "other"]), arrays, max_size=3), st.integers(1, 12) | st.none()
)
def test_any_samples_file_loads_or_is_refused(tmp_path_factory, members, num_classes):
    path = tmp_path_factory.mktemp("npz") / "s.npz"
    np.savez(path, **members)
    try:
        images, labels = load_samples(path, num_classes)
    except CondganError:
        return
    assert images.dtype.is_floating_point is False and len(images) == len(labels) > 0


@SETTINGS
@given(st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1), st.sampled_from(["<u1", "<f8", "|V4"]))
def test_a_samples_header_claiming_any_shape_is_refused_before_allocation(tmp_path_factory, n, h, dtype):
    """A hand-written .npy header: numpy would try to allocate what it claims."""
    header = f"{{'descr': '{dtype}', 'fortran_order': False, 'shape': ({n}, {h}, 3), }}".encode()
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    npy = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + b"\0" * 16
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("images.npy", npy)
        archive.writestr("labels.npy", npy)
    path = tmp_path_factory.mktemp("npy") / "s.npz"
    path.write_bytes(buffer.getvalue())
    with pytest.raises(CondganError):
        load_samples(path)


@pytest.fixture(scope="module")
def generator_copy(tiny_run, tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("gen") / "generator"
    shutil.copytree(tiny_run / "generator", folder)
    return folder, json.loads((folder / "config.json").read_text())


keys = st.sampled_from(["format", "family", "class", "kwargs", "class_names", "conditions", "version"])
kwarg_keys = st.sampled_from(["z_dim", "num_classes", "img_channels", "img_size", "width", "cond", "norm", "x"])


@SETTINGS
@given(
    st.dictionaries(keys, json_values, max_size=3),
    st.dictionaries(kwarg_keys, json_values | st.integers(-10, 2**40), max_size=3),
    st.booleans(),
)
def test_any_generator_config_json_loads_or_is_refused(generator_copy, changes, kwarg_changes, whole):
    """Wrong types, nulls, lists for objects, absurd sizes, bad class names or conditions."""
    folder, original = generator_copy
    meta = {**original, **changes}
    if isinstance(meta.get("kwargs"), dict):
        meta["kwargs"] = {**meta["kwargs"], **kwarg_changes}
    (folder / "config.json").write_text(json.dumps(meta if whole else list(meta.values())))
    loads_or_refuses(load_generator, folder)
