"""``inspect_checkpoint``: what a file holds, read without running anything in it.

The pickle inside is read by a recording unpickler: every class or function it names becomes a
placeholder that remembers its name and arguments, and tensors become records of their storage.
Nothing named in the file is imported or called.
"""

from __future__ import annotations

import _compat_pickle
import contextlib
import io
import json
import math
import os
import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import torch

from ckpt_kit.errors import CheckpointCorruptError
from ckpt_kit.formats import (EMPTY, EXPORT_PT2, OTHER_ZIP, PICKLE, SAFETENSORS, TORCH_LEGACY,
                              TORCH_ZIP, TORCHSCRIPT, FileHead, bytes_after_archive,
                              open_checkpoint_file, verify_zip)


@dataclass
class TensorInfo:
    """One tensor of a checkpoint, as stored: no bytes of it are read."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    device: str
    nbytes: int


@dataclass
class CheckpointInfo:
    """What ``inspect_checkpoint`` found in a file."""

    path: str
    format: str
    integrity: str = "none"
    tensors: list[TensorInfo] = field(default_factory=list)
    globals: list[str] = field(default_factory=list)
    unsafe_globals: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stored_bytes: int = 0  # bytes of tensor data in the file: tied tensors and views count once
    pickle_read: bool = False  # False: the globals lists are incomplete (damaged or foreign)

    def __str__(self) -> str:
        lines = [f"file:      {Path(self.path).name}", f"format:    {self.format}",
                 f"integrity: {self.integrity}"]
        if self.tensors:
            lines.append(f"tensors:   {len(self.tensors)}, {self.stored_bytes:,} bytes stored")
            for t in self.tensors:
                shape = "x".join(map(str, t.shape)) or "scalar"
                lines.append(f"  {t.name:<32} {shape:<12} {t.dtype:<9} {t.device:<7} "
                             f"{t.nbytes:>12,} B")
        if self.format in (TORCH_ZIP, TORCH_LEGACY, PICKLE, TORCHSCRIPT, EXPORT_PT2):
            lines.append("globals:   " + (", ".join(self.globals) or "none"))
            safe = ("none (weights_only=True can load it)" if self.pickle_read else
                    "unknown: the pickle could not be read to the end")
            lines.append("unsafe:    " + (", ".join(self.unsafe_globals) or safe))
        lines += [f"note:      {note}" for note in self.notes]
        return "\n".join(lines)


_STORAGE_DTYPES = {"Float": "float32", "Double": "float64", "Half": "float16",
                   "BFloat16": "bfloat16", "Long": "int64", "Int": "int32", "Short": "int16",
                   "Char": "int8", "Byte": "uint8", "Bool": "bool", "ComplexFloat": "complex64",
                   "ComplexDouble": "complex128", "Untyped": "uint8"}
_SAFETENSORS_DTYPES = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16",
                       "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8",
                       "U8": "uint8", "BOOL": "bool"}


def _itemsize(dtype: str) -> int:
    value = getattr(torch, dtype, None)
    return value.itemsize if isinstance(value, torch.dtype) else 1


class _Placeholder:
    """Stands in for any class or function a pickle names: records, never runs."""

    qualname = "?"
    args: tuple[Any, ...]
    state: Any
    items: dict[Any, Any]

    def __new__(cls, *args: Any, **kwargs: Any) -> _Placeholder:
        self = object.__new__(cls)
        self.args, self.state, self.items = args, None, {}
        return self

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __setitem__(self, key: Any, value: Any) -> None:
        self.items[key] = value

    def append(self, value: Any) -> None:
        self.items[len(self.items)] = value

    def extend(self, values: Any) -> None:
        for value in values:
            self.append(value)


@dataclass
class _StorageRecord:
    dtype: str
    key: str
    device: str
    nbytes: int


@dataclass
class _TensorRecord:
    storage: _StorageRecord
    shape: tuple[int, ...]
    dtype: str


def _record_tensor(storage: Any, offset: Any = 0, shape: Any = (), *rest: Any) -> Any:
    """Stands in for torch._utils._rebuild_tensor_v2/v3: a record instead of a tensor."""
    if not isinstance(storage, _StorageRecord):
        return _Placeholder(storage, offset, shape, *rest)
    dtype = next((arg.qualname.rsplit(".", 1)[1] for arg in rest[3:4]  # _rebuild_tensor_v3
                  if isinstance(getattr(arg, "qualname", None), str)), storage.dtype)
    shape = tuple(int(n) for n in shape) if isinstance(shape, (tuple, list)) else ()
    return _TensorRecord(storage, shape, dtype)


class _DictWithAttributes(dict):
    """A dict that takes attributes, as the OrderedDict of a state_dict has ``_metadata``."""


class _RecordingUnpickler(pickle.Unpickler):
    """Unpickles into placeholders: tensors become _TensorRecords, every other global a
    _Placeholder subclass named after it. Nothing named in the file is imported or called."""

    _REBUILDERS = {"torch._utils._rebuild_tensor_v2": _record_tensor,
                   "torch._utils._rebuild_tensor_v3": _record_tensor,
                   "torch._utils._rebuild_parameter": lambda data, *rest: data,
                   "torch._utils._rebuild_parameter_with_state": lambda data, *rest: data,
                   "collections.OrderedDict": _DictWithAttributes}

    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file)
        self.globals: list[str] = []
        self.storages: dict[str, _StorageRecord] = {}

    def find_class(self, module: str, name: str) -> Any:
        # protocol 2 names Python 2 modules (__builtin__.set): map them as pickle itself does
        module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        full = f"{module}.{name}"
        if full not in self.globals:
            self.globals.append(full)
        if full in self._REBUILDERS:
            return self._REBUILDERS[full]
        return type(name.replace(".", "_") or "_", (_Placeholder,), {"qualname": full})

    def persistent_load(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            return _Placeholder(pid)
        kind = getattr(pid[1], "qualname", "")
        dtype = _STORAGE_DTYPES.get(kind.rsplit(".", 1)[-1].replace("Storage", ""), "uint8")
        key = str(pid[2])  # one record per stored blob, however many tensors view it
        if key not in self.storages:
            numel = pid[4] if isinstance(pid[4], int) else 0
            self.storages[key] = _StorageRecord(dtype, key, str(pid[3]), numel * _itemsize(dtype))
        return self.storages[key]


def _collect_tensors(obj: Any, name: str, found: list[tuple[str, _TensorRecord]],
                     seen: set[int]) -> None:
    """Every tensor record reachable from ``obj``, with its dotted name (``fc1.weight``)."""
    if isinstance(obj, _TensorRecord):  # a tied tensor is one object under two names: list both
        found.append((name, obj))
        return
    if id(obj) in seen or len(found) > 100_000:
        return
    seen.add(id(obj))
    if isinstance(obj, _Placeholder):  # a module's tensors sit in its state, under _parameters
        obj = {"": obj.state, **obj.items, **({"args": obj.args} if obj.args else {})}
    items = (obj.items() if isinstance(obj, dict) else
             enumerate(obj) if isinstance(obj, (list, tuple, set)) else ())
    for key, value in items:
        inner = key in ("", "_modules", "_parameters", "_buffers")
        _collect_tensors(value, name if inner else f"{name}.{key}" if name else str(key), found,
                         seen)


def _weights_only_allowed() -> set[str]:
    """The globals torch.load(weights_only=True) accepts now, as "module.name" strings."""
    import torch._weights_only_unpickler as weights_only  # torch's own allow-list

    return {*weights_only._get_allowed_globals(), *weights_only._get_user_allowed_globals()}


def _describe_pickle(data: bytes, info: CheckpointInfo) -> None:
    """Fill ``info`` from the pickle ``data`` without running it."""
    unpickler = _RecordingUnpickler(io.BytesIO(data))
    try:
        obj = unpickler.load()
        info.pickle_read = True
    except Exception as error:
        obj = None
        info.notes.append(f"the pickle could not be read to the end ({type(error).__name__})")
    found: list[tuple[str, _TensorRecord]] = []
    _collect_tensors(obj, "", found, set())
    sharing: dict[str, list[str]] = {}
    for name, record in found:
        nbytes = math.prod(record.shape) * _itemsize(record.dtype)
        info.tensors.append(TensorInfo(name or "(top)", record.shape, record.dtype,
                                       record.storage.device, nbytes))
        sharing.setdefault(record.storage.key, []).append(name or "(top)")
    info.stored_bytes = sum(s.nbytes for s in unpickler.storages.values())
    for names in sharing.values():
        if len(names) > 1:
            info.notes.append(f"{', '.join(names)} share one storage (tied or views)")
    allowed = _weights_only_allowed()
    info.globals = unpickler.globals
    info.unsafe_globals = [g for g in unpickler.globals if g not in allowed]
    if obj is not None and not isinstance(obj, dict):
        kind = obj.qualname if isinstance(obj, _Placeholder) else type(obj).__name__
        info.notes.append(f"the top-level object is a {kind}, not a dict")


def _describe_nested_pickles(archive: zipfile.ZipFile, info: CheckpointInfo) -> None:
    """The globals named by the torch.save archives inside a .pt2 (its sample inputs...)."""
    for name in archive.namelist():
        data = archive.read(name) if name.endswith(".pt") else b""
        if not data.startswith(b"PK"):
            continue
        with zipfile.ZipFile(io.BytesIO(data)) as inner:
            pickles = [n for n in inner.namelist() if n.endswith("/data.pkl")]
            unpickler = _RecordingUnpickler(io.BytesIO(inner.read(pickles[0]) if pickles else b""))
            with contextlib.suppress(Exception):
                unpickler.load()
        info.globals += [g for g in unpickler.globals if g not in info.globals]
    allowed = _weights_only_allowed()
    info.unsafe_globals = [g for g in info.globals if g not in allowed]
    info.pickle_read = True


def _inspect_zip(file: BinaryIO, head: FileHead, info: CheckpointInfo) -> None:
    try:
        info.integrity = str(verify_zip(file, head, torch_save=head.format == TORCH_ZIP))
    except CheckpointCorruptError as error:
        info.integrity = f"FAILED: {error.reason}"
        extra = bytes_after_archive(file, head.size)
        if extra:
            info.notes.append(f"{extra:,} bytes follow the end of the zip archive")
    try:
        with zipfile.ZipFile(file) as archive:
            names = archive.namelist()
            pickles = [n for n in names if n.endswith("/data.pkl")]
            if info.format == TORCHSCRIPT:
                code = [n for n in names if "/code/" in n and n.endswith(".py")]
                info.notes.append(f"contains {len(code)} TorchScript code files: it is a program")
            if info.format == EXPORT_PT2:
                info.notes.append("a torch.export program; torch.export.load unpickles parts of "
                                  "it with weights_only=False: trusted files only")
                _describe_nested_pickles(archive, info)
                return
            if pickles:
                _describe_pickle(archive.read(pickles[0]), info)
    except Exception as error:
        info.notes.append(f"the archive cannot be read ({type(error).__name__}: {error})")


def _inspect_safetensors(file: BinaryIO, info: CheckpointInfo) -> None:
    info.integrity = "none: safetensors files carry no checksum"
    info.notes.append("safetensors holds no code: loading it cannot run anything")
    n = int.from_bytes(file.read(8), "little")
    if n > 100_000_000:
        info.notes.append("header larger than 100 MB: not a valid safetensors file")
        return
    try:
        header = json.loads(file.read(n))
    except ValueError as error:
        info.notes.append(f"the JSON header is damaged ({error})")
        return
    for name, entry in header.items() if isinstance(header, dict) else ():
        if name == "__metadata__" or not isinstance(entry, dict):
            continue
        with contextlib.suppress(Exception):
            start, end = entry["data_offsets"]
            dtype = _SAFETENSORS_DTYPES.get(entry["dtype"], entry["dtype"].lower())
            info.tensors.append(TensorInfo(name, tuple(entry["shape"]), dtype, "cpu",
                                           int(end) - int(start)))
            info.stored_bytes += int(end) - int(start)
    if isinstance(header, dict) and isinstance(header.get("__metadata__"), dict):
        info.notes.append(f"metadata: {header['__metadata__']}")


def _inspect_pickle_file(file: BinaryIO, head: FileHead, info: CheckpointInfo) -> None:
    info.integrity = "none: this format carries no checksums"
    data = file.read()
    if head.format == TORCH_LEGACY:  # magic number, protocol, system info, then the data
        stream = io.BytesIO(data)
        for _ in range(3):
            _RecordingUnpickler(stream).load()
        data = data[stream.tell():]
    _describe_pickle(data, info)


def inspect_checkpoint(path: str | os.PathLike[str]) -> CheckpointInfo:
    """Tell what a file is without running anything in it: format, tensors, globals, integrity.

    The pickle inside is read with an unpickler that records the classes and functions it names
    instead of importing them. Also ``python -m ckpt_helpers inspect FILE``.

    >>> import tempfile; from ckpt_kit.saving import save_checkpoint
    >>> path = Path(tempfile.mkdtemp()) / "ckpt.pt"
    >>> info = inspect_checkpoint(save_checkpoint({"w": torch.zeros(2, 3)}, path))
    >>> info.format, info.tensors[0].shape, info.unsafe_globals
    ('torch zip', (2, 3), [])
    """
    with open_checkpoint_file(path) as (file, head):
        info = CheckpointInfo(str(head.path), head.format)
        try:
            if head.format in (TORCH_ZIP, TORCHSCRIPT, EXPORT_PT2, OTHER_ZIP):
                _inspect_zip(file, head, info)
            elif head.format == SAFETENSORS:
                _inspect_safetensors(file, info)
            elif head.format in (TORCH_LEGACY, PICKLE):
                _inspect_pickle_file(file, head, info)
            elif head.format == EMPTY:
                info.notes.append("the file is empty: the save that wrote it never finished")
        except Exception as error:  # whatever the bytes, inspecting reports rather than raises
            info.notes.append(f"could not be read to the end ({type(error).__name__}: {error})")
    if info.unsafe_globals:
        info.notes.append("weights_only=True refuses this file: it names "
                          + ", ".join(info.unsafe_globals))
    return info
