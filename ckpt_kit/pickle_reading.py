"""Reading the pickles inside checkpoints without running them, and by torch's rules.

``RecordingUnpickler`` unpickles into placeholders: every class or function a pickle names
becomes a placeholder that remembers its name and arguments, and tensors (dense, sparse,
quantized, subclassed, Parameters) become ``TensorRecord``s of their storages. Nothing named in
the file is imported or called.

``refused_opcode`` says whether ``torch.load(weights_only=True)`` would read a pickle's opcodes
at all: its unpickler knows a fixed set of them, those of pickle protocol 2 (protocol 3 adds
none it needs), and refuses any other with ``Unsupported operand N``: protocols 4 and 5 start
with a FRAME (149) and memoize with MEMOIZE (148).
"""

from __future__ import annotations

import _compat_pickle
import io
import pickle
import pickletools
from dataclasses import dataclass, field
from typing import Any

import torch

# The opcodes torch._weights_only_unpickler.Unpickler.load handles (torch 2.13); every other
# one raises "Unsupported operand N".
_TORCH_OPCODES = frozenset(getattr(pickle, name)[0] for name in (
    "GLOBAL", "NEWOBJ", "REDUCE", "BUILD", "APPEND", "APPENDS", "SETITEM", "SETITEMS", "MARK",
    "TUPLE", "TUPLE1", "TUPLE2", "TUPLE3", "NONE", "NEWFALSE", "NEWTRUE", "EMPTY_TUPLE",
    "EMPTY_LIST", "EMPTY_DICT", "EMPTY_SET", "BININT", "BININT1", "BININT2", "BINFLOAT",
    "BINUNICODE", "SHORT_BINSTRING", "BINPERSID", "BINGET", "LONG_BINGET", "BINPUT",
    "LONG_BINPUT", "LONG1", "PROTO", "STOP"))
TORCH_SAVE_PROTOCOL = 2  # torch.save's default pickle_protocol
MAGIC_NUMBER = 0x1950A86A20F9469CFC6C  # the first pickle of a legacy torch.save file

_STORAGE_DTYPES = {"Float": "float32", "Double": "float64", "Half": "float16",
                   "BFloat16": "bfloat16", "Long": "int64", "Int": "int32", "Short": "int16",
                   "Char": "int8", "Byte": "uint8", "Bool": "bool", "ComplexFloat": "complex64",
                   "ComplexDouble": "complex128", "QUInt8": "quint8", "QInt8": "qint8",
                   "QInt32": "qint32", "QUInt4x2": "quint4x2", "QUInt2x4": "quint2x4",
                   "Untyped": "uint8"}


def itemsize(dtype: str) -> int:
    """Bytes per element of the torch dtype called ``dtype`` (1 if torch has no such dtype)."""
    value = getattr(torch, dtype, None)
    return value.itemsize if isinstance(value, torch.dtype) else 1


class Placeholder:
    """Stands in for any class or function a pickle names: records, never runs."""

    qualname = "?"
    args: tuple[Any, ...]
    state: Any
    items: dict[Any, Any]

    def __new__(cls, *args: Any, **kwargs: Any) -> Placeholder:
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
class StorageRecord:
    """One stored blob: its dtype, key in the file, device tag and size."""

    dtype: str
    key: str
    device: str
    nbytes: int


@dataclass
class TensorRecord:
    """A tensor as the file describes it; ``parts`` are the storages of a sparse tensor's
    indices and values, or of a per-channel quantized tensor's scales and zero points."""

    storage: StorageRecord
    shape: tuple[int, ...]
    dtype: str
    layout: str = "strided"
    parts: list[TensorRecord] = field(default_factory=list)


def _shape(value: Any) -> tuple[int, ...]:
    if isinstance(value, Placeholder):  # torch.Size(...) as a placeholder
        value = value.args[0] if value.args else ()
    if isinstance(value, (tuple, list)) and all(isinstance(n, int) for n in value):
        return tuple(value)
    return ()


def _name_of(value: Any) -> str:
    """The last part of the name of a placeholder (class or instance): ``float8_e4m3fn``."""
    qualname = getattr(value, "qualname", None)
    return qualname.rsplit(".", 1)[-1] if isinstance(qualname, str) and qualname != "?" else ""


def _record_tensor(storage: Any, offset: Any = 0, shape: Any = (), *rest: Any) -> Any:
    """Stands in for torch._utils._rebuild_tensor_v2/v3: a record instead of a tensor."""
    if not isinstance(storage, StorageRecord):
        return Placeholder(storage, offset, shape, *rest)
    dtype = _name_of(rest[3]) if len(rest) > 3 and _name_of(rest[3]) else storage.dtype
    return TensorRecord(storage, _shape(shape), dtype)


def _record_qtensor(storage: Any, offset: Any = 0, shape: Any = (), stride: Any = (),
                    quantizer: Any = (), *rest: Any) -> Any:
    """Stands in for torch._utils._rebuild_qtensor: per-channel scales become its parts."""
    if not isinstance(storage, StorageRecord):
        return Placeholder(storage, offset, shape, stride, quantizer, *rest)
    parts = [q for q in quantizer if isinstance(q, TensorRecord)] \
        if isinstance(quantizer, tuple) else []
    scheme = _name_of(quantizer[0]) if isinstance(quantizer, tuple) and quantizer else ""
    if scheme == "per_channel_affine" and len(parts) > 1 and parts[1].dtype.startswith("float"):
        scheme += "_float_qparams"  # torch saves both as per_channel_affine; float zero points
    return TensorRecord(storage, _shape(shape), storage.dtype, scheme or "quantized", parts)


def _record_sparse(layout: Any, data: Any) -> Any:
    """Stands in for torch._utils._rebuild_sparse_tensor: one record, its arrays as parts.

    COO data is (indices, values, size); compressed layouts (CSR, CSC, BSR, BSC) store
    (compressed indices, plain indices, values, size). The values give the dtype."""
    parts = [p for p in data if isinstance(p, TensorRecord)] if isinstance(data, tuple) else []
    if not parts:
        return Placeholder(layout, data)
    kind = layout.args[0] if isinstance(layout, Placeholder) and layout.args else "sparse"
    kind = str(kind).removeprefix("torch.")
    size = next((d for d in data if not isinstance(d, TensorRecord)), ())
    return TensorRecord(parts[-1].storage, _shape(size), parts[-1].dtype, kind, parts)


def _record_from_type(func: Any, new_type: Any, args: Any, state: Any = None) -> Any:
    """Stands in for torch._tensor._rebuild_from_type_v2 (tensor subclasses): the tensor."""
    inner = func(*args) if callable(func) and isinstance(args, tuple) else None
    return inner if isinstance(inner, TensorRecord) else Placeholder(func, new_type, args, state)


class DictWithAttributes(dict):  # type: ignore[type-arg]
    """A dict that takes attributes, as the OrderedDict of a state_dict has ``_metadata``."""


class RecordingUnpickler(pickle.Unpickler):
    """Unpickles into placeholders: tensors become TensorRecords, every other global a
    Placeholder subclass named after it. Nothing named in the file is imported or called."""

    _REBUILDERS = {"torch._utils._rebuild_tensor_v2": _record_tensor,
                   "torch._utils._rebuild_tensor_v3": _record_tensor,
                   "torch._utils._rebuild_qtensor": _record_qtensor,
                   "torch._utils._rebuild_sparse_tensor": _record_sparse,
                   "torch._tensor._rebuild_from_type_v2": _record_from_type,
                   "torch._utils._rebuild_parameter": lambda data, *rest: data,
                   "torch._utils._rebuild_parameter_with_state": lambda data, *rest: data,
                   "collections.OrderedDict": DictWithAttributes}

    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file)
        self.globals: list[str] = []
        self.storages: dict[str, StorageRecord] = {}
        self.untyped = False  # an UntypedStorage: torch cannot load it from a legacy file

    def find_class(self, module: str, name: str) -> Any:
        # protocol 2 names Python 2 modules (__builtin__.set): map them as pickle itself does
        module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        full = f"{module}.{name}"
        if full not in self.globals:
            self.globals.append(full)
        if full in self._REBUILDERS:
            return self._REBUILDERS[full]
        return type(name.replace(".", "_") or "_", (Placeholder,), {"qualname": full})

    def persistent_load(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            return Placeholder(pid)
        kind = getattr(pid[1], "qualname", "")
        self.untyped |= kind == "torch.storage.UntypedStorage"
        dtype = _STORAGE_DTYPES.get(kind.rsplit(".", 1)[-1].replace("Storage", ""), "uint8")
        key = str(pid[2])  # one record per stored blob, however many tensors view it
        if key not in self.storages:
            numel = pid[4] if isinstance(pid[4], int) else 0
            self.storages[key] = StorageRecord(dtype, key, str(pid[3]), numel * itemsize(dtype))
        return self.storages[key]


def collect_tensors(obj: Any, name: str, found: list[tuple[str, TensorRecord]],
                    seen: set[int]) -> None:
    """Every tensor record reachable from ``obj``, with its dotted name (``fc1.weight``)."""
    if isinstance(obj, TensorRecord):  # a tied tensor is one object under two names: list both
        found.append((name, obj))
        return
    if id(obj) in seen or len(found) > 100_000:
        return
    seen.add(id(obj))
    if isinstance(obj, Placeholder):  # a module's tensors sit in its state, under _parameters
        obj = {"": obj.state, **obj.items, **({"args": obj.args} if obj.args else {})}
    items = (obj.items() if isinstance(obj, dict) else
             enumerate(obj) if isinstance(obj, (list, tuple, set)) else ())
    for key, value in items:
        inner = key in ("", "_modules", "_parameters", "_buffers")
        collect_tensors(value, name if inner else f"{name}.{key}" if name else str(key), found,
                        seen)


def weights_only_allowed() -> set[str]:
    """The globals torch.load(weights_only=True) accepts now, as "module.name" strings."""
    import torch._weights_only_unpickler as weights_only  # torch's own allow-list

    return {*weights_only._get_allowed_globals(), *weights_only._get_user_allowed_globals()}


def pickle_protocol(data: bytes) -> int | None:
    """The protocol a pickle declares in its first opcode (PROTO), None if it has none."""
    return data[1] if len(data) >= 2 and data[0] == pickle.PROTO[0] else None


def refused_opcode(data: bytes) -> str | None:
    """The first opcode of the pickle ``data`` that torch's weights_only unpickler refuses, as
    ``"FRAME (149)"``; None if it reads them all. A damaged pickle: ``"damaged pickle"``."""
    try:
        for opcode, _, _ in pickletools.genops(data):
            if opcode.code.encode("latin-1")[0] not in _TORCH_OPCODES:
                return f"{opcode.name} ({opcode.code.encode('latin-1')[0]})"
    except Exception:  # genops stops at the first byte that is no opcode, or at the end
        return "damaged pickle"
    return None


def split_legacy(data: bytes) -> tuple[list[bytes], bytes]:
    """A legacy torch.save file's leading pickles (magic number, protocol version, system
    info) and the bytes after them (the object's pickle, then the storage keys and data)."""
    stream = io.BytesIO(data)
    preamble = []
    for _ in range(3):
        start = stream.tell()
        RecordingUnpickler(stream).load()
        preamble.append(data[start:stream.tell()])
    return preamble, data[stream.tell():]


def legacy_protocol(head: bytes) -> int | None:
    """The pickle protocol of a legacy torch.save file, from its head (which starts with the
    pickled magic number: PROTO n, a FRAME from protocol 4 on, LONG1 and its 10 bytes)."""
    if len(head) < 2 or head[0] != pickle.PROTO[0]:
        return None
    rest = head[2:]
    if rest[:1] == pickle.FRAME:
        rest = rest[9:]
    magic = pickle.LONG1 + bytes([10]) + MAGIC_NUMBER.to_bytes(10, "little")
    return head[1] if rest.startswith(magic) else None
