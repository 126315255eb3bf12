"""ckpt_kit.loading: load_checkpoint, latest_checkpoint and load_weights: weights_only=True
always, integrity first, and every failure a CheckpointError that says what to do."""


from __future__ import annotations

import os
import pickle
import tempfile
import time
from pathlib import Path

import pytest
import torch
from torch import nn

import ckpt_helpers
import ckpt_kit.loading
from ckpt_helpers import (DATA_DIR, CheckpointCorruptError, CheckpointDeviceError, CheckpointError,
                          CheckpointFormatError, CheckpointNotFoundError, CheckpointWriteError, Net,
                          UnsafeCheckpointError, assert_state_dicts_equal, inspect_checkpoint,
                          latest_checkpoint, load_checkpoint, load_weights, save_checkpoint)

from attack_checkpoints import make_checkpoint
from conftest import become_nobody, in_child, seeded_net


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
    # os.system is posix.system on POSIX and nt.system on Windows: the file names the real one
    assert error.value.globals == [f"{os.system.__module__}.system"]


def test_cuda_saved_file_loads_on_cpu_by_default():
    loaded = load_checkpoint(DATA_DIR / "net_cuda.pt")
    assert_state_dicts_equal(loaded, seeded_net().state_dict())
    assert all(t.device.type == "cpu" for t in loaded.values())


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_device_mismatch_says_what_to_pass(tmp_path):
    with pytest.raises(CheckpointDeviceError, match="map_location='cpu' always works") as error:
        load_checkpoint(DATA_DIR / "net_cuda.pt", map_location=None)
    assert "torch.cuda.is_available() is False" in str(error.value)
    assert (error.value.location, error.value.target) == ("cuda:0", "cuda:0")
    assert isinstance(error.value.__cause__, RuntimeError)
    with pytest.raises(CheckpointDeviceError) as error:
        load_checkpoint(DATA_DIR / "net_cuda.pt", map_location="cuda")
    assert (error.value.location, error.value.target) == ("cuda:0", "cuda")
    with pytest.raises(CheckpointDeviceError) as error:  # a CPU file sent to a missing device
        load_checkpoint(save_checkpoint({"w": torch.ones(1)}, tmp_path / "cpu.pt"),
                        map_location={"cpu": "cuda:1"})
    assert (error.value.location, error.value.target) == ("cpu", "cuda:1")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_device_error_is_known_by_where_it_happened_not_by_its_words(tmp_path, monkeypatch):
    # a damaged file whose error text mentions a device is still a damaged file
    def damaged(*args, **kwargs):
        raise RuntimeError("unexpected end of data on device cuda:0 storage location")

    path = save_checkpoint({"w": torch.ones(1)}, tmp_path / "ckpt.pt")
    monkeypatch.setattr(torch, "load", damaged)
    with pytest.raises(CheckpointCorruptError):
        load_checkpoint(path)


def test_every_map_location_form_places_the_tensors(tmp_path):
    path = save_checkpoint({"w": torch.arange(3.0)}, tmp_path / "ckpt.pt")
    for form in ("cpu", torch.device("cpu"), {"cpu": "cpu"}, None,
                 lambda storage, location: storage, lambda storage, location: None):
        assert torch.equal(load_checkpoint(path, map_location=form)["w"], torch.arange(3.0))
    assert load_checkpoint(path, map_location="meta")["w"].is_meta


def test_legacy_format_loads_with_weights_only(tmp_path):
    torch.save({"w": torch.arange(4)}, tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    assert torch.equal(load_checkpoint(tmp_path / "legacy.pt")["w"], torch.arange(4))


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


@pytest.mark.skipif(os.name != "posix", reason="fork and file permissions of POSIX")
def test_unreadable_file():
    folder = Path(tempfile.mkdtemp(prefix="unreadable-"))  # in /tmp, so other users can reach it
    folder.chmod(0o755)
    path = save_checkpoint({"epoch": 1}, folder / "ckpt.pt")
    path.chmod(0)

    def job():
        become_nobody()
        load_checkpoint(path)
        return "loaded"

    message = in_child(job)
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
    monkeypatch.setattr(ckpt_kit.loading, "MMAP_MIN_BYTES", 1000)
    load_checkpoint(path)
    model = load_weights(Net, path)
    assert seen == [False, True, True]
    assert_state_dicts_equal(model.state_dict(), seeded_net().state_dict())
    torch.save({"w": torch.zeros(2)}, tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    with pytest.raises(CheckpointFormatError, match="cannot be memory-mapped"):
        load_checkpoint(tmp_path / "legacy.pt", mmap=True)


def test_a_bad_trusted_entry_gets_a_type_error_that_says_what_to_pass(tmp_path):
    path = save_checkpoint({"w": torch.ones(1)}, tmp_path / "ckpt.pt")
    for bad in ((range,), "Net", 3):
        with pytest.raises(TypeError, match="trusted= takes classes or functions"):
            load_checkpoint(path, trusted=[bad])
    assert load_checkpoint(path, trusted=[(range, "builtins.range"), Net])["w"].item() == 1.0
