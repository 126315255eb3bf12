"""Confine the process that runs one student's code: limits, a clean environment, hidden files.

:func:`confine` is called in a forked child just before it runs untrusted code. It cannot be
undone in that process, which exits when the submission is graded. What it does, in order:

- **hides files** (Linux, as root, or where unprivileged user namespaces are allowed): a mount
  namespace of its own, with an empty, size-limited ``tmpfs`` over ``/tmp``, ``/var/tmp``,
  ``/dev/shm`` and every folder in ``hidden`` (the class's submissions, the results, the
  instructor notebooks). What the code writes there vanishes with the process; other students'
  folders and the reference solutions are not there to read;
- **works in a fresh folder**: a copy of ``workdir`` at the same path on that ``tmpfs`` (or in
  a new temporary folder where no namespace could be made), which becomes the current folder;
  its ``.tmp`` becomes the temporary folder;
- **limits**: address space (``memory`` bytes on top of what the process already maps), size of
  any file it writes, number of processes and threads, open files, no core dumps;
- **a clean environment**: ``PATH``, ``HOME`` (the work folder), a locale and one thread; nothing
  of the instructor's (tokens, keys, proxies);
- **drops root**: as root, switches to a user id of its own that owns nothing but the work
  folder, so the instructor's files are as closed to it as to any other user.

It protects the instructor's account and the other students' work from an answer that is
careless or curious. It is not a boundary against a determined attacker (kernel exploits, CPU
time of the machine, the network): for exams, run each submission in a container.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import shutil
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ckpt_kit.paths import KIT_DIR

_CLONE_NEWNS, _CLONE_NEWUSER = 0x00020000, 0x10000000
_MS_BIND, _MS_REC, _MS_PRIVATE = 1 << 12, 1 << 14, 1 << 18
_FIRST_UID = 1_500_000_000  # the children's user ids: far above any real account's
SCRATCH = ("/tmp", "/var/tmp", "/dev/shm")
CLEAN_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
             "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg",
             "PYTHONDONTWRITEBYTECODE": "1"}


@dataclass(frozen=True)
class Limits:
    """What one submission may use."""

    memory: int = 4 << 30  # bytes of address space on top of the prepared lesson's
    file_size: int = 1 << 30  # bytes in any one file it writes
    processes: int = 256  # processes and threads of its user (as root only)
    open_files: int = 1024
    scratch: int = 2 << 30  # bytes of the private /tmp


@dataclass(frozen=True)
class Confinement:
    """What :func:`confine` achieved in this process, for the report."""

    hidden: bool  # a mount namespace hides the listed folders and the scratch folders
    user: int | None  # the user id it now runs as, if it dropped root
    scratch: Path  # the folder that holds the work folder: remove it when done

    def describe(self) -> str:
        parts = ["own process, time, memory and file-size limits, clean environment"]
        parts.append("other students' folders hidden" if self.hidden else
                     "other students' folders NOT hidden (no mount namespace here)")
        parts.append(f"unprivileged user {self.user}" if self.user is not None else
                     "same user as the grader (not run as root)")
        return "; ".join(parts)


def _libc_call(name: str, *args: object) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if getattr(libc, name)(*args) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{name}: {os.strerror(error)}")


def _mount_tmpfs(target: str, size: int, mode: str = "1777") -> None:
    _libc_call("mount", b"tmpfs", target.encode(), b"tmpfs", 0,
               f"size={size},mode={mode}".encode())


def _new_mount_namespace() -> bool:
    """Enter a mount namespace of our own (as root, or in a new user namespace); False if the
    system allows neither."""
    uid, gid = os.getuid(), os.getgid()
    try:
        _libc_call("unshare", _CLONE_NEWNS if uid == 0 else _CLONE_NEWNS | _CLONE_NEWUSER)
        if uid != 0:  # be root inside the new user namespace, the same user outside it
            Path("/proc/self/setgroups").write_text("deny")
            Path("/proc/self/uid_map").write_text(f"0 {uid} 1")
            Path("/proc/self/gid_map").write_text(f"0 {gid} 1")
        _libc_call("mount", b"none", b"/", None, _MS_REC | _MS_PRIVATE, None)
        return True
    except OSError:
        return False


def _cover(folder: Path, keep: list[Path]) -> None:
    """Cover ``folder`` with an empty tmpfs; the paths in ``keep`` below it (the kit, the Python
    in use) are mounted back at their places, reachable even where ``folder`` was private."""
    if not folder.is_dir() or folder.is_symlink() or folder in keep:
        return
    inside = [p for p in keep if folder in p.parents and p.is_dir()]
    outermost = [p for p in inside if not any(q in p.parents for q in inside)]
    kept = {path: os.open(path, os.O_PATH | os.O_DIRECTORY) for path in outermost}
    _mount_tmpfs(str(folder), 1 << 20, "0755")
    for path, fd in kept.items():
        path.mkdir(mode=0o755, parents=True, exist_ok=True)
        _libc_call("mount", f"/proc/self/fd/{fd}".encode(), str(path).encode(), None,
                   _MS_BIND | _MS_REC, None)
        os.close(fd)


def _hide(folders: Iterable[Path], limits: Limits) -> bool:
    """Cover the scratch folders and ``folders`` with empty tmpfs mounts; False if impossible."""
    if not _new_mount_namespace():
        return False
    for target in SCRATCH:
        if Path(target).is_dir():
            _mount_tmpfs(target, limits.scratch)
    keep = [Path(p).resolve() for p in (KIT_DIR, sys.prefix, sys.base_prefix, *sys.path) if p]
    # a private folder on the way to the kit or to Python (Python installed in root's home)
    # is covered too: the paths kept in it become reachable for an unprivileged user
    closed = {parent for path in keep for parent in path.parents
              if parent.is_dir() and not parent.stat().st_mode & 0o001}
    for folder in sorted({*folders, *closed}):
        _cover(folder, keep)
    return True


def _address_space() -> int:
    """Bytes of address space this process maps now (VmSize)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _set_limits(limits: Limits, as_root: bool) -> None:
    wanted = [(resource.RLIMIT_FSIZE, limits.file_size), (resource.RLIMIT_CORE, 0),
              (resource.RLIMIT_NOFILE, limits.open_files)]
    if _address_space():  # Linux: a cap on top of what the prepared lesson already maps
        wanted.append((resource.RLIMIT_AS, _address_space() + limits.memory))
    if as_root:  # a user of its own: the count is of this submission's processes alone
        wanted.append((resource.RLIMIT_NPROC, limits.processes))
    for which, value in wanted:
        _soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value))


def confine(workdir: Path, hidden: Iterable[Path], limits: Limits) -> Confinement:
    """Confine this (forked, single-threaded) process and move into a copy of ``workdir``.

    Call it once, just before running untrusted code, in a process that will exit afterwards.
    """
    source = os.open(workdir, os.O_RDONLY | os.O_DIRECTORY)  # reachable even once covered
    as_root = os.getuid() == 0
    hidden_ok = _hide([Path(p).resolve() for p in hidden], limits)
    if hidden_ok and not workdir.exists():  # covered by the new /tmp: the copy takes its place,
        base = work = workdir  # so the paths the lesson's variables hold stay right
    else:
        base = Path(tempfile.mkdtemp(prefix="submission-"))
        work = base / "work"
    shutil.copytree(f"/proc/self/fd/{source}", work, symlinks=True, dirs_exist_ok=True)
    os.close(source)
    (work / ".tmp").mkdir(exist_ok=True)
    user = None
    if as_root:
        user = _FIRST_UID + os.getpid()
        for path in [base, work, *work.rglob("*")]:
            os.lchown(path, user, user)
        os.chmod(base, 0o700)
    os.chdir(work)
    os.environ.clear()
    os.environ.update(CLEAN_ENV, HOME=str(work), TMPDIR=str(work / ".tmp"))
    tempfile.tempdir = str(work / ".tmp")
    _set_limits(limits, as_root)
    if user is not None:
        os.setgroups([])
        os.setgid(user)
        os.setuid(user)
    return Confinement(hidden_ok, user, base)
