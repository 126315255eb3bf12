"""Generate the small checkpoint files the lessons open: one per way a real checkpoint surprises
you.

    python data/make_fixtures.py            # (re)write the data/*.pt fixtures
    python data/make_fixtures.py --out DIR  # write them somewhere else (the tests do this)

Every fixture holds the same weights: those of ``torch.manual_seed(0); Net()``, with ``Net``
from ckpt_helpers, so a lesson can prove that it recovered them exactly.

- ``net_cuda.pt``: a state_dict whose storages carry the location tag ``cuda:0``, as a file
  saved on a GPU does. Made on a CPU-only machine with ``ckpt_helpers.save_as_if_on``, which
  replaces ``torch.serialization.location_tag`` during ``torch.save`` so each storage is
  recorded as ``cuda:0``. Loading it runs
  torch's real CUDA checks: on a machine without CUDA it raises the real error.
- ``net_module_prefix.pt``: ``nn.DataParallel(model).state_dict()``: every key starts with
  ``module.``, as in files saved from DataParallel or DistributedDataParallel.
- ``net_orig_mod_prefix.pt``: ``torch.compile(model).state_dict()``: every key starts with
  ``_orig_mod.`` (nothing is compiled: building the wrapper is enough).
- ``net_whole_kit_v1.pt``: a whole pickled model (``torch.save(model)``) whose class lived at
  ``kit_v1.models.Net``, a module that no longer exists: an old pickle after a refactor.

``torch.save`` writes a random ``.data/serialization_id`` into every archive, so regenerated
files differ from the committed ones in that member only; ``tests/test_data.py`` compares all
the others.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch
from torch import nn

from ckpt_helpers import Net, save_as_if_on

HERE = Path(__file__).resolve().parent
SEED = 0  # every fixture holds the weights of torch.manual_seed(SEED); Net()

OLD_MODULE = '''\
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(10, 20)
        self.fc2 = nn.Linear(20, 10)

    def forward(self, x):
        return self.fc2(self.fc1(x))
'''


def seeded_net() -> Net:
    """The model every fixture is made from."""
    torch.manual_seed(SEED)
    return Net()


def save_whole_model_of_old_class(path: Path) -> None:
    """Pickle a whole model whose class is ``kit_v1.models.Net``, then forget that module."""
    with tempfile.TemporaryDirectory() as tmp:
        package = Path(tmp) / "kit_v1"
        package.mkdir()
        (package / "__init__.py").write_text("")
        (package / "models.py").write_text(OLD_MODULE)
        sys.path.insert(0, tmp)
        try:
            from kit_v1.models import Net as OldNet

            model = OldNet()
            model.load_state_dict(seeded_net().state_dict())
            torch.save(model, path)
        finally:
            sys.path.remove(tmp)
            for name in ("kit_v1.models", "kit_v1"):
                sys.modules.pop(name, None)


def generate(out_dir: Path) -> list[Path]:
    """Write every fixture into ``out_dir`` and return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {name: out_dir / name for name in (
        "net_cuda.pt", "net_module_prefix.pt", "net_orig_mod_prefix.pt", "net_whole_kit_v1.pt")}
    save_as_if_on("cuda:0", seeded_net().state_dict(), paths["net_cuda.pt"])
    torch.save(nn.DataParallel(seeded_net()).state_dict(), paths["net_module_prefix.pt"])
    torch.save(torch.compile(seeded_net()).state_dict(), paths["net_orig_mod_prefix.pt"])
    save_whole_model_of_old_class(paths["net_whole_kit_v1.pt"])
    return list(paths.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="folder to write into")
    args = parser.parse_args()
    for path in generate(args.out):
        print(path.name)


if __name__ == "__main__":
    main()
