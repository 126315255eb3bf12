"""What kind of file a path holds, and whether a torch zip archive is intact.

The format comes from a file's first bytes (and a zip's member names), never from its name.
``open_checkpoint_file`` opens the file once and reads its size and head; ``verify_zip`` checks
the archive that ``torch.save`` writes through the same open file: its end record, its members,
and the CRC-32 of each member (``torch.load`` checks none of these, so a flipped bit in a tensor
loads silently).
"""

from __future__ import annotations

import contextlib
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ckpt_kit.errors import CheckpointCorruptError, CheckpointNotFoundError
from ckpt_kit.pickle_reading import legacy_protocol

# What inspect_checkpoint reports as CheckpointInfo.format.
TORCH_ZIP = "torch zip"
TORCH_LEGACY = "legacy torch"
TORCHSCRIPT = "TorchScript archive"
EXPORT_PT2 = "torch.export .pt2"
SAFETENSORS = "safetensors"
PICKLE = "plain pickle"
OTHER_ZIP = "zip archive, not a checkpoint"
NOT_A_CHECKPOINT = "not a checkpoint"
EMPTY = "empty file"

_END_RECORD = 22  # bytes of a zip's end-of-central-directory record without a comment

FORMAT_ADVICE = {
    TORCHSCRIPT: "a TorchScript archive: it contains code and TorchScript is deprecated. If you "
                 "trust it, torch.jit.load it once and re-save its state_dict with torch.save",
    EXPORT_PT2: "a torch.export program: load it with torch.export.load, and only if you trust it "
                "(loading it unpickles with weights_only=False)",
    SAFETENSORS: "a safetensors file: load it with safetensors.torch.load_file(path)",
    PICKLE: "a plain pickle, not a torch.save checkpoint: it can run code when loaded; do not "
            "load it unless you trust its source",
    OTHER_ZIP: "a zip archive without the data.pkl that torch.save writes",
    NOT_A_CHECKPOINT: "not a checkpoint (no torch, safetensors or pickle header): check the path",
}


@dataclass(frozen=True)
class FileHead:
    """What one look at a file tells: its path, size and format."""

    path: Path
    size: int
    format: str


@dataclass(frozen=True)
class ZipCheck:
    """The result of ``verify_zip``: how many members, and whether they carry CRC-32s."""

    members: int
    checksums: bool  # False: written with compute_crc32=False, every CRC field is 0

    def __str__(self) -> str:
        if self.checksums:
            return f"ok: {self.members} zip members, every CRC-32 matches"
        return (f"ok, but no checksum: {self.members} zip members, saved without CRC-32s "
                "(compute_crc32=False), so damage inside them cannot be detected")


def checkpoint_path(path: str | os.PathLike[str]) -> Path:
    """``path`` as a Path to an existing file, or CheckpointNotFoundError saying what to do."""
    path = Path(path)
    if not path.exists():
        hint = ""
        with contextlib.suppress(OSError):
            near = sorted(p.name for p in path.parent.iterdir() if p.suffix == path.suffix)[:5]
            hint = f" Files like it in {path.parent}: {', '.join(near)}." if near else ""
        raise CheckpointNotFoundError(f"No checkpoint at {path}: check the path.{hint}")
    if path.is_dir():
        raise CheckpointNotFoundError(
            f"{path} is a folder, not a checkpoint file: pass the file inside it "
            f"(latest_checkpoint({str(path)!r}) finds the newest one).")
    return path


@contextlib.contextmanager
def open_checkpoint_file(path: str | os.PathLike[str]) -> Iterator[tuple[BinaryIO, FileHead]]:
    """Open a checkpoint file for reading, once: yields the open file and its ``FileHead``."""
    path = checkpoint_path(path)
    try:
        file = open(path, "rb")
    except OSError as error:
        raise CheckpointNotFoundError(f"Cannot read {path} ({error.strerror}): check its "
                                      "permissions.") from error
    with file:
        try:
            size = os.fstat(file.fileno()).st_size
            head = FileHead(path, size, detect_format(file, size))
        except OSError as error:
            raise CheckpointNotFoundError(f"Cannot read {path}: {error}") from error
        yield file, head


def zip_format(names: list[str]) -> str:
    """Which kind of torch zip archive has these member names."""
    roots = {n.split("/", 1)[1] for n in names if "/" in n}
    if "archive_format" in roots or "serialized_exported_program.json" in names:
        return EXPORT_PT2  # the second: the layout torch.export.save wrote before torch 2.8
    if "constants.pkl" in roots or any(r.startswith("code/") for r in roots):
        return TORCHSCRIPT
    return TORCH_ZIP if "data.pkl" in roots else OTHER_ZIP


def detect_format(file: BinaryIO, size: int) -> str:
    """The format of an open file, from its first bytes (and zip member names); rewinds it."""
    file.seek(0)
    head = file.read(32)
    file.seek(0)
    if size == 0:
        return EMPTY
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        try:
            with zipfile.ZipFile(file) as archive:
                return zip_format(archive.namelist())
        except Exception:  # a damaged zip: torch.save wrote it, most likely
            return TORCH_ZIP
        finally:
            file.seek(0)
    if legacy_protocol(head) is not None:  # torch's magic number, pickled with any protocol
        return TORCH_LEGACY
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return PICKLE
    header_len = int.from_bytes(head[:8], "little") if len(head) >= 9 else 0
    if 2 <= header_len <= size - 8 and head[8:9] == b"{":
        return SAFETENSORS
    return NOT_A_CHECKPOINT


def _damaged(head: FileHead, reason: str) -> CheckpointCorruptError:
    return CheckpointCorruptError(f"{head.path} is damaged or truncated ({reason}). Use an "
                                  "earlier checkpoint or copy the file again.", reason)


def _check_members(archive: zipfile.ZipFile, head: FileHead) -> ZipCheck:
    """Structure of every member, then its CRC-32 where the file carries them."""
    infos = archive.infolist()
    names = [info.filename for info in infos]
    if len(set(names)) != len(names):
        raise _damaged(head, "duplicate members")
    for info in infos:
        # torch's zip reader returns no bytes for a member flagged as a folder, and loads
        # whatever memory held: torch.save never writes one
        if info.is_dir() or info.external_attr & 0x10:
            raise _damaged(head, f"{info.filename} is marked as a folder")
        if info.header_offset + info.compress_size > head.size:
            raise _damaged(head, f"{info.filename} runs past the end of the file")
    # torch.save with compute_crc32=False writes 0 in every CRC field: no checksum, not damage
    checksums = any(info.CRC for info in infos if info.file_size)
    if checksums:
        bad = archive.testzip()
        if bad is not None:
            raise _damaged(head, f"{bad} fails its CRC-32 check")
    return ZipCheck(len(infos), checksums)


def read_member(archive: zipfile.ZipFile, name: str) -> bytes:
    """A member's bytes. A member saved without a CRC-32 (``compute_crc32=False`` writes 0) is
    read without comparing one: there is nothing to compare against, and zipfile would call the
    file damaged."""
    info = archive.getinfo(name)
    with archive.open(info) as member:
        if info.CRC == 0 and info.file_size and hasattr(member, "_expected_crc"):
            member._expected_crc = None
        return member.read()


def verify_zip(file: BinaryIO, head: FileHead, torch_save: bool = True) -> ZipCheck:
    """Check the zip archive in ``file``: it ends where the file ends, its members are sound,
    their CRC-32s match (where it has them) and, with ``torch_save``, it holds ``data.pkl``.

    Raises CheckpointCorruptError, whose ``reason`` says what is wrong.
    """
    try:
        if head.size < _END_RECORD:
            raise _damaged(head, "shorter than a zip archive")
        file.seek(-_END_RECORD, os.SEEK_END)
        end = file.read(_END_RECORD)
        # torch.save ends the file with an end-of-central-directory record and no comment
        if end[:4] != b"PK\x05\x06" or end[20:22] != b"\0\0":
            raise _damaged(head, "it does not end where the zip ends")
        file.seek(0)
        with zipfile.ZipFile(file) as archive:
            check = _check_members(archive, head)
            names = archive.namelist()
    except CheckpointCorruptError:
        raise
    except Exception as error:
        raise _damaged(head, f"{type(error).__name__}: {error}") from error
    finally:
        file.seek(0)
    if torch_save and zip_format(names) != TORCH_ZIP:
        raise _damaged(head, "no data.pkl member")
    return check


def bytes_after_archive(file: BinaryIO, size: int) -> int:
    """How many bytes follow the zip's end record (another file glued on?); 0 if none found."""
    start = max(0, size - 2**20)
    file.seek(start)
    tail = file.read()
    file.seek(0)
    end = tail.rfind(b"PK\x05\x06")
    return max(0, len(tail) - end - _END_RECORD) if end >= 0 else 0
