"""ckpt_kit.saving: save_checkpoint and rotate_checkpoints keep every promise, and
every kind of bad input gets a CheckpointError (or TypeError, ValueError) that says what to do,
with the previous file untouched."""


from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ckpt_kit.saving
from ckpt_helpers import (CheckpointCorruptError, CheckpointWriteError, load_checkpoint,
                          rotate_checkpoints, save_checkpoint)

from attack_checkpoints import make_checkpoint, same
from conftest import become_nobody, in_child, seeded_net, temp_entries


def test_round_trip_of_a_full_checkpoint(tmp_path):
    ckpt = make_checkpoint("small")
    path = save_checkpoint(ckpt, tmp_path / "ckpt.pt")
    assert same(load_checkpoint(path), ckpt)
    assert temp_entries(tmp_path) == []
    # what torch.save(path) would write: the archive's folder is named after the file
    assert zipfile.ZipFile(path).namelist()[0].startswith("ckpt/")


def test_save_replaces_the_previous_file(tmp_path):
    path = tmp_path / "ckpt.pt"
    save_checkpoint({"epoch": 1}, path)
    save_checkpoint({"epoch": 2}, path)
    assert load_checkpoint(path) == {"epoch": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.pt"]


def test_save_refuses_what_is_not_a_dict_and_what_cannot_be_pickled(tmp_path):
    path = save_checkpoint({"epoch": 1}, tmp_path / "ckpt.pt")
    with pytest.raises(TypeError, match="wrap it"):
        save_checkpoint(seeded_net().state_dict()["fc1.weight"], path)
    with pytest.raises(CheckpointWriteError, match="cannot be pickled") as error:
        save_checkpoint({"schedule": lambda epoch: 0.1}, path)
    assert "previous file there, if any, is untouched" in str(error.value)
    assert load_checkpoint(path) == {"epoch": 1}
    assert temp_entries(tmp_path) == []


def _assert_refused_and_intact(message: str, reason: str, path: Path) -> None:
    """The save failed with a CheckpointWriteError naming ``reason``; the old file is intact."""
    assert message.startswith("CheckpointWriteError"), message
    assert reason in message and "untouched" in message
    assert load_checkpoint(path) == {"epoch": 1}
    assert temp_entries(path.parent) == []


@pytest.mark.skipif(os.name != "posix", reason="fork and file permissions of POSIX")
def test_unwritable_folder(tmp_path):
    folder = Path(tempfile.mkdtemp(prefix="readonly-"))  # in /tmp, so other users can reach it
    folder.chmod(0o755)
    path = save_checkpoint({"epoch": 1}, folder / "ckpt.pt")
    tensor = torch.zeros(10)

    def job():
        become_nobody()
        save_checkpoint({"epoch": 2, "w": tensor}, path)
        return "saved"

    folder.chmod(0o555)  # read-only for everyone; root, which ignores modes, becomes nobody
    try:
        message = in_child(job)
    finally:
        folder.chmod(0o755)
    _assert_refused_and_intact(message, "you cannot write in", path)


@pytest.mark.skipif(os.name != "posix", reason="RLIMIT_FSIZE is POSIX")
def test_full_disk(tmp_path):
    path = save_checkpoint({"epoch": 1}, tmp_path / "ckpt.pt")
    big = {"epoch": 2, "w": torch.zeros(250_000)}  # 1 MB: more than the disk can take

    def job():
        # the child's disk is "full" after 100 kB: writes past that fail (EFBIG), as with ENOSPC
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, resource.RLIM_INFINITY))
        save_checkpoint(big, path)
        return "saved"

    _assert_refused_and_intact(in_child(job), "the disk may be full", path)


DTYPES = [torch.float32, torch.float16, torch.bfloat16, torch.float64, torch.int64, torch.int32,
          torch.uint8, torch.bool]


@st.composite
def tensors(draw):
    dtype = draw(st.sampled_from(DTYPES))
    shape = draw(st.lists(st.integers(0, 5), min_size=0, max_size=3))  # [] is 0-dim
    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**31)))
    if dtype.is_floating_point:
        t = (torch.randn(shape, generator=generator, dtype=torch.float64) * 1e3).to(dtype)
        if t.numel() and draw(st.booleans()):
            t.view(-1)[0] = draw(st.sampled_from([float("inf"), -float("inf"), -0.0, 1e-30]))
    elif dtype == torch.bool:
        t = torch.randint(0, 2, shape, generator=generator).bool()
    else:
        info = torch.iinfo(dtype)
        t = torch.randint(max(info.min, -2**31), min(info.max, 2**31 - 1), shape,
                          generator=generator, dtype=torch.int64).to(dtype)
    layout = draw(st.sampled_from(["contiguous", "transposed", "strided"]))
    if layout == "transposed" and t.dim() >= 2:
        t = t.transpose(0, 1)
    elif layout == "strided" and t.dim() >= 1:  # every other row of a larger tensor
        t = torch.repeat_interleave(t, 2, dim=0)[::2]
    return t


@st.composite
def checkpoints(draw):
    ckpt = {f"t{i}": draw(tensors()) for i in range(draw(st.integers(1, 5)))}
    ties = []
    if draw(st.booleans()):  # a tied tensor: the same object under two names
        ckpt["tied"] = ckpt["t0"]
        ties.append(("tied", "t0"))
    if draw(st.booleans()) and ckpt["t0"].dim() >= 1 and ckpt["t0"].shape[0] >= 2:
        ckpt["view"] = ckpt["t0"][1:]  # a view into another tensor's storage
        ties.append(("view", "t0"))
    ckpt["meta"] = {"epoch": draw(st.integers(0, 10**6)), "note": draw(st.text(max_size=20))}
    return ckpt, ties


def _check_loaded(loaded, ckpt, ties):
    assert loaded.keys() == ckpt.keys()
    for key, value in ckpt.items():
        if isinstance(value, torch.Tensor):
            got = loaded[key]
            assert got.dtype == value.dtype and got.shape == value.shape, key
            assert torch.equal(got, value), key
        else:
            assert loaded[key] == value
    for a, b in ties:  # torch.save keeps shared storage shared
        assert (loaded[a].untyped_storage().data_ptr() ==
                loaded[b].untyped_storage().data_ptr()), (a, b)


@settings(max_examples=200, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(checkpoints())
def test_every_tensor_round_trips(case):
    ckpt, ties = case
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ckpt.pt"
        loaded = load_checkpoint(save_checkpoint(ckpt, path))
        _check_loaded(loaded, ckpt, ties)
        save_checkpoint(loaded, path)  # load, save to the same path, load again
        _check_loaded(load_checkpoint(path), ckpt, ties)
        assert os.listdir(folder) == ["ckpt.pt"]


def test_stale_temp_folders_of_dead_processes_are_removed(tmp_path):
    path = tmp_path / "ckpt.pt"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".ckpt.pt.{dead.pid}.0badc0de.tmp"
    alive = tmp_path / f".ckpt.pt.{os.getpid()}.0123abcd.tmp"   # a save in progress, this process
    other = tmp_path / f".other.pt.{dead.pid}.0badc0de.tmp"     # another file's: not ours
    for folder in (stale, alive, other):
        folder.mkdir()
        (folder / "ckpt.pt").write_bytes(b"half a checkpoint")
    save_checkpoint({"epoch": 1}, path)
    assert sorted(temp_entries(tmp_path)) == sorted([alive.name, other.name])


def test_rotation_keeps_the_newest_and_touches_nothing_else(tmp_path):
    (tmp_path / "best.pt").write_bytes(b"kept")
    (tmp_path / "epoch_best.pt").write_bytes(b"kept too: not a numbered name")
    for epoch in range(1, 6):
        save_checkpoint({"epoch": epoch}, tmp_path / f"epoch_{epoch:04d}.pt", keep=2)
        time.sleep(0.01)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "best.pt", "epoch_0004.pt", "epoch_0005.pt", "epoch_best.pt"]
    assert rotate_checkpoints(tmp_path, 1, r"epoch_\d+\.pt") == [tmp_path / "epoch_0004.pt"]


def test_rotation_deletes_nothing_when_the_new_file_does_not_verify(tmp_path, monkeypatch):
    for epoch in (1, 2):
        save_checkpoint({"epoch": epoch}, tmp_path / f"epoch_{epoch}.pt")

    def broken(file, head, torch_save=True):
        raise CheckpointCorruptError(f"{head.path} is damaged (simulated)", "simulated")

    monkeypatch.setattr(ckpt_kit.saving, "verify_zip", broken)
    with pytest.raises(CheckpointCorruptError):
        save_checkpoint({"epoch": 3}, tmp_path / "epoch_3.pt", keep=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch_1.pt", "epoch_2.pt", "epoch_3.pt"]


def test_rotation_needs_numbered_names_and_says_so_before_writing(tmp_path):
    with pytest.raises(ValueError, match="numbered file names"):
        save_checkpoint({"epoch": 1}, tmp_path / "last.pt", keep=3)
    with pytest.raises(ValueError, match="at least 1"):
        save_checkpoint({"epoch": 1}, tmp_path / "epoch_1.pt", keep=0)
    assert list(tmp_path.iterdir()) == []


def test_the_checkpoint_comes_first_like_torch_save(tmp_path):
    path = tmp_path / "ckpt.pt"
    with pytest.raises(TypeError, match=r"save_checkpoint\(checkpoint, path\).*swap the two"):
        save_checkpoint(path, {"epoch": 1})  # the old order
    with pytest.raises(TypeError, match="swap the two"):
        save_checkpoint(str(path), {"epoch": 1})
    with pytest.raises(TypeError, match="a path first and a int"):
        save_checkpoint(path, 3)
    with pytest.raises(TypeError, match="path must be a file path"):
        save_checkpoint({"epoch": 1}, 3)
    assert not path.exists() and temp_entries(tmp_path) == []
    assert save_checkpoint({"epoch": 1}, path) == path and load_checkpoint(path) == {"epoch": 1}


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_a_save_over_a_fifo_or_an_unreadable_file_neither_blocks_nor_fails(tmp_path):
    # the save first drops the cached pages of the file it replaces: it must never wait on it
    fifo = tmp_path / "ckpt.pt"
    os.mkfifo(fifo)
    assert load_checkpoint(save_checkpoint({"epoch": 1}, fifo)) == {"epoch": 1}
    unreadable = save_checkpoint({"epoch": 1}, tmp_path / "old.pt")
    unreadable.chmod(0o200)
    save_checkpoint({"epoch": 2}, unreadable)
    assert load_checkpoint(unreadable) == {"epoch": 2}
