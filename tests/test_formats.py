"""ckpt_kit.formats: what kind of file a path holds, and the integrity check of torch's zip
archives, as load_checkpoint and inspect_checkpoint report it."""

from __future__ import annotations

import shutil
import zipfile

import pytest
import torch
import torch.utils.serialization

from ckpt_helpers import (CheckpointCorruptError, inspect_checkpoint, load_checkpoint,
                          save_checkpoint)
from ckpt_kit.formats import (EMPTY, NOT_A_CHECKPOINT, TORCH_ZIP, open_checkpoint_file,
                              verify_zip)


@pytest.fixture
def without_crc32():
    """torch.save writes 0 in every CRC-32 field while this is active (a torch option)."""
    config = torch.utils.serialization.config.save
    config.compute_crc32 = False
    try:
        yield
    finally:
        config.compute_crc32 = True


def _flip_last_byte_of(member: str, path) -> None:
    with zipfile.ZipFile(path) as archive:
        info = next(i for i in archive.infolist() if i.filename.endswith(member))
    data = bytearray(path.read_bytes())
    local = info.header_offset  # the local header's own name and extra lengths (torch pads)
    name_len, extra_len = (int.from_bytes(data[local + i:local + i + 2], "little")
                           for i in (26, 28))
    data[local + 30 + name_len + extra_len + info.file_size - 1] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_file_saved_without_crc32_loads_and_says_it_has_no_checksum(tmp_path, without_crc32):
    ckpt = {"w": torch.arange(6.0).reshape(2, 3), "epoch": 4}
    path = tmp_path / "nocrc.pt"
    torch.save(ckpt, path)
    with zipfile.ZipFile(path) as archive:
        assert {info.CRC for info in archive.infolist()} == {0}  # what makes this case
    oracle = torch.load(path, weights_only=True)
    loaded = load_checkpoint(path)
    assert loaded.keys() == oracle.keys() and torch.equal(loaded["w"], oracle["w"])
    info = inspect_checkpoint(path)
    assert info.integrity.startswith("ok, but no checksum")
    assert "compute_crc32=False" in info.integrity
    with open_checkpoint_file(path) as (file, head):
        check = verify_zip(file, head)
    assert (check.checksums, check.members) == (False, 7)


def test_a_zeroed_crc_among_real_ones_is_still_checked(tmp_path):
    path = save_checkpoint({"w": torch.ones(4)}, tmp_path / "ckpt.pt")
    _flip_last_byte_of("data/0", path)
    with pytest.raises(CheckpointCorruptError) as error:
        load_checkpoint(path)
    assert error.value.reason == "ckpt/data/0 fails its CRC-32 check"


def test_the_reason_of_damage_is_data_not_parsed_from_the_message(tmp_path):
    # a browser download's name has parentheses: the reason must not come from splitting text
    good = save_checkpoint({"w": torch.ones(4)}, tmp_path / "good.pt")
    path = tmp_path / "ckpt (1).pt"
    shutil.copy(good, path)
    _flip_last_byte_of("data/0", path)
    with pytest.raises(CheckpointCorruptError) as error:
        load_checkpoint(path)
    assert error.value.reason == "good/data/0 fails its CRC-32 check"
    assert inspect_checkpoint(path).integrity == "FAILED: good/data/0 fails its CRC-32 check"
    truncated = tmp_path / "ckpt (2).pt"
    truncated.write_bytes(good.read_bytes()[:-100])
    assert inspect_checkpoint(truncated).integrity == (
        "FAILED: it does not end where the zip ends")


@pytest.mark.parametrize("content, expected", [
    (b"", EMPTY), (b"hello, world\n", NOT_A_CHECKPOINT), (b"PK\x03\x04 broken", TORCH_ZIP)])
def test_the_format_comes_from_the_bytes_not_the_name(tmp_path, content, expected):
    path = tmp_path / "weights.safetensors"
    path.write_bytes(content)
    with open_checkpoint_file(path) as (file, head):
        assert (head.format, head.size) == (expected, len(content))
        assert file.tell() == 0  # rewound for the next reader


def test_a_file_shorter_than_a_zip_end_record_is_damaged_not_an_oserror(tmp_path):
    path = tmp_path / "short.pt"
    path.write_bytes(b"PK\x03\x04")
    with open_checkpoint_file(path) as (file, head), pytest.raises(CheckpointCorruptError) as e:
        verify_zip(file, head)
    assert e.value.reason == "shorter than a zip archive"


def test_load_opens_the_file_once(tmp_path, monkeypatch):
    import builtins

    path = save_checkpoint({"w": torch.ones(2)}, tmp_path / "ckpt.pt")
    opened = []
    real_open = builtins.open
    monkeypatch.setattr(builtins, "open",
                        lambda file, *a, **k: opened.append(str(file)) or real_open(file, *a, **k))
    monkeypatch.setattr(torch, "load", lambda *a, **k: {"w": torch.ones(2)})  # torch reads alone
    load_checkpoint(path)
    assert opened.count(str(path)) == 1
