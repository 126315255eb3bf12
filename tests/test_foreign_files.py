"""Files that other tools write: load_checkpoint and inspect_checkpoint against torch's oracle.

The oracle is ``torch.load(path, weights_only=True, map_location="cpu")``. Where it loads a dict,
``load_checkpoint`` returns equal content (dtype, shape, layout, values); where it refuses a
global, ``UnsafeCheckpointError`` names it; anything else is a ``CheckpointError``.
``inspect_checkpoint`` lists every tensor under its own name with torch's dtype name, and its
``weights_only_loadable`` verdict is the oracle's. The corpus is built with torch alone; the
Lightning and transformers files in data/ were written once by data/make_foreign_fixtures.py.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import struct
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from ckpt_helpers import DATA_DIR
from ckpt_kit.errors import CheckpointError, CheckpointFormatError, UnsafeCheckpointError
from ckpt_kit.inspection import inspect_checkpoint
from ckpt_kit.loading import load_checkpoint

SENTINEL_NAME = "payload_ran"
# torch warns on every pickle protocol but 2, and load_checkpoint passes the warning on
pytestmark = pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")


# --- comparing what was loaded ------------------------------------------------------------------


def _same_tensor(a: torch.Tensor, b: torch.Tensor) -> bool:
    if (type(a), a.dtype, a.shape, a.layout, a.is_quantized) != \
            (type(b), b.dtype, b.shape, b.layout, b.is_quantized):
        return False
    if a.layout == torch.sparse_coo:
        return deep_equal(a._indices(), b._indices()) and deep_equal(a._values(), b._values())
    if a.layout in (torch.sparse_csr, torch.sparse_bsr):
        return all(deep_equal(x, y) for x, y in zip(
            (a.crow_indices(), a.col_indices(), a.values()),
            (b.crow_indices(), b.col_indices(), b.values())))
    if a.layout in (torch.sparse_csc, torch.sparse_bsc):
        return all(deep_equal(x, y) for x, y in zip(
            (a.ccol_indices(), a.row_indices(), a.values()),
            (b.ccol_indices(), b.row_indices(), b.values())))
    if a.is_quantized:
        if a.qscheme() != b.qscheme() or not deep_equal(a.int_repr(), b.int_repr()):
            return False
        if a.qscheme() == torch.per_tensor_affine:
            return (a.q_scale(), a.q_zero_point()) == (b.q_scale(), b.q_zero_point())
        return (deep_equal(a.q_per_channel_scales(), b.q_per_channel_scales()) and
                deep_equal(a.q_per_channel_zero_points(), b.q_per_channel_zero_points()) and
                a.q_per_channel_axis() == b.q_per_channel_axis())
    # bytes, not values: NaN patterns of float8 or random bits compare equal to themselves
    return a.stride() == b.stride() and torch.equal(
        a.detach().contiguous().reshape(-1).view(torch.uint8),
        b.detach().contiguous().reshape(-1).view(torch.uint8))


def deep_equal(a: Any, b: Any) -> bool:
    """Equal structure and, for tensors, equal type, dtype, shape, layout and bytes."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and _same_tensor(a, b)
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(deep_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(deep_equal(x, y) for x, y in zip(a, b))
    return bool(a == b)


def oracle(path: Path) -> Any:
    """torch.load with weights_only=True: the object, or the exception it raised."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # protocol 3: "Detected pickle protocol 3"
        try:
            return torch.load(path, weights_only=True, map_location="cpu")
        except Exception as error:
            return error


# --- the corpus ---------------------------------------------------------------------------------


class _Exec:  # a payload: exec would create the sentinel, if anything ever ran it
    def __init__(self, folder: Path) -> None:
        self.code = f"open({str(folder / SENTINEL_NAME)!r}, 'w').close()"

    def __reduce__(self) -> tuple[Any, ...]:
        return (exec, (self.code,))


class _Range:
    def __reduce__(self) -> tuple[Any, ...]:
        return (range, (3,))


class MyTensor(torch.Tensor):
    """A custom tensor subclass: torch pickles its class by import path."""


def _all_dtypes() -> list[torch.dtype]:
    """Every dtype torch 2.13 can save: built from random bytes, viewed as the dtype."""
    names = ["float64", "float32", "float16", "bfloat16", "float8_e4m3fn", "float8_e4m3fnuz",
             "float8_e5m2", "float8_e5m2fnuz", "float8_e8m0fnu", "float4_e2m1fn_x2",
             "complex32", "complex64", "complex128", "int8", "int16", "int32", "int64", "uint8",
             "uint16", "uint32", "uint64", "bool", "bits8", "bits16", "bits1x8", "bits2x4",
             "bits4x2"]
    return [getattr(torch, n) for n in names if hasattr(torch, n)]


def _of_dtype(dtype: torch.dtype) -> torch.Tensor:
    if dtype == torch.bool:
        return torch.tensor([[True, False], [False, True]])
    seeded = torch.Generator().manual_seed(0)
    raw = torch.randint(0, 256, (2, 16), dtype=torch.uint8, generator=seeded)
    return raw.view(dtype)


def _sparse() -> dict[str, torch.Tensor]:
    dense = torch.tensor([[1.0, 0, 0, 2], [0, 0, 3, 0], [0, 4, 0, 0], [5, 0, 0, 6]])
    return {"coo": dense.to_sparse(), "csr": dense.to_sparse_csr(),
            "csc": dense.to_sparse_csc(), "bsr": dense.to_sparse_bsr((2, 2)),
            "bsc": dense.to_sparse_bsc((2, 2))}


QUANTIZED = ["per_tensor", "per_tensor_qint32", "per_channel", "per_channel_float_qparams"]


def _quantized() -> dict[str, torch.Tensor]:
    x = torch.linspace(-1, 1, 12).reshape(3, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch 2.13 deprecates quantized tensors (a UserWarning)
        return {"per_tensor": torch.quantize_per_tensor(x, 0.1, 3, torch.quint8),
                "per_tensor_qint32": torch.quantize_per_tensor(x, 0.01, 0, torch.qint32),
                "per_channel": torch.quantize_per_channel(x, torch.tensor([0.1, 0.2, 0.3]),
                                                          torch.tensor([0, 1, 2]), 0, torch.qint8),
                "per_channel_float_qparams": torch.quantize_per_channel(
                    x, torch.tensor([0.1, 0.2, 0.3, 0.4]), torch.tensor([0.0, 1.0, 2.0, 3.0]), 1,
                    torch.quint8)}


def _views_and_shared() -> dict[str, Any]:
    base = torch.arange(12.0).reshape(3, 4)
    lin = nn.Linear(2, 2)
    return {"base": base, "row": base[1], "transposed": base.t(), "strided": base[:, ::2],
            "tied_a": lin.weight, "tied_b": lin.weight, "state": lin.state_dict()}


def _through_file_object(path: Path, obj: Any) -> None:
    with open(path, "wb") as file:
        torch.save(obj, file)


def _through_bytesio(path: Path, obj: Any, **kwargs: Any) -> None:
    buffer = io.BytesIO()
    torch.save(obj, buffer, **kwargs)
    path.write_bytes(buffer.getvalue())


def _save(**kwargs: Any) -> Callable[[Path, Any], None]:
    return lambda path, obj: torch.save(obj, path, **kwargs)


LEGACY = {"_use_new_zipfile_serialization": False}
_TYPED = [torch.float64, torch.float32, torch.float16, torch.bfloat16, torch.complex64,
          torch.complex128, torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8,
          torch.bool]
WEIGHTS = {"w": torch.arange(6.0).reshape(2, 3), "step": 7, "name": "net", "b": torch.ones(2)}

# name: (object maker taking the tmp folder, writer, expected tensor names in inspect)
CASES: dict[str, tuple[Callable[[Path], Any], Callable[[Path, Any], None], list[str]]] = {
    **{f"protocol{p}": (lambda _: WEIGHTS, _save(pickle_protocol=p), ["w", "b"])
       for p in (2, 3, 4, 5)},
    **{f"legacy_protocol{p}": (lambda _: WEIGHTS, _save(pickle_protocol=p, **LEGACY), ["w", "b"])
       for p in (2, 3, 4, 5)},
    "sparse": (lambda _: _sparse(), _save(), ["coo", "csr", "csc", "bsr", "bsc"]),
    "sparse_legacy": (lambda _: _sparse(), _save(**LEGACY), ["coo", "csr", "csc", "bsr", "bsc"]),
    "quantized": (lambda _: _quantized(), _save(), QUANTIZED),
    "quantized_legacy": (lambda _: _quantized(), _save(**LEGACY), QUANTIZED),
    "every_dtype": (lambda _: {str(d).removeprefix("torch."): _of_dtype(d) for d in _all_dtypes()},
                    _save(), [str(d).removeprefix("torch.") for d in _all_dtypes()]),
    "every_dtype_legacy": (lambda _: {str(d).removeprefix("torch."): _of_dtype(d)
                                      for d in _all_dtypes()},
                           _save(**LEGACY), [str(d).removeprefix("torch.") for d in _all_dtypes()]),
    "parameter": (lambda _: {"p": nn.Parameter(torch.ones(3))}, _save(), ["p"]),
    "tensor_subclass": (lambda _: {"t": torch.ones(3).as_subclass(MyTensor)}, _save(), ["t"]),
    "views_and_shared": (lambda _: _views_and_shared(), _save(),
                         ["base", "row", "transposed", "strided", "tied_a", "tied_b",
                          "state.weight", "state.bias"]),
    "file_object": (lambda _: WEIGHTS, _through_file_object, ["w", "b"]),
    "bytesio": (lambda _: WEIGHTS, _through_bytesio, ["w", "b"]),
    "bytesio_legacy": (lambda _: WEIGHTS, lambda p, o: _through_bytesio(p, o, **LEGACY),
                       ["w", "b"]),
    # the legacy format writes dtypes without a typed storage, but torch cannot read them back
    "typed_dtypes_legacy": (lambda _: {str(d).removeprefix("torch."): _of_dtype(d)
                                       for d in _TYPED}, _save(**LEGACY),
                            [str(d).removeprefix("torch.") for d in _TYPED]),
    "range": (lambda _: {"r": _Range(), "w": torch.zeros(1)}, _save(), ["w"]),
    "range_legacy": (lambda _: {"r": _Range(), "w": torch.zeros(1)}, _save(**LEGACY), ["w"]),
    "frozenset": (lambda _: {"f": frozenset({1, 2})}, _save(), []),
    "frozenset_legacy": (lambda _: {"f": frozenset({1, 2})}, _save(**LEGACY), []),
    "exec": (lambda d: {"x": _Exec(d)}, _save(), []),
    "exec_legacy": (lambda d: {"x": _Exec(d)}, _save(**LEGACY), []),
    "exec_protocol4": (lambda d: {"x": _Exec(d)}, _save(pickle_protocol=4), []),
    "exec_legacy_protocol5": (lambda d: {"x": _Exec(d)}, _save(pickle_protocol=5, **LEGACY), []),
    "not_a_dict": (lambda _: [torch.ones(2)], _save(), ["0"]),
    "not_a_dict_legacy": (lambda _: torch.ones(2), _save(**LEGACY), ["(top)"]),
}


def _flatten(obj: Any, name: str) -> list[tuple[str, torch.Tensor]]:
    """(dotted name, tensor) for every tensor in ``obj``, named as inspect_checkpoint names."""
    if isinstance(obj, torch.Tensor):
        return [(name or "(top)", obj)]
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(
        obj, (list, tuple)) else ()
    return [pair for key, value in items
            for pair in _flatten(value, f"{name}.{key}" if name else str(key))]


def _unsafe_names(error: Exception) -> set[str]:
    """The globals torch's refusal names, as module.name (torch drops "builtins.")."""
    import re

    names = re.findall(r"GLOBAL ([\w.]+) was not an allowed global", str(error))
    return {n if "." in n else f"builtins.{n}" for n in names}


def _check_load(path: Path, expected: Any) -> None:
    """load_checkpoint against the oracle's result ``expected``."""
    if isinstance(expected, dict):
        assert deep_equal(load_checkpoint(path), expected)
        return
    with pytest.raises(CheckpointError) as raised:
        load_checkpoint(path)
    error = raised.value
    if not isinstance(expected, Exception):  # the oracle loads a non-dict
        assert isinstance(error, CheckpointFormatError), error
    elif _unsafe_names(expected):
        assert isinstance(error, UnsafeCheckpointError), error
        assert _unsafe_names(expected) <= set(error.globals), (error.globals, expected)
        assert "builtins.exec" not in error.globals or "would run code" in str(error)
    elif "UntypedStorage" in str(expected):  # a legacy file with uint16, float8...
        assert isinstance(error, CheckpointFormatError) and "legacy format" in str(error), error
    elif "Unsupported operand 149" in str(expected):  # protocol 4 or 5
        assert "protocol" in str(error), error
        if isinstance(error, UnsafeCheckpointError):  # and a payload: no "load it" advice
            assert error.globals == ["builtins.exec"] and "would run code" in str(error), error
        else:
            assert "torch.save(obj, path)" in str(error), error
            assert "state_dict instead" not in str(error)


@pytest.mark.parametrize("name", sorted(CASES))
def test_foreign_file_against_the_oracle(tmp_path: Path, name: str) -> None:
    make, write, tensor_names = CASES[name]
    path = tmp_path / f"{name}.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ComplexHalf is experimental, TypedStorage deprecated
        write(path, make(tmp_path))
    expected = oracle(path)
    _check_load(path, expected)
    info = inspect_checkpoint(path)
    assert info.weights_only_loadable == (not isinstance(expected, Exception)), (info, expected)
    assert ("weights_only=True can load it" in str(info)) == info.weights_only_loadable
    assert [t.name for t in info.tensors] == tensor_names
    if not isinstance(expected, Exception):  # dtype, shape and layout as torch loads them
        loaded = dict(_flatten(expected, ""))
        for t in info.tensors:
            tensor = loaded[t.name]
            assert t.dtype == str(tensor.dtype).removeprefix("torch."), t
            assert t.shape == tuple(tensor.shape), t
            layout = (str(tensor.qscheme()) if tensor.is_quantized else str(tensor.layout))
            assert t.layout == layout.removeprefix("torch."), t
    elif _unsafe_names(expected):
        assert _unsafe_names(expected) <= set(info.unsafe_globals)
    assert not (tmp_path / SENTINEL_NAME).exists(), "a payload ran"


def test_protocol_advice_fits_a_plain_state_dict(tmp_path: Path) -> None:
    torch.save(nn.Linear(2, 2).state_dict(), tmp_path / "sd.pt", pickle_protocol=4)
    with pytest.raises(CheckpointFormatError, match="protocol 4") as raised:
        load_checkpoint(tmp_path / "sd.pt")
    assert "torch.save writes protocol 2 by default" in str(raised.value)
    report = str(inspect_checkpoint(tmp_path / "sd.pt"))
    assert "unsafe:    none, but weights_only=True cannot load it: pickle protocol 4" in report


def test_payload_builtins_are_code_and_range_is_not(tmp_path: Path) -> None:
    torch.save({"x": _Exec(tmp_path)}, tmp_path / "exec.pt", _use_new_zipfile_serialization=False)
    torch.save({"r": _Range()}, tmp_path / "range.pt", _use_new_zipfile_serialization=False)
    with pytest.raises(UnsafeCheckpointError, match="It would run code") as raised:
        load_checkpoint(tmp_path / "exec.pt")
    assert raised.value.globals == ["builtins.exec"]
    with pytest.raises(UnsafeCheckpointError, match=r"trusted=\[range\]") as raised:
        load_checkpoint(tmp_path / "range.pt")
    assert raised.value.globals == ["builtins.range"]
    assert not (tmp_path / SENTINEL_NAME).exists()


def _safetensors_file(path: Path, entries: dict[str, tuple[str, list[int], int]]) -> None:
    """A safetensors file written by hand: name -> (dtype code, shape, nbytes)."""
    header, offset = {}, 0
    for name, (code, shape, nbytes) in entries.items():
        header[name] = {"dtype": code, "shape": shape, "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + bytes(offset))


def test_inspect_names_safetensors_dtypes_as_torch_does(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    tensors = {str(d).removeprefix("torch."): _of_dtype(d) for d in _all_dtypes()
               if d not in (torch.complex32, torch.complex128) and "bits" not in str(d)}
    save_file(tensors, tmp_path / "all.safetensors")
    info = {t.name: t.dtype for t in inspect_checkpoint(tmp_path / "all.safetensors").tensors}
    assert info == {name: name for name in tensors}
    _safetensors_file(tmp_path / "odd.safetensors", {"c": ("C128", [2], 32)})
    assert inspect_checkpoint(tmp_path / "odd.safetensors").tensors[0].dtype == "complex128"


# --- files written by other tools (data/make_foreign_fixtures.py) --------------------------------


@pytest.mark.parametrize("name", ["lightning_tiny.ckpt", "transformers_tiny_pytorch_model.bin"])
def test_tool_written_file_against_the_oracle(name: str) -> None:
    path = DATA_DIR / name
    expected = oracle(path)
    _check_load(path, expected)
    info = inspect_checkpoint(path)
    assert info.weights_only_loadable == (not isinstance(expected, Exception))
    if isinstance(expected, dict):
        state = expected.get("state_dict", expected)
        assert {t.name.removeprefix("state_dict.") for t in info.tensors} >= set(state)


def test_lightning_checkpoint_holds_what_lightning_writes() -> None:
    ckpt = load_checkpoint(DATA_DIR / "lightning_tiny.ckpt")
    assert {"state_dict", "optimizer_states", "hyper_parameters", "epoch", "global_step"} <= set(
        ckpt)
    assert ckpt["hyper_parameters"] == {"hidden": 4, "lr": 0.1}
    assert ckpt["state_dict"]["layer.weight"].shape == (2, 4)


def test_transformers_files_agree() -> None:
    from safetensors.torch import load_file

    bin_sd = load_checkpoint(DATA_DIR / "transformers_tiny_pytorch_model.bin")
    safe_sd = load_file(DATA_DIR / "transformers_tiny_model.safetensors")
    assert set(bin_sd) == set(safe_sd) and all(torch.equal(bin_sd[k], safe_sd[k]) for k in bin_sd)
    info = inspect_checkpoint(DATA_DIR / "transformers_tiny_model.safetensors")
    assert sorted(t.name for t in info.tensors) == sorted(bin_sd)
    # torch.load hands .safetensors paths to safetensors; load_checkpoint names the right loader
    with pytest.raises(CheckpointFormatError, match="safetensors.torch.load_file"):
        load_checkpoint(DATA_DIR / "transformers_tiny_model.safetensors")


def test_no_foreign_file_escapes_the_family(tmp_path: Path) -> None:
    # a pickle that names a builtin with no module, a protocol-4 plain pickle, a legacy head
    # with nothing after it: inspect reports, load raises within the family
    legacy_head = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=4)
    files = {"head_only.pt": legacy_head, "head_and_junk.pt": legacy_head + b"\x80\x04junk",
             "plain4.pkl": pickle.dumps({"w": [1, 2]}, protocol=4)}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        inspect_checkpoint(tmp_path / name)
        with pytest.raises(CheckpointError):
            load_checkpoint(tmp_path / name)
    assert set(os.listdir(tmp_path)) == set(files)  # nothing ran, nothing was written
