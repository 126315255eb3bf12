"""data/ is reproducible: the generator rebuilds the committed files byte for byte."""

import hashlib
import re
import subprocess
import sys
import zipfile

import torch

from ckpt_helpers import DATA_DIR, Net, assert_state_dicts_equal, load_data
from ckpt_kit.paths import KIT_DIR


def test_generator_reproduces_the_committed_files(tmp_path):
    subprocess.run([sys.executable, str(DATA_DIR / "make_data.py"), "--out", str(tmp_path)],
                   check=True, capture_output=True)
    for name in ("train.csv", "val.csv"):
        assert (tmp_path / name).read_bytes() == (DATA_DIR / name).read_bytes(), name


def test_readme_lists_the_right_checksums():
    readme = (DATA_DIR / "README.md").read_text(encoding="utf-8")
    names = r"`(\w+\.(?:csv|pt|ckpt|bin|safetensors))`"
    listed = dict(re.findall(names + r".*?`([0-9a-f]{64})`", readme))
    assert set(listed) == {"train.csv", "val.csv", "net_cuda.pt", "net_module_prefix.pt",
                           "net_orig_mod_prefix.pt", "net_whole_kit_v1.pt", "lightning_tiny.ckpt",
                           "transformers_tiny_pytorch_model.bin",
                           "transformers_tiny_model.safetensors"}
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
    # every file in data/, as it is on disk (a clone or a downloaded zip alike), is documented
    files = sorted(p.name for p in DATA_DIR.iterdir()
                   if p.is_file() and p.name != "README.md" and not p.name.startswith("."))
    assert {"train.csv", "make_data.py", "make_fixtures.py"} <= set(files), files
    readme = (DATA_DIR / "README.md").read_text(encoding="utf-8")
    for name in files:
        assert f"`{name}`" in readme, f"data/{name} is not described in data/README.md"
    if (KIT_DIR / ".git").exists():  # in a clone, nothing documented is left untracked
        tracked = subprocess.run(["git", "ls-files", "data"], cwd=KIT_DIR, capture_output=True,
                                 text=True, check=True).stdout.split()
        assert sorted(path.split("/", 1)[1] for path in tracked) == sorted([*files, "README.md"])


def _members(path):
    """Every member of a torch zip archive but the random serialization id."""
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()
                if not name.endswith(".data/serialization_id")}


def test_fixture_generator_reproduces_the_committed_checkpoints(tmp_path):
    subprocess.run([sys.executable, str(DATA_DIR / "make_fixtures.py"), "--out", str(tmp_path)],
                   check=True, capture_output=True)
    made = sorted(p.name for p in tmp_path.glob("*.pt"))
    assert made == sorted(p.name for p in DATA_DIR.glob("*.pt"))
    for name in made:
        assert _members(tmp_path / name) == _members(DATA_DIR / name), name


def test_fixtures_hold_the_seeded_weights_under_their_surprises():
    torch.manual_seed(0)
    expected = Net().state_dict()
    assert_state_dicts_equal(
        torch.load(DATA_DIR / "net_cuda.pt", map_location="cpu", weights_only=True), expected)
    for name, prefix in (("net_module_prefix.pt", "module."),
                         ("net_orig_mod_prefix.pt", "_orig_mod.")):
        sd = torch.load(DATA_DIR / name, map_location="cpu", weights_only=True)
        assert all(key.startswith(prefix) for key in sd)
        assert_state_dicts_equal({k.removeprefix(prefix): v for k, v in sd.items()}, expected)
    needed = torch.serialization.get_unsafe_globals_in_checkpoint(
        DATA_DIR / "net_whole_kit_v1.pt")
    assert "kit_v1.models.Net" in needed
