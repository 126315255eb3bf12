"""Helpers for the kit's notebooks on saving and loading PyTorch models.

This is the module the lessons import. It holds what they teach with, each defined once:

- the model: ``Net`` (the classic two-layer network) and ``ReLUNet`` (the same layers with a
  nonlinearity);
- reproducibility: ``seed_everything``, ``choose_device``, ``torch_older_than`` (what a lesson
  says instead of running on an older torch), ``run_fresh_python`` (a real new process),
  ``save_as_if_on`` (a file saved "on" a device this machine may not have);
- data and training: ``load_data``, ``make_loaders``, ``train``, ``evaluate``, ``plot_losses``;
- looking at weights: ``state_dict_summary``, ``state_dicts_equal``, ``compare_state_dicts``,
  ``assert_state_dicts_equal``.

It also re-exports the kit's checkpoint helpers and widgets, which live in the ``ckpt_kit``
package beside it: ``save_checkpoint``, ``load_checkpoint``, ``load_weights``,
``latest_checkpoint``, ``rotate_checkpoints``, ``inspect_checkpoint``, the ``CheckpointError``
family, ``state_dict_explorer`` and ``checkpoint_timeline``. The exercise tooling is a command::

    python -m ckpt_helpers check notebooks/01_define_the_net.ipynb   # a student checks answers
    python -m ckpt_helpers student [--execute]                       # instructor: regenerate
    python -m ckpt_helpers inspect FILE                               # what is in this file?

Importing this module does no work: matplotlib, tqdm and ipywidgets are imported inside the
functions that need them.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from ckpt_kit.environment import release
from ckpt_kit.errors import (CheckpointCorruptError, CheckpointDeviceError, CheckpointError,
                             CheckpointFormatError, CheckpointMismatchError,
                             CheckpointNotFoundError, CheckpointWriteError, UnsafeCheckpointError)
from ckpt_kit.formats import (EXPORT_PT2, NOT_A_CHECKPOINT, OTHER_ZIP, PICKLE, SAFETENSORS,
                              TORCH_LEGACY, TORCH_ZIP, TORCHSCRIPT)
from ckpt_kit.inspection import CheckpointInfo, TensorInfo, inspect_checkpoint
from ckpt_kit.loading import MMAP_MIN_BYTES, latest_checkpoint, load_checkpoint, load_weights
from ckpt_kit.paths import DATA_DIR, KIT_DIR, NOTEBOOKS_DIR, SOLUTIONS_DIR
from ckpt_kit.saving import rotate_checkpoints, save_checkpoint
from ckpt_kit.state_dicts import state_dict_tensors
from ckpt_kit.terminal import strip_ansi
from ckpt_kit.widgets import checkpoint_timeline, state_dict_explorer, tensor_stats

if TYPE_CHECKING:  # only for type hints: matplotlib costs time to import
    from matplotlib.figure import Figure

__all__ = [
    # the lessons' own helpers, defined here
    "Net", "ReLUNet", "N_FEATURES", "N_TARGETS", "seed_everything", "choose_device",
    "torch_older_than", "run_fresh_python", "save_as_if_on", "load_data", "make_loaders", "train",
    "evaluate", "plot_losses", "state_dict_summary", "state_dicts_equal", "compare_state_dicts",
    "assert_state_dicts_equal",
    # checkpoints, safely (ckpt_kit.saving, .loading, .inspection, .errors, .formats)
    "save_checkpoint", "load_checkpoint", "load_weights", "latest_checkpoint",
    "rotate_checkpoints", "inspect_checkpoint", "CheckpointInfo", "TensorInfo", "MMAP_MIN_BYTES",
    "CheckpointError", "CheckpointNotFoundError", "CheckpointCorruptError",
    "UnsafeCheckpointError", "CheckpointDeviceError", "CheckpointFormatError",
    "CheckpointWriteError", "CheckpointMismatchError", "TORCH_ZIP", "TORCH_LEGACY",
    "TORCHSCRIPT", "EXPORT_PT2", "SAFETENSORS", "PICKLE", "OTHER_ZIP", "NOT_A_CHECKPOINT",
    # widgets (ckpt_kit.widgets)
    "state_dict_explorer", "checkpoint_timeline", "tensor_stats",
    # where things are (ckpt_kit.paths)
    "KIT_DIR", "DATA_DIR", "NOTEBOOKS_DIR", "SOLUTIONS_DIR",
]

N_FEATURES = 10  # inputs of Net (columns x0..x9 of data/*.csv)
N_TARGETS = 10  # outputs of Net (columns y0..y9)


# --- the model ------------------------------------------------------------------------------


class Net(nn.Module):
    """The classic network of the popular tutorial: two linear layers, nothing between them.

    >>> Net()(torch.zeros(4, 10)).shape
    torch.Size([4, 10])
    """

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(10, 20)
        self.fc2 = nn.Linear(20, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.fc1(x))


class ReLUNet(Net):
    """``Net`` with a ReLU between its layers: same parameters, same state_dict keys.

    Two linear layers in a row equal one linear layer; the ReLU is what lets depth pay off.

    >>> sorted(ReLUNet().state_dict()) == sorted(Net().state_dict())
    True
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(x)))


# --- reproducibility --------------------------------------------------------------------------


def seed_everything(seed: int = 0) -> None:
    """Seed Python's, torch's (CPU and all GPUs) and, if it is imported, numpy's generators.

    >>> seed_everything(0); a = torch.rand(1); seed_everything(0); torch.equal(a, torch.rand(1))
    True
    """
    random.seed(seed)
    torch.manual_seed(seed)
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed(seed)


def choose_device() -> torch.device:
    """The best device this machine has: CUDA, then Apple's MPS, then the CPU.

    >>> choose_device().type in {"cuda", "mps", "cpu"}
    True
    """
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def torch_older_than(version: str) -> bool:
    """True if the installed torch's release number is below ``version`` ("2.8", "2.8.1", ...).

    Only the release numbers count (``ckpt_kit.environment.release``): a local build tag
    ("+cpu") or a pre-release suffix ("2.8.0a0") does not make a torch older. The lessons use it
    to say what differs on an older torch instead of running what it lacks.

    >>> torch_older_than("2.0"), torch_older_than("999")
    (False, True)
    """
    return release(torch.__version__) < release(version)


_FRESH_WRAPPER = r"""
import sys as _sys
import warnings as _warnings

# warnings as "Category: message", without the file paths that differ between machines
_warnings.formatwarning = lambda message, category, *args, **kwargs: (
    f"{category.__name__}: {message}\n")
_code = _sys.stdin.read()
try:
    exec(compile(_code, "<fresh process>", "exec"), _sys.modules["__main__"].__dict__)
except BaseException as _error:
    _kind = type(_error)
    _name = _kind.__qualname__ if _kind.__module__ == "builtins" else (
        f"{_kind.__module__}.{_kind.__qualname__}")
    print(f"{_name}: {_error}", flush=True)
    _sys.exit(1)
"""


def run_fresh_python(code: str, *, cwd: str | Path | None = None, timeout: float = 120) -> str:
    """Run ``code`` in a new Python process; return what it printed, then its error, if any.

    A fresh process has none of the notebook's classes or imports: it meets a saved file as
    another program (or you, tomorrow) would. The code runs as ``__main__`` in ``cwd`` (default:
    the current folder). An exception ends the output as ``ExceptionType: message``; warnings
    print as ``Category: message``; colour codes are removed, so the text is stable.

    >>> print(run_fresh_python("print(6 * 7)"))
    42
    >>> print(run_fresh_python("import json; json.loads('{')").splitlines()[-1][:34])
    json.decoder.JSONDecodeError: Expe
    """
    if not isinstance(code, str):
        raise TypeError(f"code must be Python source text (a str), not {type(code).__name__}")
    if cwd is not None and not Path(cwd).is_dir():
        raise FileNotFoundError(f"cwd {cwd} is not a folder: pass an existing one, or None")
    env = dict(os.environ, PYTHONUNBUFFERED="1")  # keeps prints and warnings in order
    try:
        proc = subprocess.run([sys.executable, "-c", _FRESH_WRAPPER], input=code, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=cwd, env=env,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        raise TimeoutError(f"the fresh process ran longer than {timeout} s: pass a larger "
                           "timeout, or check the code for an endless loop") from None
    return strip_ansi(proc.stdout).rstrip()


def save_as_if_on(tag: str, obj: object, path: str | Path) -> None:
    """``torch.save(obj, path)`` with every storage tagged ``tag``: simulates a file saved on a
    device this machine may not have (e.g. ``"cuda:1"``), for lessons and fixtures.

    ``torch.save`` asks ``torch.serialization.location_tag`` for each storage's tag; it is
    replaced for this one save and put back afterwards, even if the save fails.

    >>> import tempfile; path = Path(tempfile.mkdtemp()) / "t.pt"
    >>> save_as_if_on("cuda:1", {"w": torch.ones(1)}, path)
    >>> tags = []; _ = torch.load(path, map_location=lambda s, tag: tags.append(tag) or s,
    ...                           weights_only=True); tags
    ['cuda:1']
    """
    if not isinstance(tag, str) or not tag:
        raise TypeError(f"tag must be a location tag such as 'cuda:0', not {tag!r}")
    original = torch.serialization.location_tag
    torch.serialization.location_tag = lambda storage: tag
    try:
        torch.save(obj, path)
    finally:
        torch.serialization.location_tag = original


# --- data and training ------------------------------------------------------------------------


def load_data(split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
    """Read ``data/{split}.csv`` and return ``(X, y)``, float32 tensors of shape ``(N, 10)``.

    >>> X, y = load_data("val"); X.shape, y.shape
    (torch.Size([128, 10]), torch.Size([128, 10]))
    """
    if split not in ("train", "val"):
        raise ValueError(f"split must be 'train' or 'val', not {split!r}")
    path = DATA_DIR / f"{split}.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: recreate it with `python data/make_data.py`")
    lines = path.read_text(encoding="utf-8").splitlines()[1:]  # skip the header
    rows = torch.tensor([[float(v) for v in line.split(",")] for line in lines])
    return rows[:, :N_FEATURES].contiguous(), rows[:, N_FEATURES:].contiguous()


def make_loaders(batch_size: int = 32, seed: int = 0) -> tuple[DataLoader, DataLoader]:
    """Training loader (shuffled by its own seeded generator) and validation loader.

    The shuffle order depends only on ``seed``, so two runs see the batches in the same order.

    >>> train_loader, val_loader = make_loaders(); len(train_loader.dataset)
    512
    """
    shuffle_rng = torch.Generator().manual_seed(seed)
    train_loader = DataLoader(
        TensorDataset(*load_data("train")), batch_size=batch_size, shuffle=True,
        generator=shuffle_rng,
    )
    val_loader = DataLoader(TensorDataset(*load_data("val")), batch_size=batch_size)
    return train_loader, val_loader


def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def evaluate(model: nn.Module, loader: DataLoader, loss_fn: nn.Module | None = None) -> float:
    """Mean loss (MSE by default) of ``model`` over ``loader``, in eval mode, without autograd.

    The model's train/eval mode is restored afterwards.

    >>> round(evaluate(Net(), make_loaders()[1]), 1) > 0
    True
    """
    loss_fn = loss_fn if loss_fn is not None else nn.MSELoss()
    device, was_training = _device_of(model), model.training
    model.eval()
    total, count = 0.0, 0
    with torch.inference_mode():
        for X, y in loader:
            X, y = X.to(device), y.to(device)
            total += loss_fn(model(X), y).item() * len(X)
            count += len(X)
    model.train(was_training)
    return total / count


def train(
    model: nn.Module,
    train_loader: DataLoader,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    *,
    loss_fn: nn.Module | None = None,
    val_loader: DataLoader | None = None,
    progress: bool = True,
) -> dict[str, list[float]]:
    """Train for ``epochs`` epochs and return the loss history, one value per epoch.

    Batches are moved to the device the model is on. ``history["train"]`` holds the mean
    training loss of each epoch, ``history["val"]`` (with ``val_loader``) the validation loss
    after it. The progress bar is a widget in Jupyter and text in a terminal;
    ``progress=False`` silences it.

    >>> model = Net(); opt = torch.optim.SGD(model.parameters(), lr=0.01)
    >>> len(train(model, make_loaders()[0], opt, epochs=2, progress=False)["train"])
    2
    """
    from tqdm.auto import tqdm

    loss_fn = loss_fn if loss_fn is not None else nn.MSELoss()
    device = _device_of(model)
    history: dict[str, list[float]] = {"train": []}
    if val_loader is not None:
        history["val"] = []
    bar = tqdm(range(epochs), desc="training", unit="epoch", disable=not progress)
    for _ in bar:
        model.train()
        total, count = 0.0, 0
        for X, y in train_loader:
            X, y = X.to(device), y.to(device)
            optimizer.zero_grad()
            loss = loss_fn(model(X), y)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(X)  # .item(): a float, not a tensor holding the graph
            count += len(X)
        history["train"].append(total / count)
        if val_loader is not None:
            history["val"].append(evaluate(model, val_loader, loss_fn))
        bar.set_postfix(loss=f"{history['train'][-1]:.4f}")
    return history


def plot_losses(
    curves: Mapping[str, Sequence[float]], *, title: str = "", log_scale: bool = True
) -> Figure:
    """Plot loss curves (name -> one value per epoch) and return the figure.

    A ``history`` from ``train`` is such a mapping; end a cell with the call to show the plot.

    >>> fig = plot_losses({"train": [1.0, 0.5], "val": [1.1, 0.6]}); len(fig.axes)
    1
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, values in curves.items():
        ax.plot(range(1, len(values) + 1), values, label=name)
    ax.set(xlabel="epoch", ylabel="loss", title=title)
    if log_scale:
        ax.set_yscale("log")
    ax.legend()
    fig.tight_layout()
    plt.close(fig)  # returned, not shown twice: the cell's result displays it once
    return fig


# --- looking at weights -----------------------------------------------------------------------


def state_dict_summary(state_dict: Mapping[str, torch.Tensor]) -> str:
    """A table of a state_dict: one row per tensor (name, shape, dtype, device, bytes) + total.

    >>> print(state_dict_summary(Net().state_dict()))
    name              shape     dtype    device  bytes
    fc1.weight        [20, 10]  float32  cpu       800
    fc1.bias          [20]      float32  cpu        80
    fc2.weight        [10, 20]  float32  cpu       800
    fc2.bias          [10]      float32  cpu        40
    total: 4 tensors                              1720
    """
    tensors = state_dict_tensors(state_dict, "state_dict")
    rows = [("name", "shape", "dtype", "device", "bytes")]
    for key, t in tensors.items():
        rows.append((key, str(list(t.shape)), str(t.dtype).removeprefix("torch."),
                     str(t.device), str(t.numel() * t.element_size())))
    total = sum(t.numel() * t.element_size() for t in tensors.values())
    rows.append((f"total: {len(tensors)} tensors", "", "", "", str(total)))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(w) if i < 4 else cell.rjust(w)
                       for i, (cell, w) in enumerate(zip(row, widths))) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def compare_state_dicts(a: Mapping[str, torch.Tensor], b: Mapping[str, torch.Tensor]) -> list[str]:
    """Every difference between two state_dicts: keys, shapes, dtypes, values. Empty if equal.

    Values are compared exactly (``torch.equal``) on the CPU, so the same weights on two
    devices count as equal.

    >>> a = Net().state_dict(); b = {k: v.clone() for k, v in a.items()}
    >>> compare_state_dicts(a, b)
    []
    >>> b["fc2.bias"] += 0.5; del b["fc1.bias"]; compare_state_dicts(a, b)
    ['fc1.bias: only in a', 'fc2.bias: values differ (max abs difference 0.5)']
    """
    ta, tb = state_dict_tensors(a, "a"), state_dict_tensors(b, "b")
    problems = [f"{k}: only in a" for k in ta if k not in tb]
    problems += [f"{k}: only in b" for k in tb if k not in ta]
    for key in (k for k in ta if k in tb):
        x, y = ta[key].detach().cpu(), tb[key].detach().cpu()
        if x.shape != y.shape:
            problems.append(f"{key}: shape {list(x.shape)} vs {list(y.shape)}")
        elif x.dtype != y.dtype:
            problems.append(f"{key}: dtype {x.dtype} vs {y.dtype}")
        elif not torch.equal(x, y):
            diff = (x.double() - y.double()).abs().max().item() if x.numel() else 0.0
            problems.append(f"{key}: values differ (max abs difference {diff:.4g})")
    return problems


def state_dicts_equal(a: Mapping[str, torch.Tensor], b: Mapping[str, torch.Tensor]) -> bool:
    """True when two state_dicts have the same keys, shapes, dtypes and values (exactly).

    >>> sd = Net().state_dict(); state_dicts_equal(sd, {k: v.clone() for k, v in sd.items()})
    True
    >>> state_dicts_equal(sd, Net().state_dict())  # another random initialisation
    False
    """
    return not compare_state_dicts(a, b)


def assert_state_dicts_equal(a: Mapping[str, torch.Tensor], b: Mapping[str, torch.Tensor]) -> None:
    """Raise ``AssertionError`` listing every difference unless the state_dicts are equal.

    >>> sd = Net().state_dict(); assert_state_dicts_equal(sd, sd)
    """
    problems = compare_state_dicts(a, b)
    if problems:
        raise AssertionError("state_dicts differ:\n  " + "\n  ".join(problems))


if __name__ == "__main__":
    from ckpt_kit.cli import main

    sys.exit(main())
