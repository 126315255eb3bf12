"""Saving checkpoints so that a crash never destroys the previous file.

``save_checkpoint(checkpoint, path)`` takes its arguments in ``torch.save(obj, f)``'s order. It
writes a temp file in the same folder, fsyncs it, renames it over ``path`` and fsyncs the
folder: at every moment the path holds the old checkpoint or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import pickle
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from ckpt_kit.errors import CheckpointWriteError
from ckpt_kit.formats import open_checkpoint_file, verify_zip

# .NAME.PID.RANDOM.tmp: the folder a save writes into before its rename
_TEMP_NAME = re.compile(r"\.(?P<name>.+)\.(?P<pid>\d+)\.[0-9a-f]{8}\.tmp")


def _pid_alive(pid: int) -> bool:
    if os.name != "posix":  # no cheap check elsewhere: assume alive
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _remove_stale_temps(path: Path) -> list[Path]:
    """Delete temp folders an earlier save_checkpoint to ``path`` left when its process died."""
    removed = []
    for entry in path.parent.iterdir():
        match = _TEMP_NAME.fullmatch(entry.name)
        if match and match["name"] == path.name and not _pid_alive(int(match["pid"])):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY if path.is_dir() else os.O_RDWR)  # Windows fsyncs writable fds
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _free_cached_pages(path: Path) -> None:
    """Drop the page cache of the file that the save is about to replace (Linux, and other systems
    with posix_fadvise; elsewhere nothing).

    The rename frees those pages anyway; freeing them before the write lets the new file reuse
    memory the machine holds. Fresh memory can be slow: on a VM that hands free pages back to its
    host (virtio-balloon free page reporting), a 1 GiB save took 1.4-2.1x the time of
    torch.save + fsync without this, 0.9-1.0x with it (scripts/benchmark.py). torch.save(path)
    gets the same effect by truncating the old file. Only speed depends on it: errors are ignored.
    """
    if not hasattr(os, "posix_fadvise"):
        return
    try:  # O_NONBLOCK: a FIFO at path must not block the save
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return  # no previous file, or not ours to read: nothing to free
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    except OSError:
        pass
    finally:
        os.close(fd)


def numbered_pattern(name: str) -> re.Pattern[str]:
    """``epoch_0007.pt`` -> a pattern matching ``epoch_<digits>.pt``.

    >>> bool(numbered_pattern("epoch_0007.pt").fullmatch("epoch_0012.pt"))
    True
    """
    parts = re.split(r"\d+", name)
    if len(parts) == 1:
        raise ValueError(f"keep= needs numbered file names such as epoch_0007.pt, got {name!r}")
    return re.compile(r"\d+".join(re.escape(part) for part in parts))


def _write_advice(error: BaseException, folder: Path) -> str:
    """What to do about a failed save, from the error it raised."""
    if isinstance(error, (pickle.PicklingError, AttributeError, TypeError)):
        return ("save only tensors, state_dicts and plain Python values (lambdas, open files and "
                "classes defined inside functions cannot be pickled)")
    if isinstance(error, OSError) and error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"you cannot write in {folder}: save to a folder you own, or fix its permissions"
    try:
        free = f"{shutil.disk_usage(folder).free / 2**20:,.0f} MiB free there"
    except OSError:
        free = "free space unknown"
    return f"writing failed, so the disk may be full ({free}): free some space or save elsewhere"


def _checked_arguments(checkpoint: Any, path: Any) -> Path:
    """``path`` as a Path, or a TypeError that says the argument order or what to pass."""
    if isinstance(checkpoint, (str, os.PathLike)):
        swapped = isinstance(path, Mapping)
        raise TypeError(
            "save_checkpoint(checkpoint, path) takes the checkpoint first and the path second, "
            "like torch.save(obj, path)" + (": swap the two arguments" if swapped else
                                           f"; got a path first and a {type(path).__name__}"))
    if not isinstance(checkpoint, Mapping):
        raise TypeError(f"save_checkpoint saves a dict, got {type(checkpoint).__name__}: "
                        "wrap it, e.g. {'model': model.state_dict()}")
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file path (a str or Path), not {type(path).__name__}")
    return Path(path)


def _prepare_folder(path: Path) -> None:
    """The folder is there and writable; temp folders of dead saves are gone."""
    try:
        if path.is_dir():
            raise CheckpointWriteError(f"{path} is a folder: pass a file name such as "
                                       f"{path / 'checkpoint.pt'}")
        if not path.parent.is_dir():
            raise CheckpointWriteError(f"The folder {path.parent} does not exist: create it "
                                       "first with Path(folder).mkdir(parents=True, exist_ok=True)")
        _remove_stale_temps(path)
    except OSError as error:
        raise CheckpointWriteError(f"Cannot use the folder {path.parent} ({error.strerror}): "
                                   f"{_write_advice(error, path.parent)}.") from error


def save_checkpoint(checkpoint: Mapping[str, Any], path: str | os.PathLike[str], *,
                    keep: int | None = None) -> Path:
    """Save ``checkpoint`` (a dict) to ``path`` so that a crash never destroys the previous file.

    The order is ``torch.save``'s: the object, then the path. It writes a temp file in the same
    folder, fsyncs it, renames it over ``path`` and fsyncs the folder; temp files of saves that
    died earlier are removed. The zip's CRC-32s let ``load_checkpoint`` detect later corruption.
    With ``keep=K`` and numbered names (``epoch_0007.pt``), it verifies the new file, then
    deletes all but the K newest. Returns the path.

    >>> import tempfile; folder = Path(tempfile.mkdtemp())
    >>> save_checkpoint({"epoch": 3}, folder / "ckpt.pt").name
    'ckpt.pt'
    """
    path = _checked_arguments(checkpoint, path)
    if keep is not None and keep < 1:
        raise ValueError(f"keep must be at least 1, got {keep}")
    pattern = numbered_pattern(path.name) if keep is not None else None
    _prepare_folder(path)
    # The temp file has the final name inside a temp folder, so the archive's inner folder name
    # is the one torch.save(path) would write (torch names it after the file); the rename out of
    # it is still atomic, and the folder costs well under a millisecond.
    temp_dir = path.parent / f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    temp = temp_dir / path.name
    try:
        temp_dir.mkdir()
        _free_cached_pages(path)
        # A plain write, then one fsync: as fast as torch.save + fsync (scripts/benchmark.py).
        # fdatasyncing the growing file from a background thread was 1.3-2x slower (on ext4
        # each early flush of newly allocated blocks also waits for a journal commit).
        torch.save(checkpoint, str(temp))
        _fsync(temp)
        os.replace(temp, path)
        with contextlib.suppress(OSError):  # folders cannot be opened on Windows
            _fsync(path.parent)
    except BaseException as error:
        shutil.rmtree(temp_dir, ignore_errors=True)
        if not isinstance(error, Exception):
            raise  # KeyboardInterrupt and friends: cleaned up, now let them through
        raise CheckpointWriteError(
            f"Could not save {path} ({type(error).__name__}: {error}): "
            f"{_write_advice(error, path.parent)}. The previous file there, if any, is "
            "untouched.") from error
    shutil.rmtree(temp_dir, ignore_errors=True)
    if pattern is not None and keep is not None:
        with open_checkpoint_file(path) as (file, head):
            verify_zip(file, head)
        rotate_checkpoints(path.parent, keep, pattern)
    return path


def rotate_checkpoints(folder: str | os.PathLike[str], keep: int,
                       pattern: str | re.Pattern[str]) -> list[Path]:
    """Delete all but the ``keep`` newest files in ``folder`` whose names fully match ``pattern``.

    Files are ordered by modification time, then name. Returns the removed paths.
    """
    pattern = re.compile(pattern) if isinstance(pattern, str) else pattern
    files = [p for p in Path(folder).iterdir() if p.is_file() and pattern.fullmatch(p.name)]
    files.sort(key=lambda p: (p.stat().st_mtime_ns, p.name))
    old = files[:-keep]
    for p in old:
        p.unlink()
    return old
