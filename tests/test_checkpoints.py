"""save_checkpoint, load_checkpoint, inspect_checkpoint, latest_checkpoint and rotation: what
they promise, bad input, and a property-based round trip. tests/test_break.py attacks them."""

from __future__ import annotations

import os
import pickle
import resource
import signal
import subprocess
import sys
import tempfile
import time
import warnings
import zipfile
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import save_file
from torch import nn

import ckpt_helpers
from ckpt_helpers import (DATA_DIR, CheckpointCorruptError, CheckpointDeviceError, CheckpointError,
                          CheckpointFormatError, CheckpointNotFoundError, CheckpointWriteError, Net,
                          UnsafeCheckpointError, assert_state_dicts_equal, inspect_checkpoint,
                          latest_checkpoint, load_checkpoint, load_weights, rotate_checkpoints,
                          save_checkpoint)

from break_checkpoints import make_checkpoint, same


def seeded_net() -> Net:
    torch.manual_seed(0)
    return Net()


def temp_entries(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


# --- save and load -----------------------------------------------------------------------------


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


def test_load_passes_weights_only_true_once_and_never_retries(tmp_path, monkeypatch):
    calls = []
    real_load = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs.get("weights_only"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    torch.save(seeded_net(), tmp_path / "whole.pt")
    with pytest.raises(UnsafeCheckpointError):
        load_checkpoint(tmp_path / "whole.pt")
    save_checkpoint({"epoch": 1}, tmp_path / "ok.pt")
    load_checkpoint(tmp_path / "ok.pt")
    assert calls == [True, True]


def test_trusted_classes_are_allowed_for_one_call_only(tmp_path):
    torch.save(seeded_net(), tmp_path / "whole.pt")
    before = set(torch.serialization.get_safe_globals())
    with pytest.raises(UnsafeCheckpointError) as refused:
        load_checkpoint(tmp_path / "whole.pt")
    assert refused.value.globals == ["ckpt_helpers.Net", "torch.nn.modules.linear.Linear"]
    assert "trusted=[Net, Linear]" in str(refused.value)
    assert isinstance(refused.value.__cause__, pickle.UnpicklingError)
    with pytest.raises(UnsafeCheckpointError) as still:  # one class is not enough
        load_checkpoint(tmp_path / "whole.pt", trusted=[Net])
    assert still.value.globals == ["torch.nn.modules.linear.Linear"]
    assert set(torch.serialization.get_safe_globals()) == before  # also after an error
    # a whole model is not a dict: trusted, it loads, then is refused as not a checkpoint
    with pytest.raises(CheckpointFormatError, match="holds a Net, not a checkpoint dict"):
        load_checkpoint(tmp_path / "whole.pt", trusted=[Net, nn.Linear])
    assert set(torch.serialization.get_safe_globals()) == before
    torch.save({"model": seeded_net()}, tmp_path / "wrapped.pt")
    loaded = load_checkpoint(tmp_path / "wrapped.pt", trusted=[Net, nn.Linear])
    assert_state_dicts_equal(loaded["model"].state_dict(), seeded_net().state_dict())
    assert set(torch.serialization.get_safe_globals()) == before


def test_code_payload_is_refused_as_code(tmp_path):
    class Payload:
        def __reduce__(self):
            return (os.system, ("echo should never run",))

    torch.save({"x": Payload()}, tmp_path / "payload.pt")
    with pytest.raises(UnsafeCheckpointError, match="It would run code: do not load it") as error:
        load_checkpoint(tmp_path / "payload.pt")
    assert error.value.globals == ["posix.system"] if os.name == "posix" else error.value.globals


def test_cuda_saved_file_loads_on_cpu_by_default():
    loaded = load_checkpoint(DATA_DIR / "net_cuda.pt")
    assert_state_dicts_equal(loaded, seeded_net().state_dict())
    assert all(t.device.type == "cpu" for t in loaded.values())


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_device_mismatch_says_what_to_pass(tmp_path):
    with pytest.raises(CheckpointDeviceError, match="map_location='cpu' always works") as error:
        load_checkpoint(DATA_DIR / "net_cuda.pt", map_location=None)
    assert "torch.cuda.is_available() is False" in str(error.value)
    with pytest.raises(CheckpointDeviceError):
        load_checkpoint(DATA_DIR / "net_cuda.pt", map_location="cuda")


def test_legacy_format_loads_with_weights_only(tmp_path):
    torch.save({"w": torch.arange(4)}, tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    assert torch.equal(load_checkpoint(tmp_path / "legacy.pt")["w"], torch.arange(4))


# --- bad input ---------------------------------------------------------------------------------


def test_missing_path_names_the_files_that_are_there(tmp_path):
    save_checkpoint({}, tmp_path / "epoch_0003.pt")
    with pytest.raises(CheckpointNotFoundError, match="epoch_0003.pt") as error:
        load_checkpoint(tmp_path / "epoch_3.pt")
    assert isinstance(error.value, CheckpointError)
    with pytest.raises(CheckpointNotFoundError):
        inspect_checkpoint(tmp_path / "epoch_3.pt")


def test_a_folder_is_not_a_checkpoint(tmp_path):
    with pytest.raises(CheckpointNotFoundError, match="latest_checkpoint"):
        load_checkpoint(tmp_path)
    with pytest.raises(CheckpointWriteError, match="is a folder"):
        save_checkpoint({"epoch": 1}, tmp_path)
    with pytest.raises(CheckpointWriteError, match="does not exist: create it"):
        save_checkpoint({"epoch": 1}, tmp_path / "no" / "ckpt.pt")


def test_save_refuses_what_is_not_a_dict_and_what_cannot_be_pickled(tmp_path):
    path = save_checkpoint({"epoch": 1}, tmp_path / "ckpt.pt")
    with pytest.raises(TypeError, match="wrap it"):
        save_checkpoint(seeded_net().state_dict()["fc1.weight"], path)
    with pytest.raises(CheckpointWriteError, match="cannot be pickled") as error:
        save_checkpoint({"schedule": lambda epoch: 0.1}, path)
    assert "previous file there, if any, is untouched" in str(error.value)
    assert load_checkpoint(path) == {"epoch": 1}
    assert temp_entries(tmp_path) == []


def _in_child(job) -> str:
    """Run ``job()`` in a forked child (which may drop privileges or limit its file size)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        try:
            message = job()
        except BaseException as error:  # noqa: BLE001 - reported to the parent
            message = f"{type(error).__name__}: {error}"
        os.write(write_end, message.encode())
        os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    with os.fdopen(read_end) as pipe:
        return pipe.read()


def _become_nobody() -> None:
    """In a forked child: root reads and writes anything, so drop to nobody, as a student is."""
    if os.geteuid() == 0:
        os.setgid(65534)
        os.setuid(65534)


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
        _become_nobody()
        save_checkpoint({"epoch": 2, "w": tensor}, path)
        return "saved"

    folder.chmod(0o555)  # read-only for everyone; root, which ignores modes, becomes nobody
    try:
        message = _in_child(job)
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

    _assert_refused_and_intact(_in_child(job), "the disk may be full", path)


@pytest.mark.skipif(os.name != "posix", reason="fork and file permissions of POSIX")
def test_unreadable_file():
    folder = Path(tempfile.mkdtemp(prefix="unreadable-"))  # in /tmp, so other users can reach it
    folder.chmod(0o755)
    path = save_checkpoint({"epoch": 1}, folder / "ckpt.pt")
    path.chmod(0)

    def job():
        _become_nobody()
        load_checkpoint(path)
        return "loaded"

    message = _in_child(job)
    assert message.startswith("CheckpointNotFoundError: Cannot read"), message
    assert "permissions" in message


def test_damaged_files_are_reported_with_what_to_do(tmp_path):
    good = save_checkpoint(make_checkpoint("small"), tmp_path / "good.pt").read_bytes()
    cases = {"empty.pt": b"", "truncated.pt": good[: len(good) // 2],
             "garbage.pt": good + b"extra bytes", "text.pt": b"epoch,loss\n1,0.5\n"}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
    with pytest.raises(CheckpointCorruptError, match="is empty: the save that wrote it never"):
        load_checkpoint(tmp_path / "empty.pt")
    with pytest.raises(CheckpointCorruptError, match="damaged or truncated"):
        load_checkpoint(tmp_path / "truncated.pt")
    with pytest.raises(CheckpointCorruptError, match="does not end where the zip ends"):
        load_checkpoint(tmp_path / "garbage.pt")
    with pytest.raises(CheckpointFormatError, match="not a checkpoint"):
        load_checkpoint(tmp_path / "text.pt")


def test_a_flipped_bit_that_torch_load_accepts_is_caught(tmp_path):
    ckpt = {"w": torch.arange(1000, dtype=torch.float32)}
    path = save_checkpoint(ckpt, tmp_path / "ckpt.pt")
    data = bytearray(path.read_bytes())
    offset = data.index(ckpt["w"].numpy().tobytes()[400:432])  # inside the tensor's bytes
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
    silently_wrong = torch.load(path, weights_only=True)["w"]
    assert not torch.equal(silently_wrong, ckpt["w"])  # torch.load does not check the CRC
    with pytest.raises(CheckpointCorruptError, match="fails its CRC-32 check"):
        load_checkpoint(path)
    assert inspect_checkpoint(path).integrity.startswith("FAILED")


# --- property-based round trip -----------------------------------------------------------------

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


# --- temp files, latest, rotation ----------------------------------------------------------------


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


def test_latest_checkpoint_skips_damaged_and_unfinished_files(tmp_path):
    assert latest_checkpoint(tmp_path) is None
    for epoch in (1, 2, 3):
        save_checkpoint({"epoch": epoch}, tmp_path / f"epoch_{epoch}.pt")
        time.sleep(0.01)
    newest = tmp_path / "epoch_3.pt"
    newest.write_bytes(newest.read_bytes()[:-100])  # truncated
    (tmp_path / ".epoch_4.pt.1.0badc0de.tmp").mkdir()  # a save that never finished
    (tmp_path / "notes.txt").write_text("not a checkpoint")
    assert latest_checkpoint(tmp_path) == tmp_path / "epoch_2.pt"
    assert latest_checkpoint(tmp_path, pattern=r"epoch_1\.pt") == tmp_path / "epoch_1.pt"
    with pytest.raises(CheckpointNotFoundError, match="not a folder"):
        latest_checkpoint(tmp_path / "epoch_2.pt")


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

    def broken(path, torch_save=True):
        raise CheckpointCorruptError(f"{path} is damaged (simulated)")

    monkeypatch.setattr(ckpt_helpers, "_verify_zip", broken)
    with pytest.raises(CheckpointCorruptError):
        save_checkpoint({"epoch": 3}, tmp_path / "epoch_3.pt", keep=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch_1.pt", "epoch_2.pt", "epoch_3.pt"]


def test_rotation_needs_numbered_names_and_says_so_before_writing(tmp_path):
    with pytest.raises(ValueError, match="numbered file names"):
        save_checkpoint({"epoch": 1}, tmp_path / "last.pt", keep=3)
    with pytest.raises(ValueError, match="at least 1"):
        save_checkpoint({"epoch": 1}, tmp_path / "epoch_1.pt", keep=0)
    assert list(tmp_path.iterdir()) == []


# --- inspect_checkpoint ------------------------------------------------------------------------


def test_inspect_describes_a_checkpoint_without_loading_it(tmp_path):
    ckpt = make_checkpoint("small")
    ckpt["tied"] = ckpt["model"]["fc1.weight"]
    info = inspect_checkpoint(save_checkpoint(ckpt, tmp_path / "ckpt.pt"))
    assert info.format == ckpt_helpers.TORCH_ZIP and info.integrity.startswith("ok:")
    shapes = {t.name: (t.shape, t.dtype, t.device, t.nbytes) for t in info.tensors}
    assert shapes["model.fc1.weight"] == ((20, 10), "float32", "cpu", 800)
    assert shapes["optimizer.state.0.exp_avg"] == ((20, 10), "float32", "cpu", 800)
    assert shapes["optimizer.state.0.step"] == ((), "float32", "cpu", 4)
    assert info.unsafe_globals == []
    assert any("model.fc1.weight, tied share one storage" in note for note in info.notes)
    with zipfile.ZipFile(tmp_path / "ckpt.pt") as archive:  # the tied tensor is stored once
        assert info.stored_bytes == sum(i.file_size for i in archive.infolist()
                                        if "/data/" in i.filename and "/.data/" not in i.filename)
    report = str(info)
    assert "model.fc1.weight" in report and "20x10" in report and "unsafe:    none" in report


def test_inspect_of_a_truncated_file_does_not_call_it_safe(tmp_path):
    data = save_checkpoint({"w": torch.zeros(100)}, tmp_path / "ckpt.pt").read_bytes()
    (tmp_path / "half.pt").write_bytes(data[: len(data) // 2])
    report = str(inspect_checkpoint(tmp_path / "half.pt"))
    assert "integrity: FAILED" in report
    assert "unsafe:    unknown: the pickle could not be read to the end" in report


def test_inspect_reports_the_device_a_file_was_saved_on():
    info = inspect_checkpoint(DATA_DIR / "net_cuda.pt")
    assert {t.device for t in info.tensors} == {"cuda:0"}


def test_inspect_agrees_with_torch_on_unsafe_globals():
    for name in ("net_whole_kit_v1.pt", "net_cuda.pt", "net_module_prefix.pt"):
        path = DATA_DIR / name
        assert sorted(inspect_checkpoint(path).unsafe_globals) == sorted(
            torch.serialization.get_unsafe_globals_in_checkpoint(path)), name
    info = inspect_checkpoint(DATA_DIR / "net_whole_kit_v1.pt")
    assert info.unsafe_globals == ["kit_v1.models.Net", "torch.nn.modules.linear.Linear"]
    assert [t.name for t in info.tensors] == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]


def test_inspect_names_every_format(tmp_path):
    torch.save({"w": torch.zeros(2)}, tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    save_file({"w": torch.zeros(2, 3)}, tmp_path / "w.safetensors", metadata={"epoch": "3"})
    (tmp_path / "plain.pkl").write_bytes(pickle.dumps({"w": [1, 2]}, protocol=4))
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "empty.pt").write_bytes(b"")
    with zipfile.ZipFile(tmp_path / "docs.zip", "w") as archive:
        archive.writestr("readme.md", "hi")
    model = nn.Linear(2, 2).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TorchScript is deprecated; we only need its archive
        torch.jit.save(torch.jit.script(model), str(tmp_path / "script.pt"))
    torch.export.save(torch.export.export(model, (torch.randn(1, 2),)), tmp_path / "prog.pt2")
    expected = {"legacy.pt": ckpt_helpers.TORCH_LEGACY, "w.safetensors": ckpt_helpers.SAFETENSORS,
                "plain.pkl": ckpt_helpers.PICKLE, "notes.txt": ckpt_helpers.NOT_A_CHECKPOINT,
                "empty.pt": "empty file", "docs.zip": ckpt_helpers.OTHER_ZIP,
                "script.pt": ckpt_helpers.TORCHSCRIPT, "prog.pt2": ckpt_helpers.EXPORT_PT2}
    for name, kind in expected.items():
        info = inspect_checkpoint(tmp_path / name)
        assert info.format == kind, name
        if name not in ("legacy.pt", "plain.pkl"):
            with pytest.raises(CheckpointError):
                load_checkpoint(tmp_path / name)
    assert [(t.name, t.shape, t.nbytes) for t in inspect_checkpoint(tmp_path / "w.safetensors")
            .tensors] == [("w", (2, 3), 24)]
    assert [(t.name, t.shape) for t in inspect_checkpoint(tmp_path / "legacy.pt").tensors] == [
        ("w", (2,))]
    assert any("code files" in n for n in inspect_checkpoint(tmp_path / "script.pt").notes)
    assert inspect_checkpoint(tmp_path / "prog.pt2").unsafe_globals == []


class PrintOnLoad:
    def __reduce__(self):
        return (print, ("ran",))


def test_inspect_looks_into_the_pickles_inside_a_pt2(tmp_path):
    model = nn.Linear(2, 2).eval()
    torch.export.save(torch.export.export(model, (torch.randn(1, 2),)), tmp_path / "prog.pt2")
    with zipfile.ZipFile(tmp_path / "prog.pt2") as archive:  # swap in tampered sample inputs
        members = {name: archive.read(name) for name in archive.namelist()}
    sample = next(name for name in members if name.endswith("sample_inputs/model.pt"))
    torch.save({"x": PrintOnLoad()}, tmp_path / "inputs.pt")
    members[sample] = (tmp_path / "inputs.pt").read_bytes()
    with zipfile.ZipFile(tmp_path / "tampered.pt2", "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    info = inspect_checkpoint(tmp_path / "tampered.pt2")
    assert info.format == ckpt_helpers.EXPORT_PT2
    assert info.unsafe_globals == ["builtins.print"]
    assert "unsafe:    builtins.print" in str(info)


def test_inspect_command(tmp_path):
    path = save_checkpoint({"w": torch.zeros(3, 4)}, tmp_path / "ckpt.pt")
    proc = subprocess.run([sys.executable, "-m", "ckpt_helpers", "inspect", str(path),
                           str(tmp_path / "missing.pt")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "format:    torch zip" in proc.stdout and "3x4" in proc.stdout
    assert "No checkpoint at" in proc.stderr and "ckpt.pt" in proc.stderr


# --- load_weights --------------------------------------------------------------------------------


class WideHead(nn.Module):
    """Net with a different fc2: the shapes do not fit a Net checkpoint."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(10, 20)
        self.fc2 = nn.Linear(20, 5)


class NetPlus(Net):
    """Net with one more layer: its keys are missing from a Net checkpoint."""

    def __init__(self) -> None:
        super().__init__()
        self.fc3 = nn.Linear(10, 10)


def test_load_weights_into_a_model_or_from_a_class(tmp_path):
    expected = seeded_net().state_dict()
    path = save_checkpoint({"model": expected, "epoch": 2}, tmp_path / "ckpt.pt")
    into = load_weights(Net(), path)
    built = load_weights(Net, path)  # meta device + assign: no init, no copy
    for model in (into, built):
        assert_state_dicts_equal(model.state_dict(), expected)
        assert not any(t.is_meta for t in model.parameters())
    bare = save_checkpoint(expected, tmp_path / "bare.pt")
    assert_state_dicts_equal(load_weights(Net, bare).state_dict(), expected)
    with pytest.raises(ckpt_helpers.CheckpointMismatchError,
                       match=r"entries are \['epoch', 'model'\]"):
        load_weights(Net, path, key="net")


def test_load_weights_names_what_does_not_fit(tmp_path):
    path = save_checkpoint({"model": seeded_net().state_dict()}, tmp_path / "ckpt.pt")
    with pytest.raises(ckpt_helpers.CheckpointMismatchError,
                       match=r"fc2.weight is \(10, 20\) in the file but \(5, 20\) in the model"):
        load_weights(WideHead(), path)
    with pytest.raises(ckpt_helpers.CheckpointMismatchError,
                       match="missing from the file: fc3.weight, fc3.bias"):
        load_weights(NetPlus, path)
    partial = load_weights(NetPlus(), path, strict=False)  # fc3 keeps its initial values
    assert torch.equal(partial.fc1.weight, seeded_net().fc1.weight)
    with pytest.raises(ckpt_helpers.CheckpointMismatchError, match="fc3.weight, fc3.bias got no"):
        load_weights(NetPlus, path, strict=False)  # built on meta, fc3 would have no values


def test_big_files_are_memory_mapped(tmp_path, monkeypatch):
    seen = []
    real_load = torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **k: seen.append(k["mmap"]) or real_load(*a, **k))
    path = save_checkpoint({"model": seeded_net().state_dict()}, tmp_path / "ckpt.pt")
    load_checkpoint(path)
    monkeypatch.setattr(ckpt_helpers, "MMAP_MIN_BYTES", 1000)
    load_checkpoint(path)
    model = load_weights(Net, path)
    assert seen == [False, True, True]
    assert_state_dicts_equal(model.state_dict(), seeded_net().state_dict())
    torch.save({"w": torch.zeros(2)}, tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    with pytest.raises(CheckpointFormatError, match="cannot be memory-mapped"):
        load_checkpoint(tmp_path / "legacy.pt", mmap=True)
