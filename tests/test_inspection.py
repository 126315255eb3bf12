"""ckpt_kit.inspection: inspect_checkpoint says what a file holds without running it."""


from __future__ import annotations

import pickle
import warnings
import zipfile

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

import ckpt_helpers
from ckpt_helpers import (DATA_DIR, CheckpointError,
                          inspect_checkpoint,
                          load_checkpoint, save_checkpoint)

from attack_checkpoints import make_checkpoint
from conftest import PrintOnLoad


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


def test_inspect_verdict_follows_torch_rules_for_protocols(tmp_path):
    # the report of an ordinary file is unchanged; protocol 4 is refused by torch: so by inspect
    state = {"w": torch.zeros(2)}
    torch.save(state, tmp_path / "p2.pt")
    torch.save(state, tmp_path / "p4.pt", pickle_protocol=4)
    torch.save(state, tmp_path / "legacy4.pt", pickle_protocol=4,
               _use_new_zipfile_serialization=False)
    (tmp_path / "plain.pkl").write_bytes(pickle.dumps(state, protocol=2))
    ordinary = inspect_checkpoint(tmp_path / "p2.pt")
    assert ordinary.weights_only_loadable and ordinary.pickle_protocol == 2
    assert "unsafe:    none (weights_only=True can load it)" in str(ordinary)
    for name in ("p4.pt", "legacy4.pt"):
        info = inspect_checkpoint(tmp_path / name)
        assert info.format == (ckpt_helpers.TORCH_ZIP if name == "p4.pt" else
                               ckpt_helpers.TORCH_LEGACY), name
        assert not info.weights_only_loadable and info.pickle_protocol == 4
        assert [(t.name, t.dtype) for t in info.tensors] == [("w", "float32")]
        assert "can load it" not in str(info) and "pickle protocol 4" in str(info)
    plain = inspect_checkpoint(tmp_path / "plain.pkl")
    assert not plain.weights_only_loadable and "can load it" not in str(plain)


def test_a_file_saved_without_crc32s_is_read_to_the_end(tmp_path):
    # compute_crc32=False writes 0 in every CRC field: no checksum to compare, and no damage
    path = tmp_path / "no_crc.pt"
    torch.serialization.set_crc32_options(False)
    try:
        torch.save(ckpt_helpers.Net().state_dict(), path)
    finally:
        torch.serialization.set_crc32_options(True)
    info = inspect_checkpoint(path)
    assert info.pickle_read and info.weights_only_loadable and len(info.tensors) == 4
    assert "no checksum" in info.integrity and not info.notes
