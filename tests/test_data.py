"""data/ is reproducible: the generator rebuilds the committed files byte for byte."""

import hashlib
import re
import subprocess
import sys

import torch

from ckpt_helpers import DATA_DIR, load_data
from conftest import KIT_DIR


def test_generator_reproduces_the_committed_files(tmp_path):
    subprocess.run([sys.executable, str(DATA_DIR / "make_data.py"), "--out", str(tmp_path)],
                   check=True, capture_output=True)
    for name in ("train.csv", "val.csv"):
        assert (tmp_path / name).read_bytes() == (DATA_DIR / name).read_bytes(), name


def test_readme_lists_the_right_checksums():
    readme = (DATA_DIR / "README.md").read_text(encoding="utf-8")
    listed = dict(re.findall(r"`(\w+\.csv)`.*?`([0-9a-f]{64})`", readme))
    assert set(listed) == {"train.csv", "val.csv"}
    for name, digest in listed.items():
        assert hashlib.sha256((DATA_DIR / name).read_bytes()).hexdigest() == digest, name


def test_splits_have_the_documented_shapes_and_differ():
    X_train, y_train = load_data("train")
    X_val, y_val = load_data("val")
    assert X_train.shape == y_train.shape == (512, 10)
    assert X_val.shape == y_val.shape == (128, 10)
    assert X_train.dtype == torch.float32
    assert not torch.isin(X_val[:, 0], X_train[:, 0]).any()  # no sample in both splits


def test_data_folder_holds_only_documented_files():
    tracked = subprocess.run(["git", "ls-files", "data"], cwd=KIT_DIR, capture_output=True,
                             text=True).stdout.split()
    readme = (DATA_DIR / "README.md").read_text(encoding="utf-8")
    for path in tracked:
        name = path.split("/", 1)[1]
        if name == "README.md":
            continue
        assert f"`{name}`" in readme, f"{path} is not described in data/README.md"
