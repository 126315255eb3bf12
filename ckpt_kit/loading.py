"""Loading checkpoints safely: integrity first, ``weights_only=True`` always, clear errors.

``load_checkpoint`` opens the file once to learn its format and verify it, then lets
``torch.load`` read it with ``weights_only=True`` (never anything else, never a retry).
``load_weights`` puts a checkpoint's state_dict into a model, or builds the model on the meta
device and takes the loaded tensors as its own. ``latest_checkpoint`` finds the newest file of a
run that verifies.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ckpt_kit.errors import (CheckpointCorruptError, CheckpointDeviceError, CheckpointError,
                             CheckpointFormatError, CheckpointMismatchError,
                             CheckpointNotFoundError, UnsafeCheckpointError)
from ckpt_kit.formats import (EMPTY, FORMAT_ADVICE, TORCH_LEGACY, TORCH_ZIP, FileHead,
                              open_checkpoint_file, verify_zip)
from ckpt_kit.pickle_reading import (RecordingUnpickler, legacy_protocol, pickle_protocol,
                                     refused_opcode, split_legacy, weights_only_allowed)

MMAP_MIN_BYTES = 64 * 2**20  # load_checkpoint memory-maps files this big by default
# globals whose modules mean "this would run code", not "this is a class you may trust"
_CODE_RUNNING_MODULES = ("os", "posix", "nt", "sys", "subprocess", "builtins", "runpy", "shutil")
_HARMLESS_BUILTINS = {"builtins.range", "builtins.frozenset", "builtins.slice", "builtins.set",
                      "builtins.complex", "builtins.bytearray"}


class _DeviceUnavailable(Exception):
    """Raised while torch places a storage: the device it names cannot be used here."""

    def __init__(self, location: str, target: str) -> None:
        super().__init__(f"{location} -> {target}")
        self.location, self.target = location, target


def _placing_storages(map_location: Any) -> Any:
    """A ``map_location`` equivalent to the one given, that tells device failures apart from
    every other error: torch's own placement runs inside, and its failure is marked."""
    meta = map_location == "meta" if isinstance(map_location, str) else (
        isinstance(map_location, torch.device) and map_location.type == "meta")
    if meta:
        return map_location  # torch reads no data at all for meta: keep its fast path
    place = torch.serialization.default_restore_location

    def restore(storage: Any, location: str) -> Any:
        if map_location is None:
            target = location
        elif isinstance(map_location, dict):
            target = map_location.get(location, location)
        elif isinstance(map_location, (str, torch.device)):
            target = str(map_location)
        else:
            placed = map_location(storage, location)
            if placed is not None:
                return placed
            target = location
        try:
            return place(storage, target)
        except Exception as error:
            raise _DeviceUnavailable(str(location), str(target)) from error

    return restore


def _global_name(obj: Any) -> str:
    """The "module.name" of an entry of ``trusted``, or a TypeError saying what to pass."""
    if isinstance(obj, tuple) and len(obj) == 2 and isinstance(obj[1], str):
        return obj[1]  # (function, "module.name") as safe_globals accepts
    if isinstance(obj, tuple) or not hasattr(obj, "__qualname__"):
        raise TypeError(f"trusted= takes classes or functions (or (function, 'module.name') "
                        f"pairs), not {obj!r}")
    return f"{obj.__module__}.{obj.__qualname__}"


def _pickles_of(path: Path) -> list[bytes]:
    """The pickles torch.load reads from ``path``: a zip's data.pkl, or a legacy file's
    preamble pickles and its object's pickle (with the bytes after it); [] if unreadable."""
    with contextlib.suppress(Exception):
        with open(path, "rb") as file:
            head = file.read(32)
            if legacy_protocol(head) is not None:
                file.seek(0)
                preamble, rest = split_legacy(file.read())
                return [*preamble, rest]
        with zipfile.ZipFile(path) as archive:
            name = next(n for n in archive.namelist() if n.endswith("/data.pkl"))
            return [archive.read(name)]
    return []


def _unsupported_protocol(pickles: list[bytes]) -> int | None:
    """The pickle protocol of a file's ``pickles`` if torch's weights_only unpickler refuses
    their opcodes because of it (4 or 5: FRAME, MEMOIZE...), else None."""
    protocol = pickle_protocol(pickles[-1]) if pickles else None
    if protocol in (None, 2, 3) or not any(refused_opcode(p) for p in pickles):
        return None
    return protocol


def _static_globals(pickles: list[bytes]) -> list[str]:
    """The globals a file's object pickle (the last of ``pickles``) names that
    weights_only=True refuses, read with the recording unpickler (nothing is imported or
    called)."""
    unpickler = RecordingUnpickler(io.BytesIO(pickles[-1] if pickles else b""))
    with contextlib.suppress(Exception):
        unpickler.load()
    allowed = weights_only_allowed()
    return [g for g in unpickler.globals if g not in allowed]


def _protocol_error(path: Path, protocol: int, names: list[str]) -> CheckpointError:
    """The error for a file whose pickle protocol weights_only=True cannot read."""
    why = (f"{path} was pickled with protocol {protocol} (torch.save(obj, path, "
           f"pickle_protocol={protocol}), or another tool). torch.save writes protocol 2 by "
           "default, and weights_only=True reads only protocols 2 and 3.")
    if names:
        return UnsafeCheckpointError(f"{why} It also needs {', '.join(names)}, which "
                                     f"weights_only=True does not allow. {_advice(names)}", names)
    return CheckpointFormatError(
        f"{why} It names no unsafe globals: if you trust its source, load it once with the tool "
        "that wrote it (e.g. torch.load(path, weights_only=False)) and re-save it with "
        "torch.save(obj, path), without pickle_protocol.")


def _advice(names: list[str]) -> str:
    runs_code = [n for n in names if n.split(".")[0] in _CODE_RUNNING_MODULES and
                 n not in _HARMLESS_BUILTINS]
    if runs_code:
        return "It would run code: do not load it."
    return ("Load it only if you trust its source, by passing the classes: "
            f"load_checkpoint(path, trusted=[{', '.join(n.rsplit('.', 1)[-1] for n in names)}]);"
            " better, save a state_dict instead of whole objects.")


def _unsafe_error(path: Path, error: Exception, trusted: Sequence[Any]) -> CheckpointError:
    """The error for torch's weights_only refusal: the globals it names (UnsafeCheckpointError),
    or the pickle protocol it cannot read (CheckpointFormatError)."""
    text = str(error)
    allowed = {_global_name(obj) for obj in trusted}
    if "Unsupported operand" in text:
        pickles = _pickles_of(path)  # read once, for both questions
        protocol = _unsupported_protocol(pickles)
        if protocol is not None:
            return _protocol_error(path, protocol,
                                   sorted(set(_static_globals(pickles)) - allowed))
    # torch's message drops "builtins." (GLOBAL exec): put it back, so names are module.name
    found = [n if "." in n else f"builtins.{n}" for n in re.findall(r"GLOBAL ([\w.]+)", text)]
    with contextlib.suppress(Exception):
        found += torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
    names = sorted(set(found) - allowed)
    if not names:
        return UnsafeCheckpointError(
            f"{path} holds pickle operations that weights_only=True refuses "
            f"({text.strip()[:200]}). It was not written by torch.save with its default "
            "protocol: load it only if you trust its source, with the tool that wrote it, then "
            "re-save it with torch.save(obj, path).", [])
    return UnsafeCheckpointError(
        f"{path} needs {', '.join(names)}, which weights_only=True does not allow. "
        f"{_advice(names)}", names)


def _unreadable(path: Path, error: Exception) -> CheckpointCorruptError:
    """The error for a file torch.load fails on, for no reason the other branches know."""
    return CheckpointCorruptError(
        f"{path} could not be read ({type(error).__name__}: {str(error)[:200]}); use an "
        "earlier checkpoint.", f"{type(error).__name__} while loading")


def _checked_head(file: Any, head: FileHead) -> None:
    """Refuse what torch.load should not be handed; verify a zip archive's integrity."""
    if head.format == EMPTY:
        raise CheckpointCorruptError(f"{head.path} is empty: the save that wrote it never "
                                     "finished. Use an earlier checkpoint.", "the file is empty")
    if head.format == TORCH_ZIP:
        verify_zip(file, head)
    elif head.format != TORCH_LEGACY:  # the legacy format has no checksums; weights_only guards
        raise CheckpointFormatError(f"{head.path} is {FORMAT_ADVICE[head.format]}.")


def load_checkpoint(path: str | os.PathLike[str], *, map_location: Any = "cpu",
                    trusted: Sequence[Any] = (), mmap: bool | None = None) -> dict[str, Any]:
    """Load a checkpoint dict safely: integrity checked, ``weights_only=True``, clear errors.

    ``trusted`` lists extra classes the file may use (admitted only for this call, through
    ``torch.serialization.safe_globals``). Every failure raises a ``CheckpointError`` subclass.
    Files of MMAP_MIN_BYTES or more are memory-mapped (``mmap=None``): their tensors are read
    from the file when first used, so replace such a file with save_checkpoint (a rename), never
    overwrite it in place with torch.save while its tensors are in use.

    >>> import tempfile; from ckpt_kit.saving import save_checkpoint
    >>> path = Path(tempfile.mkdtemp()) / "ckpt.pt"
    >>> load_checkpoint(save_checkpoint({"epoch": 3}, path))
    {'epoch': 3}
    """
    for entry in trusted:  # a bad entry fails here, before any work
        _global_name(entry)
    with open_checkpoint_file(path) as (file, head):
        _checked_head(file, head)
    path = head.path
    if mmap is None:
        mmap = head.format == TORCH_ZIP and head.size >= MMAP_MIN_BYTES
    if mmap and head.format != TORCH_ZIP:
        raise CheckpointFormatError(f"{path} is in the legacy format, which cannot be "
                                    "memory-mapped: pass mmap=False, or re-save it")
    try:
        with torch.serialization.safe_globals(list(trusted)):
            ckpt = torch.load(str(path), map_location=_placing_storages(map_location),
                              weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as error:
        raise _unsafe_error(path, error, trusted) from error
    except _DeviceUnavailable as error:
        cause = error.__cause__ or error
        raise CheckpointDeviceError(
            f"{path} holds tensors saved on {error.location}, which cannot be loaded onto "
            f"{error.target} here ({str(cause).strip()}). Use a device this machine has: "
            "map_location='cpu' always works.", error.location, error.target) from cause
    except AttributeError as error:
        if head.format == TORCH_LEGACY and "UntypedStorage" in str(error):
            raise CheckpointFormatError(
                f"{path} is in the legacy format (_use_new_zipfile_serialization=False) and holds "
                "a dtype without a typed storage (uint16-64, float8, complex32, bits): torch.load "
                "cannot read such a file, with any options. Save the tensors again with "
                "torch.save(obj, path), whose zip format holds every dtype.") from error
        raise _unreadable(path, error) from error
    except Exception as error:
        raise _unreadable(path, error) from error
    if not isinstance(ckpt, dict):
        raise CheckpointFormatError(f"{path} holds a {type(ckpt).__name__}, not a checkpoint dict: "
                                    "load it with torch.load(path, weights_only=True).")
    return ckpt


def latest_checkpoint(folder: str | os.PathLike[str], pattern: str = r".*\.pt") -> Path | None:
    """The newest file in ``folder`` (matching the regex ``pattern``) that passes its integrity
    check, skipping temp files of unfinished saves and damaged files; None if there is none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointNotFoundError(f"{folder} is not a folder: pass the folder your "
                                      "checkpoints are saved in.")
    regex = re.compile(pattern)
    files = [p for p in folder.iterdir()
             if p.is_file() and not p.name.startswith(".") and regex.fullmatch(p.name)]
    for candidate in sorted(files, key=lambda p: (p.stat().st_mtime_ns, p.name), reverse=True):
        with contextlib.suppress(CheckpointError, OSError):
            with open_checkpoint_file(candidate) as (file, head):
                if head.format == TORCH_ZIP:
                    verify_zip(file, head)
                    return candidate
    return None


def _fit_problems(model: nn.Module, state: Mapping[str, Any], strict: bool) -> list[str]:
    """What stops ``state`` from loading into ``model``, by name."""
    expected = model.state_dict()
    problems = []
    if strict:
        missing = [k for k in expected if k not in state]
        unexpected = [k for k in state if k not in expected]
        if missing:
            problems.append("missing from the file: " + ", ".join(missing))
        if unexpected:
            problems.append("in the file but not in the model: " + ", ".join(unexpected))
    for name, tensor in state.items():
        if name in expected and isinstance(tensor, torch.Tensor) and \
                tensor.shape != expected[name].shape:
            problems.append(f"{name} is {tuple(tensor.shape)} in the file but "
                            f"{tuple(expected[name].shape)} in the model")
    return problems


def _state_dict_in(ckpt: dict[str, Any], key: str | None, path: Path) -> Mapping[str, Any]:
    """``ckpt[key]``, or the whole file if it is a bare state_dict."""
    bare = all(isinstance(v, torch.Tensor) for v in ckpt.values())
    if key is not None and key in ckpt and isinstance(ckpt[key], Mapping):
        return ckpt[key]
    if bare or key is None:
        return ckpt
    raise CheckpointMismatchError(f"{path} has no state_dict under {key!r}; its entries are "
                                  f"{sorted(ckpt)}: pass key= one of them")


def load_weights(model: nn.Module | Callable[[], nn.Module], path: str | os.PathLike[str], *,
                 key: str | None = "model", strict: bool = True, map_location: Any = "cpu",
                 mmap: bool | None = None) -> nn.Module:
    """Load the state_dict saved at ``path`` into ``model`` and return the model.

    The state_dict is ``checkpoint[key]``, or the whole file if it is a bare state_dict. Pass a
    model class or factory instead of a model to take the fast path for big checkpoints: the
    model is built on the meta device (no memory, no random init) and takes the loaded tensors
    as its own (``assign=True``), memory-mapped from big files. Keys that are missing, unexpected
    (with ``strict=True``) or of the wrong shape raise CheckpointMismatchError, by name.

    >>> import tempfile; from ckpt_kit.saving import save_checkpoint
    >>> path = Path(tempfile.mkdtemp()) / "lin.pt"
    >>> _ = save_checkpoint({"model": nn.Linear(2, 1).state_dict()}, path)
    >>> type(load_weights(lambda: nn.Linear(2, 1), path)).__name__
    'Linear'
    """
    path = Path(path)
    state = _state_dict_in(load_checkpoint(path, map_location=map_location, mmap=mmap), key, path)
    build = not isinstance(model, nn.Module)
    if build:
        with torch.device("meta"):  # parameters without memory, filled by assign=True below
            model = model()  # type: ignore[operator]
    assert isinstance(model, nn.Module)
    problems = _fit_problems(model, state, strict)
    if problems:
        raise CheckpointMismatchError(f"{path} does not fit {type(model).__name__}: "
                                      + "; ".join(problems) + ". Check that you build the model "
                                      "that was saved, or pass strict=False to skip missing or "
                                      "extra keys (shapes must still match).")
    model.load_state_dict(state, strict=strict, assign=build)
    if build:
        empty = [n for n, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]
        if empty:
            raise CheckpointMismatchError(
                f"{', '.join(empty)} got no tensor from {path} and have no values: pass a built "
                "model instead of a class to keep their initial values.")
    return model
