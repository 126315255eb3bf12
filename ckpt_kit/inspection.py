"""``inspect_checkpoint``: what a file holds, read without running anything in it.

The pickle inside is read by a recording unpickler: every class or function it names becomes a
placeholder that remembers its name and arguments, and tensors become records of their storage.
Nothing named in the file is imported or called.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from ckpt_kit.errors import CheckpointCorruptError
from ckpt_kit.formats import (EMPTY, EXPORT_PT2, OTHER_ZIP, PICKLE, SAFETENSORS, TORCH_LEGACY,
                              TORCH_ZIP, TORCHSCRIPT, FileHead, bytes_after_archive,
                              open_checkpoint_file, read_member, verify_zip)
from ckpt_kit.pickle_reading import (TORCH_SAVE_PROTOCOL, RecordingUnpickler, TensorRecord,
                                     collect_tensors, itemsize, pickle_protocol, refused_opcode,
                                     split_legacy, weights_only_allowed)


@dataclass
class TensorInfo:
    """One tensor of a checkpoint, as stored: no bytes of it are read.

    ``layout`` is ``strided`` for an ordinary tensor, torch's layout name for a sparse one
    (``sparse_coo``, ``sparse_csr``...) and the quantization scheme for a quantized one
    (``per_tensor_affine``...); ``nbytes`` then includes its index or scale arrays.
    """

    name: str
    shape: tuple[int, ...]
    dtype: str
    device: str
    nbytes: int
    layout: str = "strided"


@dataclass
class CheckpointInfo:
    """What ``inspect_checkpoint`` found in a file.

    ``weights_only_loadable`` says whether ``torch.load(path, weights_only=True)`` would load
    it by torch's own rules: a torch.save file whose pickle was read to the end, uses only the
    opcodes torch's unpickler knows (pickle protocol 2 or 3) and names only allowed globals.
    ``weights_only_refusal`` says why not, when the globals are not the reason.
    """

    path: str
    format: str
    integrity: str = "none"
    tensors: list[TensorInfo] = field(default_factory=list)
    globals: list[str] = field(default_factory=list)
    unsafe_globals: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stored_bytes: int = 0  # bytes of tensor data in the file: tied tensors and views count once
    pickle_read: bool = False  # False: the globals lists are incomplete (damaged or foreign)
    pickle_protocol: int | None = None
    weights_only_loadable: bool = False
    weights_only_refusal: str = ""

    def _unsafe_line(self) -> str:
        if self.unsafe_globals:
            return ", ".join(self.unsafe_globals)
        if not self.pickle_read:
            return "unknown: the pickle could not be read to the end"
        if self.format in (TORCHSCRIPT, EXPORT_PT2):  # programs, whatever their pickles name
            return ("none in its pickles, but it is a program: torch.load cannot load it "
                    "(trusted files only, with the tool that made it)")
        if self.weights_only_refusal:
            return f"none, but weights_only=True cannot load it: {self.weights_only_refusal}"
        return "none (weights_only=True can load it)"

    def __str__(self) -> str:
        lines = [f"file:      {Path(self.path).name}", f"format:    {self.format}",
                 f"integrity: {self.integrity}"]
        if self.tensors:
            lines.append(f"tensors:   {len(self.tensors)}, {self.stored_bytes:,} bytes stored")
            for t in self.tensors:
                shape = "x".join(map(str, t.shape)) or "scalar"
                layout = "" if t.layout == "strided" else f" {t.layout}"
                lines.append(f"  {t.name:<32} {shape:<12} {t.dtype:<9} {t.device:<7} "
                             f"{t.nbytes:>12,} B{layout}")
        if self.format in (TORCH_ZIP, TORCH_LEGACY, PICKLE, TORCHSCRIPT, EXPORT_PT2):
            lines.append("globals:   " + (", ".join(self.globals) or "none"))
            lines.append("unsafe:    " + self._unsafe_line())
        lines += [f"note:      {note}" for note in self.notes]
        return "\n".join(lines)


# torch.save(_use_new_zipfile_serialization=False) writes dtypes that have no typed storage
# (uint16/32/64, float8, complex32, bits...) but torch.load cannot read them back
LEGACY_UNTYPED = ("the legacy format cannot hold its dtypes without a typed storage (uint16-64, "
                  "float8, complex32, bits): torch.load fails on it with any options "
                  "(AttributeError: UntypedStorage has no attribute 'dtype')")
_SAFETENSORS_DTYPES = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16",
                       "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8",
                       "U64": "uint64", "U32": "uint32", "U16": "uint16", "U8": "uint8",
                       "BOOL": "bool", "C64": "complex64", "C128": "complex128",
                       "F8_E4M3": "float8_e4m3fn", "F8_E5M2": "float8_e5m2",
                       "F8_E4M3FNUZ": "float8_e4m3fnuz", "F8_E5M2FNUZ": "float8_e5m2fnuz",
                       "F8_E8M0": "float8_e8m0fnu", "F4": "float4_e2m1fn_x2"}


def _tensor_info(name: str, record: TensorRecord) -> TensorInfo:
    """A TensorInfo for a record: a sparse or per-channel quantized tensor's bytes include its
    index, scale and zero-point arrays."""
    nbytes = math.prod(record.shape) * itemsize(record.dtype) if record.layout in (
        "strided", "per_tensor_affine", "per_channel_affine",
        "per_channel_affine_float_qparams") else 0
    nbytes += sum(math.prod(p.shape) * itemsize(p.dtype) for p in record.parts)
    return TensorInfo(name or "(top)", record.shape, record.dtype, record.storage.device, nbytes,
                      record.layout)


def _protocol_refusal(data: bytes, info: CheckpointInfo) -> str:
    """Why torch's weights_only unpickler refuses the opcodes of ``data``; "" if it reads them.
    Sets ``info.pickle_protocol``."""
    info.pickle_protocol = pickle_protocol(data)
    opcode = refused_opcode(data)
    if opcode is None:
        return ""
    if info.pickle_protocol not in (None, 2, 3):
        return (f"pickle protocol {info.pickle_protocol}, whose {opcode} opcode it refuses "
                f"(torch.save writes protocol {TORCH_SAVE_PROTOCOL} unless pickle_protocol= "
                "is passed)")
    return f"its unpickler refuses the {opcode} opcode"


def _describe_pickle(data: bytes, info: CheckpointInfo, preamble: tuple[bytes, ...] = ()) -> None:
    """Fill ``info`` from the pickle ``data`` (after a legacy file's ``preamble`` pickles)
    without running it."""
    unpickler = RecordingUnpickler(io.BytesIO(data))
    try:
        obj = unpickler.load()
        info.pickle_read = True
    except Exception as error:
        obj = None
        info.notes.append(f"the pickle could not be read to the end ({type(error).__name__})")
    found: list[tuple[str, TensorRecord]] = []
    collect_tensors(obj, "", found, set())
    sharing: dict[str, list[str]] = {}
    for name, record in found:
        info.tensors.append(_tensor_info(name, record))
        sharing.setdefault(record.storage.key, []).append(name or "(top)")
    info.stored_bytes = sum(s.nbytes for s in unpickler.storages.values())
    for names in sharing.values():
        if len(names) > 1:
            info.notes.append(f"{', '.join(names)} share one storage (tied or views)")
    allowed = weights_only_allowed()
    info.globals = unpickler.globals
    info.unsafe_globals = [g for g in unpickler.globals if g not in allowed]
    refusals = [r for r in (_protocol_refusal(p, info) for p in (*preamble, data)) if r]
    if info.format == PICKLE:
        refusals.insert(0, "a plain pickle, not a torch.save file")
    if info.format == TORCH_LEGACY and unpickler.untyped:
        refusals.insert(0, LEGACY_UNTYPED)
    info.weights_only_refusal = refusals[0] if refusals else ""
    info.weights_only_loadable = (info.pickle_read and not info.unsafe_globals and not refusals
                                  and info.format in (TORCH_ZIP, TORCH_LEGACY))
    if obj is not None and not isinstance(obj, dict):
        kind = getattr(obj, "qualname", None) or type(obj).__name__
        info.notes.append(f"the top-level object is a {kind}, not a dict")


def _describe_nested_pickles(archive: zipfile.ZipFile, info: CheckpointInfo) -> None:
    """The globals named by the torch.save archives inside a .pt2 (its sample inputs...)."""
    for name in archive.namelist():
        data = read_member(archive, name) if name.endswith(".pt") else b""
        if not data.startswith(b"PK"):
            continue
        with zipfile.ZipFile(io.BytesIO(data)) as inner:
            pickles = [n for n in inner.namelist() if n.endswith("/data.pkl")]
            unpickler = RecordingUnpickler(io.BytesIO(read_member(inner, pickles[0]) if pickles
                                                     else b""))
            with contextlib.suppress(Exception):
                unpickler.load()
        info.globals += [g for g in unpickler.globals if g not in info.globals]
    allowed = weights_only_allowed()
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
                _describe_pickle(read_member(archive, pickles[0]), info)
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
            dtype = _SAFETENSORS_DTYPES.get(entry["dtype"], str(entry["dtype"]).lower())
            info.tensors.append(TensorInfo(name, tuple(entry["shape"]), dtype, "cpu",
                                           int(end) - int(start)))
            info.stored_bytes += int(end) - int(start)
    if isinstance(header, dict) and isinstance(header.get("__metadata__"), dict):
        info.notes.append(f"metadata: {header['__metadata__']}")


def _inspect_pickle_file(file: BinaryIO, head: FileHead, info: CheckpointInfo) -> None:
    info.integrity = "none: this format carries no checksums"
    data = file.read()
    preamble: list[bytes] = []
    if head.format == TORCH_LEGACY:  # magic number, protocol, system info, then the data
        preamble, data = split_legacy(data)
    _describe_pickle(data, info, tuple(preamble))


def inspect_checkpoint(path: str | os.PathLike[str]) -> CheckpointInfo:
    """Tell what a file is without running anything in it: format, tensors, globals, integrity.

    The pickle inside is read with an unpickler that records the classes and functions it names
    instead of importing them. Also ``python -m ckpt_helpers inspect FILE``.

    >>> import tempfile, torch; from ckpt_kit.saving import save_checkpoint
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
    elif info.weights_only_refusal and info.format in (TORCH_ZIP, TORCH_LEGACY):
        info.notes.append(f"weights_only=True refuses this file: {info.weights_only_refusal}. "
                          "If you trust its source, load it once with the tool that wrote it and "
                          "re-save it with torch.save(obj, path)")
    return info
