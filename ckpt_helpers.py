"""Helpers for the kit's notebooks on saving and loading PyTorch models.

Each function is defined once here and imported by every lesson that uses it:

- the model: ``Net`` (the classic two-layer network) and ``ReLUNet`` (the same layers with a
  nonlinearity);
- reproducibility: ``seed_everything``, ``choose_device``, ``run_fresh_python``,
  ``save_as_if_on``;
- data and training: ``load_data``, ``make_loaders``, ``train``, ``evaluate``, ``plot_losses``;
- looking at weights: ``state_dict_summary``, ``compare_state_dicts``,
  ``assert_state_dicts_equal``;
- checkpoints, safely: ``save_checkpoint`` (crash-proof), ``load_checkpoint`` (verified,
  ``weights_only=True``, every failure a ``CheckpointError``), ``inspect_checkpoint`` (what a file
  holds, without running it), ``latest_checkpoint``, ``rotate_checkpoints``, and ``load_weights``
  (into a model, by name; the meta-device fast path for big checkpoints);
- widgets: ``state_dict_explorer`` (a tensor's statistics and histogram) and
  ``checkpoint_timeline`` (a slider over a run's checkpoints: loss curve and predictions);
- exercises: ``make_student_notebook`` and ``check_notebook``, also as commands::

      python -m ckpt_helpers check notebooks/01_define_the_net.ipynb   # a student checks answers
      python -m ckpt_helpers student [--execute]                       # instructor: regenerate
      python -m ckpt_helpers inspect FILE                               # what is in this file?

Importing this module does no work: matplotlib, tqdm, ipywidgets, nbformat and pytest are imported
inside the functions that need them.
"""

from __future__ import annotations

import _compat_pickle
import argparse
import contextlib
import copy
import errno
import io
import json
import math
import os
import pickle
import random
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

if TYPE_CHECKING:  # only for type hints: these imports cost time and are not always needed
    from matplotlib.figure import Figure
    from nbformat import NotebookNode

KIT_DIR = Path(__file__).resolve().parent
DATA_DIR = KIT_DIR / "data"
NOTEBOOKS_DIR = KIT_DIR / "notebooks"
SOLUTIONS_DIR = NOTEBOOKS_DIR / "solutions"
SANITIZE_FILE = KIT_DIR / "nbval_sanitize.cfg"

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
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


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
    return _ANSI.sub("", proc.stdout).rstrip()


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


def _tensor_items(state_dict: Mapping[str, Any], name: str) -> dict[str, torch.Tensor]:
    """The tensors of a model's state_dict, or a TypeError that says what to pass instead."""
    if isinstance(state_dict, nn.Module):
        raise TypeError(f"{name} is a model ({type(state_dict).__name__}): pass its weights, "
                        "`model.state_dict()`")
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"{name} must be a state_dict (a dict of tensors), not "
                        f"{type(state_dict).__name__}")
    for key, value in state_dict.items():
        if not isinstance(value, torch.Tensor):
            raise TypeError(
                f"{name}[{key!r}] is a {type(value).__name__}, not a tensor: pass a model's "
                "state_dict (an optimizer's state_dict or a whole checkpoint nests its tensors; "
                "pass the part that maps names to tensors, e.g. ckpt['model'])"
            )
    return dict(state_dict)


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
    tensors = _tensor_items(state_dict, "state_dict")
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
    ta, tb = _tensor_items(a, "a"), _tensor_items(b, "b")
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


def assert_state_dicts_equal(a: Mapping[str, torch.Tensor], b: Mapping[str, torch.Tensor]) -> None:
    """Raise ``AssertionError`` listing every difference unless the state_dicts are equal.

    >>> sd = Net().state_dict(); assert_state_dicts_equal(sd, sd)
    """
    problems = compare_state_dicts(a, b)
    if problems:
        raise AssertionError("state_dicts differ:\n  " + "\n  ".join(problems))


# --- saving and loading checkpoints safely ----------------------------------------------------
# save_checkpoint never leaves a half-written file at its path; load_checkpoint only ever
# unpickles with weights_only=True and checks the CRC-32 of every zip member first, because
# torch.load itself does not (a flipped bit in a tensor loads silently). Every failure is a
# CheckpointError whose message says what to do, with the original error as its __cause__.


class CheckpointError(Exception):
    """Base of every error raised by the checkpoint helpers; the original error is __cause__."""


class CheckpointNotFoundError(CheckpointError):
    """The path does not exist, is a folder, or cannot be read."""


class CheckpointCorruptError(CheckpointError):
    """The file is truncated or damaged: it fails its integrity check or cannot be parsed."""


class UnsafeCheckpointError(CheckpointError):
    """The file needs classes or functions that ``weights_only=True`` refuses; see ``.globals``."""

    def __init__(self, message: str, globals_: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.globals = list(globals_)


class CheckpointDeviceError(CheckpointError):
    """The file was saved on a device this machine does not have; pass ``map_location``."""


class CheckpointFormatError(CheckpointError):
    """Not a torch.save checkpoint holding a dict (safetensors, .pt2, TorchScript, text...)."""


class CheckpointWriteError(CheckpointError):
    """The save could not complete; the previous file at the path is untouched."""


# What inspect_checkpoint reports as CheckpointInfo.format.
TORCH_ZIP = "torch zip"
TORCH_LEGACY = "legacy torch"
TORCHSCRIPT = "TorchScript archive"
EXPORT_PT2 = "torch.export .pt2"
SAFETENSORS = "safetensors"
PICKLE = "plain pickle"
OTHER_ZIP = "zip archive, not a checkpoint"
NOT_A_CHECKPOINT = "not a checkpoint"

MMAP_MIN_BYTES = 64 * 2**20  # load_checkpoint memory-maps files this big by default
_LEGACY_MAGIC = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"  # torch's magic number
_TEMP_NAME = re.compile(r"\.(?P<name>.+)\.(?P<pid>\d+)\.[0-9a-f]{8}\.tmp")
_FORMAT_ADVICE = {
    TORCHSCRIPT: "a TorchScript archive: it contains code and TorchScript is deprecated. If you "
                 "trust it, torch.jit.load it once and re-save its state_dict with torch.save",
    EXPORT_PT2: "a torch.export program: load it with torch.export.load, and only if you trust it "
                "(loading it unpickles with weights_only=False)",
    SAFETENSORS: "a safetensors file: load it with safetensors.torch.load_file(path)",
    PICKLE: "a plain pickle, not a torch.save checkpoint: it can run code when loaded; do not "
            "load it unless you trust its source",
    OTHER_ZIP: "a zip archive without the data.pkl that torch.save writes",
    NOT_A_CHECKPOINT: "not a checkpoint (no torch, safetensors or pickle header): check the path",
}


def _existing_file(path: str | Path) -> Path:
    """``path`` as a Path, or CheckpointNotFoundError saying why it cannot be read."""
    path = Path(path)
    if not path.exists():
        hint = ""
        if path.parent.is_dir():
            near = sorted(p.name for p in path.parent.iterdir() if p.suffix == path.suffix)[:5]
            hint = f" Files like it in {path.parent}: {', '.join(near)}." if near else ""
        raise CheckpointNotFoundError(f"No checkpoint at {path}: check the path.{hint}")
    if path.is_dir():
        raise CheckpointNotFoundError(
            f"{path} is a folder, not a checkpoint file: pass the file inside it "
            f"(latest_checkpoint({str(path)!r}) finds the newest one).")
    try:
        with open(path, "rb"):
            pass
    except OSError as error:
        raise CheckpointNotFoundError(f"Cannot read {path} ({error.strerror}): check its "
                                      "permissions.") from error
    return path


def _zip_format(names: Sequence[str]) -> str:
    """Which kind of torch zip archive has these member names."""
    roots = {n.split("/", 1)[1] for n in names if "/" in n}
    if "archive_format" in roots:
        return EXPORT_PT2
    if "constants.pkl" in roots or any(r.startswith("code/") for r in roots):
        return TORCHSCRIPT
    return TORCH_ZIP if "data.pkl" in roots else OTHER_ZIP


def _sniff(path: Path) -> str:
    """The format of the file at ``path``, from its first bytes (and zip member names)."""
    with open(path, "rb") as f:
        head = f.read(16)
        size = os.fstat(f.fileno()).st_size
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        try:
            with zipfile.ZipFile(path) as archive:
                return _zip_format(archive.namelist())
        except Exception:  # a damaged zip: torch.save wrote it, most likely
            return TORCH_ZIP
    if head.startswith(_LEGACY_MAGIC):
        return TORCH_LEGACY
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return PICKLE
    header_len = int.from_bytes(head[:8], "little") if len(head) >= 9 else 0
    if 2 <= header_len <= size - 8 and head[8:9] == b"{":
        return SAFETENSORS
    return NOT_A_CHECKPOINT


def _verify_zip(path: Path, torch_save: bool = True) -> int:
    """Check the archive torch.save wrote: its structure and every member's CRC-32.

    Returns the number of members; raises CheckpointCorruptError on any damage.
    """
    damaged = (f"{path} is damaged or truncated ({{}}). Use an earlier checkpoint or copy the "
               "file again.")
    try:
        with open(path, "rb") as f:
            f.seek(-22, os.SEEK_END)
            end = f.read(22)
        # torch.save ends the file with an end-of-central-directory record and no comment
        if end[:4] != b"PK\x05\x06" or end[20:22] != b"\0\0":
            raise CheckpointCorruptError(damaged.format("it does not end where the zip ends"))
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if len(set(names)) != len(names):
                raise CheckpointCorruptError(damaged.format("duplicate members"))
            # torch's zip reader returns no bytes for a member flagged as a folder, and loads
            # whatever memory held: torch.save never writes one
            folders = [i.filename for i in archive.infolist() if i.is_dir() or
                       i.external_attr & 0x10]
            if folders:
                raise CheckpointCorruptError(damaged.format(f"{folders[0]} is marked as a folder"))
            bad = archive.testzip()
    except CheckpointError:
        raise
    except Exception as error:
        raise CheckpointCorruptError(damaged.format(f"{type(error).__name__}: {error}")) from error
    if bad is not None:
        raise CheckpointCorruptError(damaged.format(f"{bad} fails its CRC-32 check"))
    if torch_save and _zip_format(names) != TORCH_ZIP:
        raise CheckpointCorruptError(damaged.format("no data.pkl member"))
    return len(names)


def _pid_alive(pid: int) -> bool:
    if os.name != "posix":  # no cheap check elsewhere: assume alive
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _remove_stale_temps(path: Path) -> list[Path]:
    """Delete temp folders an earlier save_checkpoint to ``path`` left when its process died."""
    removed = []
    for entry in path.parent.iterdir():
        match = _TEMP_NAME.fullmatch(entry.name)
        if match and match["name"] == path.name and not _pid_alive(int(match["pid"])):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY if path.is_dir() else os.O_RDWR)  # Windows fsyncs writable fds
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _flushing(path: Path, every: float = 0.01) -> Iterator[None]:
    """While the block writes ``path``, push its written pages to disk in a background thread,
    so that the fsync after the write has little left to do."""
    import threading

    sync = getattr(os, "fdatasync", os.fsync)
    done = threading.Event()

    def flush() -> None:
        while not done.wait(every):
            try:
                fd = os.open(path, os.O_RDWR)
            except OSError:
                continue  # not created yet
            try:
                while not done.wait(every):
                    sync(fd)
            except OSError:
                return  # flushing early is an optimisation only: the final fsync still runs
            finally:
                os.close(fd)

    thread = threading.Thread(target=flush, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def _numbered(name: str) -> re.Pattern[str]:
    """``epoch_0007.pt`` -> a pattern matching ``epoch_<digits>.pt``."""
    parts = re.split(r"\d+", name)
    if len(parts) == 1:
        raise ValueError(f"keep= needs numbered file names such as epoch_0007.pt, got {name!r}")
    return re.compile(r"\d+".join(re.escape(part) for part in parts))


def _write_advice(error: Exception, folder: Path) -> str:
    """What to do about a failed save, from the error it raised."""
    if isinstance(error, (pickle.PicklingError, AttributeError, TypeError)):
        return ("save only tensors, state_dicts and plain Python values (lambdas, open files and "
                "classes defined inside functions cannot be pickled)")
    if isinstance(error, OSError) and error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"you cannot write in {folder}: save to a folder you own, or fix its permissions"
    try:
        free = f"{shutil.disk_usage(folder).free / 2**20:,.0f} MiB free there"
    except OSError:
        free = "free space unknown"
    return f"writing failed, so the disk may be full ({free}): free some space or save elsewhere"


def save_checkpoint(path: str | Path, checkpoint: Mapping[str, Any], *,
                    keep: int | None = None) -> Path:
    """Save ``checkpoint`` (a dict) to ``path`` so that a crash never destroys the previous file.

    It writes a temp file in the same folder, fsyncs it, renames it over ``path`` and fsyncs the
    folder; temp files of saves that died earlier are removed. The zip's CRC-32s let
    ``load_checkpoint`` detect later corruption. With ``keep=K`` and numbered names
    (``epoch_0007.pt``), it verifies the new file, then deletes all but the K newest.

    >>> import tempfile; folder = Path(tempfile.mkdtemp())
    >>> save_checkpoint(folder / "ckpt.pt", {"epoch": 3}).name
    'ckpt.pt'
    """
    path = Path(path)
    if not isinstance(checkpoint, Mapping):
        raise TypeError(f"save_checkpoint saves a dict, got {type(checkpoint).__name__}: "
                        "wrap it, e.g. {'model': model.state_dict()}")
    if keep is not None and keep < 1:
        raise ValueError(f"keep must be at least 1, got {keep}")
    pattern = _numbered(path.name) if keep is not None else None
    try:
        if path.is_dir():
            raise CheckpointWriteError(f"{path} is a folder: pass a file name such as "
                                       f"{path / 'checkpoint.pt'}")
        if not path.parent.is_dir():
            raise CheckpointWriteError(f"The folder {path.parent} does not exist: create it "
                                       "first with Path(folder).mkdir(parents=True, exist_ok=True)")
        _remove_stale_temps(path)
    except OSError as error:
        raise CheckpointWriteError(f"Cannot use the folder {path.parent} ({error.strerror}): "
                                   f"{_write_advice(error, path.parent)}.") from error
    # The temp file has the final name inside a temp folder, so the archive's inner folder name
    # is the one torch.save(path) would write; the rename out of it is still atomic.
    temp_dir = path.parent / f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    temp = temp_dir / path.name
    try:
        temp_dir.mkdir()
        with _flushing(temp):
            torch.save(checkpoint, str(temp))
        _fsync(temp)
        os.replace(temp, path)
        with contextlib.suppress(OSError):  # folders cannot be opened on Windows
            _fsync(path.parent)
    except BaseException as error:
        shutil.rmtree(temp_dir, ignore_errors=True)
        if not isinstance(error, Exception):
            raise  # KeyboardInterrupt and friends: cleaned up, now let them through
        raise CheckpointWriteError(
            f"Could not save {path} ({type(error).__name__}: {error}): "
            f"{_write_advice(error, path.parent)}. The previous file there, if any, is "
            "untouched.") from error
    shutil.rmtree(temp_dir, ignore_errors=True)
    if pattern is not None and keep is not None:
        _verify_zip(path)
        rotate_checkpoints(path.parent, keep, pattern)
    return path


def rotate_checkpoints(folder: str | Path, keep: int, pattern: str | re.Pattern[str]) -> list[Path]:
    """Delete all but the ``keep`` newest files in ``folder`` whose names fully match ``pattern``.

    Files are ordered by modification time, then name. Returns the removed paths.
    """
    pattern = re.compile(pattern) if isinstance(pattern, str) else pattern
    files = [p for p in Path(folder).iterdir() if p.is_file() and pattern.fullmatch(p.name)]
    files.sort(key=lambda p: (p.stat().st_mtime_ns, p.name))
    old = files[:-keep]
    for p in old:
        p.unlink()
    return old


def _global_name(obj: Any) -> str:
    if isinstance(obj, tuple):  # (function, "module.name") as safe_globals accepts
        return str(obj[1])
    return f"{obj.__module__}.{obj.__qualname__}"


def _unsafe_error(path: Path, error: Exception, trusted: Sequence[Any]) -> UnsafeCheckpointError:
    text = str(error)
    found = re.findall(r"GLOBAL ([\w.]+)", text)
    with contextlib.suppress(Exception):
        found += torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
    allowed = {_global_name(obj) for obj in trusted}
    names = sorted(set(found) - allowed)
    if not names:
        return UnsafeCheckpointError(
            f"{path} holds pickle operations that weights_only=True refuses "
            f"({text.strip()[:200]}). "
            "Do not load it unless you made it; if you did, re-save plain state_dicts.", [])
    blocked = [n for n in names if n.split(".")[0] in ("os", "posix", "nt", "sys", "subprocess",
                                                         "builtins")]
    advice = ("It would run code: do not load it." if blocked else
              "Load it only if you trust its source, by passing the classes: "
              f"load_checkpoint(path, trusted=[{', '.join(n.rsplit('.', 1)[1] for n in names)}]);"
              " better, save a state_dict instead of whole objects.")
    return UnsafeCheckpointError(
        f"{path} needs {', '.join(names)}, which weights_only=True does not allow. {advice}", names)


def load_checkpoint(path: str | Path, *, map_location: Any = "cpu", trusted: Sequence[Any] = (),
                    mmap: bool | None = None) -> dict[str, Any]:
    """Load a checkpoint dict safely: integrity checked, ``weights_only=True``, clear errors.

    ``trusted`` lists extra classes the file may use (admitted only for this call, through
    ``torch.serialization.safe_globals``). Every failure raises a ``CheckpointError`` subclass.
    Files of MMAP_MIN_BYTES or more are memory-mapped (``mmap=None``): their tensors are read
    from the file when first used, so replace such a file with save_checkpoint (a rename), never
    overwrite it in place with torch.save while its tensors are in use.

    >>> import tempfile; path = Path(tempfile.mkdtemp()) / "ckpt.pt"
    >>> load_checkpoint(save_checkpoint(path, {"epoch": 3}))
    {'epoch': 3}
    """
    path = _existing_file(path)
    try:
        kind = _sniff(path)
    except OSError as error:
        raise CheckpointNotFoundError(f"Cannot read {path}: {error}") from error
    if path.stat().st_size == 0:
        raise CheckpointCorruptError(f"{path} is empty: the save that wrote it never finished. "
                                     "Use an earlier checkpoint.")
    if kind == TORCH_ZIP:
        _verify_zip(path)
    elif kind != TORCH_LEGACY:  # the legacy format has no checksums; weights_only still guards
        raise CheckpointFormatError(f"{path} is {_FORMAT_ADVICE[kind]}.")
    if mmap is None:
        mmap = kind == TORCH_ZIP and path.stat().st_size >= MMAP_MIN_BYTES
    if mmap and kind != TORCH_ZIP:
        raise CheckpointFormatError(f"{path} is in the legacy format, which cannot be "
                                    "memory-mapped: pass mmap=False, or re-save it")
    try:
        with torch.serialization.safe_globals(list(trusted)):
            ckpt = torch.load(str(path), map_location=map_location, weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as error:
        raise _unsafe_error(path, error, trusted) from error
    except Exception as error:
        text = str(error)
        device_words = ("CUDA", "cuda", "device", "mps", "location")
        if isinstance(error, (RuntimeError, AssertionError)) and \
                any(word in text for word in device_words):
            raise CheckpointDeviceError(
                f"{path} cannot be loaded onto map_location={map_location!r} ({text.strip()}). "
                "Use a device this machine has: map_location='cpu' always works.") from error
        raise CheckpointCorruptError(f"{path} could not be read ({type(error).__name__}: "
                                     f"{text[:200]}); use an earlier checkpoint.") from error
    if not isinstance(ckpt, dict):
        raise CheckpointFormatError(f"{path} holds a {type(ckpt).__name__}, not a checkpoint dict: "
                                    "load it with torch.load(path, weights_only=True).")
    return ckpt


def latest_checkpoint(folder: str | Path, pattern: str = r".*\.pt") -> Path | None:
    """The newest file in ``folder`` (matching the regex ``pattern``) that passes its integrity
    check, skipping temp files of unfinished saves and damaged files; None if there is none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointNotFoundError(f"{folder} is not a folder: pass the folder your "
                                      "checkpoints are saved in.")
    regex = re.compile(pattern)
    files = [p for p in folder.iterdir()
             if p.is_file() and not p.name.startswith(".") and regex.fullmatch(p.name)]
    for candidate in sorted(files, key=lambda p: (p.stat().st_mtime_ns, p.name), reverse=True):
        with contextlib.suppress(CheckpointError, OSError):
            if _sniff(candidate) == TORCH_ZIP:
                _verify_zip(candidate)
                return candidate
    return None


class CheckpointMismatchError(CheckpointError):
    """The checkpoint's tensors do not fit the model: keys missing, unexpected or mis-shaped."""


def _fit_problems(model: nn.Module, state: Mapping[str, Any], strict: bool) -> list[str]:
    """What stops ``state`` from loading into ``model``, by name."""
    expected = model.state_dict()
    problems = []
    if strict:
        missing = [k for k in expected if k not in state]
        unexpected = [k for k in state if k not in expected]
        if missing:
            problems.append("missing from the file: " + ", ".join(missing))
        if unexpected:
            problems.append("in the file but not in the model: " + ", ".join(unexpected))
    for name, tensor in state.items():
        if name in expected and isinstance(tensor, torch.Tensor) and \
                tensor.shape != expected[name].shape:
            problems.append(f"{name} is {tuple(tensor.shape)} in the file but "
                            f"{tuple(expected[name].shape)} in the model")
    return problems


def load_weights(model: nn.Module | Callable[[], nn.Module], path: str | Path, *,
                 key: str | None = "model", strict: bool = True, map_location: Any = "cpu",
                 mmap: bool | None = None) -> nn.Module:
    """Load the state_dict saved at ``path`` into ``model`` and return the model.

    The state_dict is ``checkpoint[key]``, or the whole file if it is a bare state_dict. Pass a
    model class or factory instead of a model to take the fast path for big checkpoints: the
    model is built on the meta device (no memory, no random init) and takes the loaded tensors
    as its own (``assign=True``), memory-mapped from big files. Keys that are missing, unexpected
    (with ``strict=True``) or of the wrong shape raise CheckpointMismatchError, by name.

    >>> import tempfile; path = Path(tempfile.mkdtemp()) / "net.pt"
    >>> _ = save_checkpoint(path, {"model": Net().state_dict()})
    >>> type(load_weights(Net, path)).__name__
    'Net'
    """
    ckpt = load_checkpoint(path, map_location=map_location, mmap=mmap)
    bare = all(isinstance(v, torch.Tensor) for v in ckpt.values())
    if key is not None and key in ckpt and isinstance(ckpt[key], Mapping):
        state = ckpt[key]
    elif bare or key is None:
        state = ckpt
    else:
        raise CheckpointMismatchError(
            f"{path} has no state_dict under {key!r}; its entries are {sorted(ckpt)}: "
            "pass key= one of them")
    build = not isinstance(model, nn.Module)
    if build:
        with torch.device("meta"):  # parameters without memory, filled by assign=True below
            model = model()  # type: ignore[operator]
    assert isinstance(model, nn.Module)
    problems = _fit_problems(model, state, strict)
    if problems:
        raise CheckpointMismatchError(f"{path} does not fit {type(model).__name__}: "
                                      + "; ".join(problems) + ". Check that you build the model "
                                      "that was saved, or pass strict=False to skip missing or "
                                      "extra keys (shapes must still match).")
    model.load_state_dict(state, strict=strict, assign=build)
    if build:
        empty = [n for n, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]
        if empty:
            raise CheckpointMismatchError(
                f"{', '.join(empty)} got no tensor from {path} and have no values: pass a built "
                "model instead of a class to keep their initial values.")
    return model


# --- inspect_checkpoint: read a file's pickle without running it --------------------------------


@dataclass
class TensorInfo:
    """One tensor of a checkpoint, as stored: no bytes of it are read."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    device: str
    nbytes: int


@dataclass
class CheckpointInfo:
    """What ``inspect_checkpoint`` found in a file."""

    path: str
    format: str
    integrity: str
    tensors: list[TensorInfo]
    globals: list[str]
    unsafe_globals: list[str]
    notes: list[str]
    stored_bytes: int = 0  # bytes of tensor data in the file: tied tensors and views count once
    pickle_read: bool = False  # False: the globals lists are incomplete (damaged or foreign)

    def __str__(self) -> str:
        lines = [f"file:      {Path(self.path).name}", f"format:    {self.format}",
                 f"integrity: {self.integrity}"]
        if self.tensors:
            lines.append(f"tensors:   {len(self.tensors)}, {self.stored_bytes:,} bytes stored")
            for t in self.tensors:
                shape = "x".join(map(str, t.shape)) or "scalar"
                lines.append(f"  {t.name:<32} {shape:<12} {t.dtype:<9} {t.device:<7} "
                             f"{t.nbytes:>12,} B")
        if self.format in (TORCH_ZIP, TORCH_LEGACY, PICKLE, TORCHSCRIPT, EXPORT_PT2):
            lines.append("globals:   " + (", ".join(self.globals) or "none"))
            safe = ("none (weights_only=True can load it)" if self.pickle_read else
                    "unknown: the pickle could not be read to the end")
            lines.append("unsafe:    " + (", ".join(self.unsafe_globals) or safe))
        lines += [f"note:      {note}" for note in self.notes]
        return "\n".join(lines)


_STORAGE_DTYPES = {"Float": "float32", "Double": "float64", "Half": "float16",
                   "BFloat16": "bfloat16", "Long": "int64", "Int": "int32", "Short": "int16",
                   "Char": "int8", "Byte": "uint8", "Bool": "bool", "ComplexFloat": "complex64",
                   "ComplexDouble": "complex128", "Untyped": "uint8"}
_SAFETENSORS_DTYPES = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16",
                       "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8",
                       "U8": "uint8", "BOOL": "bool"}


def _itemsize(dtype: str) -> int:
    value = getattr(torch, dtype, None)
    return value.itemsize if isinstance(value, torch.dtype) else 1


class _Opaque:
    """Stands in for any class or function a pickle names: records, never runs."""

    qualname = "?"
    args: tuple[Any, ...]
    state: Any
    items: dict[Any, Any]

    def __new__(cls, *args: Any, **kwargs: Any) -> _Opaque:
        self = object.__new__(cls)
        self.args, self.state, self.items = args, None, {}
        return self

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __setitem__(self, key: Any, value: Any) -> None:
        self.items[key] = value

    def append(self, value: Any) -> None:
        self.items[len(self.items)] = value

    def extend(self, values: Any) -> None:
        for value in values:
            self.append(value)


@dataclass
class _Storage:
    dtype: str
    key: str
    device: str
    nbytes: int


@dataclass
class _Tensor:
    storage: _Storage
    shape: tuple[int, ...]
    dtype: str


def _rebuild(storage: Any, offset: Any = 0, shape: Any = (), *rest: Any) -> Any:
    if not isinstance(storage, _Storage):
        return _Opaque(storage, offset, shape, *rest)
    dtype = next((arg.qualname.rsplit(".", 1)[1] for arg in rest[3:4]  # _rebuild_tensor_v3
                  if isinstance(getattr(arg, "qualname", None), str)), storage.dtype)
    shape = tuple(int(n) for n in shape) if isinstance(shape, (tuple, list)) else ()
    return _Tensor(storage, shape, dtype)


class _Dict(dict):
    """A dict that takes attributes, as the OrderedDict of a state_dict has ``_metadata``."""


class _RecordingUnpickler(pickle.Unpickler):
    """Unpickles into placeholders: tensors become _Tensor records, every other global an
    _Opaque subclass named after it. Nothing named in the file is imported or called."""

    _REBUILDERS = {"torch._utils._rebuild_tensor_v2": _rebuild,
                   "torch._utils._rebuild_tensor_v3": _rebuild,
                   "torch._utils._rebuild_parameter": lambda data, *rest: data,
                   "torch._utils._rebuild_parameter_with_state": lambda data, *rest: data,
                   "collections.OrderedDict": _Dict}

    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file)
        self.globals: list[str] = []
        self.storages: dict[str, _Storage] = {}

    def find_class(self, module: str, name: str) -> Any:
        # protocol 2 names Python 2 modules (__builtin__.set): map them as pickle itself does
        module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        full = f"{module}.{name}"
        if full not in self.globals:
            self.globals.append(full)
        if full in self._REBUILDERS:
            return self._REBUILDERS[full]
        return type(name.replace(".", "_") or "_", (_Opaque,), {"qualname": full})

    def persistent_load(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            return _Opaque(pid)
        kind = getattr(pid[1], "qualname", "")
        dtype = _STORAGE_DTYPES.get(kind.rsplit(".", 1)[-1].replace("Storage", ""), "uint8")
        key = str(pid[2])  # one record per stored blob, however many tensors view it
        if key not in self.storages:
            numel = pid[4] if isinstance(pid[4], int) else 0
            self.storages[key] = _Storage(dtype, key, str(pid[3]), numel * _itemsize(dtype))
        return self.storages[key]


def _walk(obj: Any, name: str, found: list[tuple[str, _Tensor]], seen: set[int]) -> None:
    if isinstance(obj, _Tensor):  # a tied tensor is one object under two names: list both
        found.append((name, obj))
        return
    if id(obj) in seen or len(found) > 100_000:
        return
    seen.add(id(obj))
    if isinstance(obj, _Opaque):  # a module's tensors sit in its state, under _parameters
        obj = {"": obj.state, **obj.items, **({"args": obj.args} if obj.args else {})}
    items = (obj.items() if isinstance(obj, dict) else
             enumerate(obj) if isinstance(obj, (list, tuple, set)) else ())
    for key, value in items:
        inner = key in ("", "_modules", "_parameters", "_buffers")
        _walk(value, name if inner else f"{name}.{key}" if name else str(key), found, seen)


def _weights_only_allowed() -> set[str]:
    """The globals torch.load(weights_only=True) accepts now, as "module.name" strings."""
    import torch._weights_only_unpickler as weights_only  # torch's own allow-list

    return {*weights_only._get_allowed_globals(), *weights_only._get_user_allowed_globals()}


def _describe_pickle(data: bytes, info: CheckpointInfo) -> None:
    """Fill ``info`` from the pickle ``data`` without running it."""
    unpickler = _RecordingUnpickler(io.BytesIO(data))
    try:
        obj = unpickler.load()
        info.pickle_read = True
    except Exception as error:
        obj = None
        info.notes.append(f"the pickle could not be read to the end ({type(error).__name__})")
    found: list[tuple[str, _Tensor]] = []
    _walk(obj, "", found, set())
    sharing: dict[str, list[str]] = {}
    for name, record in found:
        nbytes = math.prod(record.shape) * _itemsize(record.dtype)
        info.tensors.append(TensorInfo(name or "(top)", record.shape, record.dtype,
                                       record.storage.device, nbytes))
        sharing.setdefault(record.storage.key, []).append(name or "(top)")
    info.stored_bytes = sum(s.nbytes for s in unpickler.storages.values())
    for names in sharing.values():
        if len(names) > 1:
            info.notes.append(f"{', '.join(names)} share one storage (tied or views)")
    allowed = _weights_only_allowed()
    info.globals = unpickler.globals
    info.unsafe_globals = [g for g in unpickler.globals if g not in allowed]
    if obj is not None and not isinstance(obj, dict):
        kind = obj.qualname if isinstance(obj, _Opaque) else type(obj).__name__
        info.notes.append(f"the top-level object is a {kind}, not a dict")


def _describe_nested_pickles(archive: zipfile.ZipFile, info: CheckpointInfo) -> None:
    """The globals named by the torch.save archives inside a .pt2 (its sample inputs...)."""
    for name in archive.namelist():
        data = archive.read(name) if name.endswith(".pt") else b""
        if not data.startswith(b"PK"):
            continue
        with zipfile.ZipFile(io.BytesIO(data)) as inner:
            pickles = [n for n in inner.namelist() if n.endswith("/data.pkl")]
            unpickler = _RecordingUnpickler(io.BytesIO(inner.read(pickles[0]) if pickles else b""))
            with contextlib.suppress(Exception):
                unpickler.load()
        info.globals += [g for g in unpickler.globals if g not in info.globals]
    allowed = _weights_only_allowed()
    info.unsafe_globals = [g for g in info.globals if g not in allowed]
    info.pickle_read = True


def _inspect_zip(path: Path, info: CheckpointInfo) -> None:
    try:
        members = _verify_zip(path, torch_save=info.format == TORCH_ZIP)
        info.integrity = f"ok: {members} zip members, every CRC-32 matches"
    except CheckpointCorruptError as error:
        info.integrity = f"FAILED: {str(error).split('(', 1)[-1].split(')')[0]}"
        with open(path, "rb") as f:  # bytes hidden after the archive: another file glued on?
            f.seek(max(0, path.stat().st_size - 2**20))
            tail = f.read()
        end = tail.rfind(b"PK\x05\x06")
        if end >= 0 and len(tail) - end - 22 > 0:
            info.notes.append(f"{len(tail) - end - 22:,} bytes follow the end of the zip archive")
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            pickles = [n for n in names if n.endswith("/data.pkl")]
            if info.format == TORCHSCRIPT:
                code = [n for n in names if "/code/" in n and n.endswith(".py")]
                info.notes.append(f"contains {len(code)} TorchScript code files: it is a program")
            if info.format == EXPORT_PT2:
                info.notes.append("a torch.export program; torch.export.load unpickles parts of "
                                  "it with weights_only=False: trusted files only")
                _describe_nested_pickles(archive, info)
                return
            if pickles:
                _describe_pickle(archive.read(pickles[0]), info)
    except Exception as error:
        info.notes.append(f"the archive cannot be read ({type(error).__name__}: {error})")


def _inspect_safetensors(path: Path, info: CheckpointInfo) -> None:
    info.integrity = "none: safetensors files carry no checksum"
    info.notes.append("safetensors holds no code: loading it cannot run anything")
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        if n > 100_000_000:
            info.notes.append("header larger than 100 MB: not a valid safetensors file")
            return
        try:
            header = json.loads(f.read(n))
        except ValueError as error:
            info.notes.append(f"the JSON header is damaged ({error})")
            return
    for name, entry in header.items() if isinstance(header, dict) else ():
        if name == "__metadata__" or not isinstance(entry, dict):
            continue
        with contextlib.suppress(Exception):
            start, end = entry["data_offsets"]
            dtype = _SAFETENSORS_DTYPES.get(entry["dtype"], entry["dtype"].lower())
            info.tensors.append(TensorInfo(name, tuple(entry["shape"]), dtype, "cpu",
                                           int(end) - int(start)))
            info.stored_bytes += int(end) - int(start)
    if isinstance(header, dict) and isinstance(header.get("__metadata__"), dict):
        info.notes.append(f"metadata: {header['__metadata__']}")


def inspect_checkpoint(path: str | Path) -> CheckpointInfo:
    """Tell what a file is without running anything in it: format, tensors, globals, integrity.

    The pickle inside is read with an unpickler that records the classes and functions it names
    instead of importing them. Also ``python -m ckpt_helpers inspect FILE``.

    >>> import tempfile; path = Path(tempfile.mkdtemp()) / "ckpt.pt"
    >>> info = inspect_checkpoint(save_checkpoint(path, {"w": torch.zeros(2, 3)}))
    >>> info.format, info.tensors[0].shape, info.unsafe_globals
    ('torch zip', (2, 3), [])
    """
    path = _existing_file(path)
    info = CheckpointInfo(str(path), NOT_A_CHECKPOINT, "none", [], [], [], [])
    try:
        size = path.stat().st_size
        info.format = _sniff(path) if size else "empty file"
        if info.format in (TORCH_ZIP, TORCHSCRIPT, EXPORT_PT2, OTHER_ZIP):
            _inspect_zip(path, info)
        elif info.format == SAFETENSORS:
            _inspect_safetensors(path, info)
        elif info.format in (TORCH_LEGACY, PICKLE):
            info.integrity = "none: this format carries no checksums"
            data = path.read_bytes()
            if info.format == TORCH_LEGACY:  # magic number, protocol, system info, then the data
                stream = io.BytesIO(data)
                for _ in range(3):
                    _RecordingUnpickler(stream).load()
                data = data[stream.tell():]
            _describe_pickle(data, info)
        elif size == 0:
            info.notes.append("the file is empty: the save that wrote it never finished")
    except Exception as error:  # whatever the bytes, inspecting reports rather than raises
        info.notes.append(f"could not be read to the end ({type(error).__name__}: {error})")
    if info.unsafe_globals:
        info.notes.append("weights_only=True refuses this file: it names "
                          + ", ".join(info.unsafe_globals))
    return info


# --- widgets: look inside a state_dict, slide through a training run ---------------------------
# Both are built from ipywidgets (imported only here) and render matplotlib figures as PNG images,
# so they work in JupyterLab and keep working in a saved notebook's static view.


def tensor_stats(tensor: torch.Tensor) -> dict[str, Any]:
    """Shape, dtype, device and statistics of a tensor (numbers as Python floats, rounded).

    >>> tensor_stats(torch.tensor([[1.0, 0.0], [3.0, 4.0]]))["mean"]
    2.0
    """
    stats: dict[str, Any] = {"shape": tuple(tensor.shape),
                             "dtype": str(tensor.dtype).split(".")[-1],
                             "device": str(tensor.device), "numel": tensor.numel()}
    if tensor.numel() == 0 or tensor.is_complex() or tensor.is_meta:
        return stats
    values = tensor.detach().to("cpu", torch.float64)
    finite = values[values.isfinite()]
    stats.update(
        mean=round(float(finite.mean()), 6) if finite.numel() else math.nan,
        std=round(float(finite.std()), 6) if finite.numel() > 1 else 0.0,
        min=round(float(values.min()), 6), max=round(float(values.max()), 6),
        zeros=round(float((values == 0).double().mean()), 6),
        nonfinite=int(values.numel() - finite.numel()))
    return stats


def _png(fig: Figure) -> bytes:
    """The figure as PNG bytes (and closed, so that it is not also shown as a cell output)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    return buffer.getvalue()


def histogram_figure(name: str, tensor: torch.Tensor, bins: int = 40) -> Figure:
    """A histogram of a tensor's values, titled with its name and shape."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 2.6))
    values = tensor.detach().to("cpu", torch.float64).flatten()
    values = values[values.isfinite()]
    if values.numel():
        ax.hist(values.numpy(), bins=bins, color="tab:blue")
    ax.set(title=f"{name} {tuple(tensor.shape)}", xlabel="value", ylabel="count")
    fig.tight_layout()
    return fig


def state_dict_explorer(state_dict: Mapping[str, Any]) -> Any:
    """A widget: pick a tensor of ``state_dict``; see its shape, dtype, device, statistics and a
    histogram of its values. End a cell with it to show it."""
    import ipywidgets as widgets  # type: ignore[import-untyped]

    tensors = _tensor_items(state_dict, "state_dict_explorer")
    if not tensors:
        raise ValueError("state_dict_explorer needs at least one tensor in the state_dict")
    picker = widgets.Dropdown(options=list(tensors), description="tensor")
    stats = widgets.HTML()
    plot = widgets.Image(format="png")

    def show(name: str) -> None:
        rows = "".join(f"<tr><td>{key}</td><td><code>{value}</code></td></tr>"
                       for key, value in tensor_stats(tensors[name]).items())
        stats.value = f"<table>{rows}</table>"
        plot.value = _png(histogram_figure(name, tensors[name]))

    picker.observe(lambda change: show(change["new"]), names="value")
    show(picker.value)
    return widgets.VBox([picker, widgets.HBox([stats, plot])])


def timeline_figure(epochs: Sequence[int], losses: Mapping[str, Sequence[float]], upto: int,
                    predictions: torch.Tensor, y: torch.Tensor) -> Figure:
    """Loss curves up to the ``upto``-th checkpoint, and predictions against targets."""
    import matplotlib.pyplot as plt

    fig, (curve, scatter) = plt.subplots(1, 2, figsize=(9, 3.2))
    for name, values in losses.items():
        curve.plot(epochs, values, color="lightgray")  # the whole run, for context
        curve.plot(epochs[:upto + 1], values[:upto + 1], marker="o", label=name)
    curve.set(xlabel="epoch", ylabel="loss", yscale="log", title=f"epoch {epochs[upto]}")
    curve.legend()
    y0, p0 = y[:, 0].numpy(), predictions[:, 0].numpy()
    scatter.scatter(y0, p0, s=8)
    low, high = float(min(y0.min(), p0.min())), float(max(y0.max(), p0.max()))
    scatter.plot([low, high], [low, high], color="gray", linewidth=1)  # perfect predictions
    scatter.set(xlabel="target y0", ylabel="prediction", title="first output, validation set")
    fig.tight_layout()
    return fig


def checkpoint_timeline(paths: Sequence[str | Path], model: nn.Module, X: torch.Tensor,
                        y: torch.Tensor, *, loss_keys: Sequence[str] = ("loss",)) -> Any:
    """A widget: a slider over checkpoints saved during training; for each, the loss curve up to
    its epoch and the predictions of ``model`` loaded from it, on ``X`` against ``y``.

    Each file is read with ``load_checkpoint`` and must hold ``epoch``, ``model`` (a state_dict)
    and the numbers named in ``loss_keys``.
    """
    import ipywidgets as widgets  # type: ignore[import-untyped]

    if not paths:
        raise ValueError("checkpoint_timeline needs at least one checkpoint path")
    ckpts = [load_checkpoint(path) for path in paths]
    for path, ckpt in zip(paths, ckpts):
        missing = [key for key in ("epoch", "model", *loss_keys) if key not in ckpt]
        if missing:
            raise KeyError(f"{Path(path).name} has no {', '.join(missing)}: the timeline needs "
                           "checkpoints with epoch, model and the loss keys you name")
    order = sorted(range(len(ckpts)), key=lambda i: ckpts[i]["epoch"])
    ckpts = [ckpts[i] for i in order]
    epochs = [int(c["epoch"]) for c in ckpts]
    losses = {key: [float(c[key]) for c in ckpts] for key in loss_keys}
    slider = widgets.IntSlider(value=len(ckpts) - 1, min=0, max=len(ckpts) - 1,
                               description="checkpoint", continuous_update=False,
                               readout=False)  # the label says which epoch
    label = widgets.Label()
    plot = widgets.Image(format="png")

    def show(i: int) -> None:
        model.load_state_dict(ckpts[i]["model"])
        model.eval()
        with torch.inference_mode():
            predictions = model(X)
        mse = float(nn.functional.mse_loss(predictions, y))
        label.value = f"epoch {epochs[i]}: validation MSE {mse:.4f}"
        plot.value = _png(timeline_figure(epochs, losses, i, predictions, y))

    slider.observe(lambda change: show(change["new"]), names="value")
    show(slider.value)
    return widgets.VBox([widgets.HBox([slider, label]), plot])


# --- exercises: student notebooks and the answer checker --------------------------------------
# Conventions, kept by every instructor notebook in notebooks/solutions/:
# - an exercise's answer cell holds its solution between SOLUTION_BEGIN and SOLUTION_END;
# - the next code cell checks it and starts with "# Check: Exercise N - title"; it asserts on
#   behaviour (files, shapes, reloaded predictions) and prints "Exercise N: passed" at the end.

SOLUTION_BEGIN = "### BEGIN SOLUTION"
SOLUTION_END = "### END SOLUTION"
STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
_CHECK_LINE = re.compile(r"#\s*Check:\s*Exercise\s+(\d+)\s*(?:[-—:]\s*)?(.*)")


@dataclass(frozen=True)
class Exercise:
    """Where an exercise lives in a notebook: its number, title and the ids of its two cells."""

    number: int
    title: str
    answer_id: str
    check_id: str


@dataclass(frozen=True)
class ExerciseResult:
    """The verdict on one exercise: ``passed``, and a sentence for the student."""

    exercise: Exercise
    passed: bool
    message: str


def find_exercises(nb: NotebookNode) -> list[Exercise]:
    """The exercises of an instructor notebook, in order; ``ValueError`` if one is malformed.

    >>> import nbformat; find_exercises(nbformat.v4.new_notebook())
    []
    """
    exercises: list[Exercise] = []
    answer = None  # the last solution cell not yet claimed by a check cell
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        match = _CHECK_LINE.match(cell.source.lstrip())
        if match:
            number = int(match.group(1))
            if answer is None:
                raise ValueError(f"the check of Exercise {number} has no answer cell before it")
            exercises.append(Exercise(number, match.group(2).strip(), answer.id, cell.id))
            answer = None
        elif SOLUTION_BEGIN in cell.source:
            if answer is not None:
                raise ValueError(f"solution cell {answer.id} is not followed by a check cell")
            answer = cell
    if answer is not None:
        raise ValueError(f"solution cell {answer.id} is not followed by a check cell")
    return exercises


def _blank_solutions(source: str) -> str:
    """Replace each SOLUTION_BEGIN..SOLUTION_END region by the stub, at the same indent."""
    out: list[str] = []
    inside = False
    for line in source.splitlines():
        if line.strip() == SOLUTION_BEGIN:
            indent = line[: len(line) - len(line.lstrip())]
            out += [indent + stub for stub in STUB]
            inside = True
        elif line.strip() == SOLUTION_END:
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{SOLUTION_BEGIN} without {SOLUTION_END} in:\n{source}")
    return "\n".join(out)


def clean_notebook(nb: NotebookNode) -> NotebookNode:
    """Drop volatile metadata in place (versions, timings, widget ids) so diffs show content.

    >>> import nbformat; clean_notebook(nbformat.v4.new_notebook()).metadata["kernelspec"]["name"]
    'python3'
    """
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                       "name": "python3"},
        "language_info": {"name": "python"},
    }
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        cell.metadata = {"tags": tags} if tags else {}
        if cell.cell_type == "code":
            # a widget's saved view (a progress bar) names a model id that changes on every run
            outputs = [o for o in cell.outputs
                       if "application/vnd.jupyter.widget-view+json" not in o.get("data", {})]
            # one stream output per name, however the kernel happened to split the text
            cell.outputs = []
            for output in outputs:
                previous = cell.outputs[-1] if cell.outputs else None
                if (output.output_type == "stream" and previous is not None and
                        previous.output_type == "stream" and previous.name == output.name):
                    previous.text += output.text
                else:
                    cell.outputs.append(output)
    return nb


def make_student_notebook(solution: NotebookNode) -> NotebookNode:
    """The student version of an instructor notebook: answers blanked, their outputs cleared.

    >>> import nbformat; make_student_notebook(nbformat.v4.new_notebook()).cells
    []
    """
    nb = clean_notebook(copy.deepcopy(solution))
    cell_ids = {cell_id for ex in find_exercises(nb) for cell_id in (ex.answer_id, ex.check_id)}
    for cell in nb.cells:
        if cell.id in cell_ids:
            cell.source = _blank_solutions(cell.source)
            cell.outputs, cell.execution_count = [], None
    return nb


def _execute_in_place(path: Path) -> None:
    """Run a notebook top to bottom in its own folder and store its outputs."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    nbformat.write(clean_notebook(nb), path)


def write_student_notebooks(execute: bool = False) -> list[Path]:
    """Clean every instructor notebook (re-running it first if ``execute``) and write its
    student version into ``notebooks/``; return the student notebooks' paths."""
    import nbformat

    written = []
    for solution_path in sorted(SOLUTIONS_DIR.glob("*.ipynb")):
        if execute:
            _execute_in_place(solution_path)
        solution = clean_notebook(nbformat.read(solution_path, as_version=4))
        nbformat.write(solution, solution_path)
        student_path = NOTEBOOKS_DIR / solution_path.name
        nbformat.write(make_student_notebook(solution), student_path)
        written.append(student_path)
    return written


def _find_answer(student: NotebookNode, reference: NotebookNode, answer_id: str) -> str | None:
    """The student's source for an answer cell: same cell id, else same first line."""
    cells = [c for c in student.cells if c.cell_type == "code"]
    for cell in cells:
        if cell.get("id") == answer_id:
            return cell.source
    first_line = next(c for c in reference.cells if c.id == answer_id).source.split("\n")[0]
    for cell in cells:
        if cell.source.split("\n")[0] == first_line:
            return cell.source
    return None


def _grading_notebook(reference: NotebookNode, student: NotebookNode) -> NotebookNode:
    """The reference notebook with the student's answers in it; nothing else of theirs."""
    nb = copy.deepcopy(reference)
    cells = {cell.id: cell for cell in nb.cells}
    for ex in find_exercises(reference):
        answer = cells[ex.answer_id]
        source = _find_answer(student, reference, ex.answer_id)
        answer.source = source if source is not None else (
            f"raise LookupError('the answer cell of Exercise {ex.number} is missing from your "
            "notebook: copy it back from the lesson')")
        answer.outputs = []
        # answers may print anything; the check cell's output is compared with the reference
        answer.metadata["tags"] = ["nbval-ignore-output"]
        cells[ex.check_id].metadata["tags"] = ["nbval-check-output"]
    return nb


def _describe(error: dict | None) -> str:
    """An error output of a cell as one readable ``Name: message``."""
    return f"{error['ename']}: {_ANSI.sub('', error['evalue'])}" if error else ""


def _verdict(ex: Exercise, outcomes: dict[str, tuple[bool, dict | None]],
             answered: bool) -> ExerciseResult:
    """Turn the outcomes of an exercise's two cells into a sentence for the student."""
    answer_ok, answer_error = outcomes.get(ex.answer_id, (False, None))
    check_ok, check_error = outcomes.get(ex.check_id, (False, None))
    # the stub raises NotImplementedError() with no message; torch raises real ones with one
    stub_raised = any(e and e["ename"] == "NotImplementedError" and not e["evalue"].strip()
                      for e in (answer_error, check_error))
    if not answered or stub_raised:  # the stub is still there, or one still raises
        return ExerciseResult(ex, False, "not answered yet: replace "
                              "`raise NotImplementedError()` in its answer cell with your code")
    if not answer_ok:
        what = _describe(answer_error) or "did not finish (too slow, or the kernel died)"
        return ExerciseResult(ex, False, f"your answer cell raised {what}")
    if check_ok:
        return ExerciseResult(ex, True, "passed")
    if check_error and check_error["ename"] == "AssertionError":
        hint = _ANSI.sub("", check_error["evalue"])
        return ExerciseResult(ex, False, f"not right yet. {hint}")
    what = _describe(check_error) or "the check's output differs from the reference"
    return ExerciseResult(ex, False, f"the check could not accept your answer ({what}); "
                          "does your answer define what the exercise asks for?")


def check_notebook(path: str | Path, cell_timeout: float = 300) -> list[ExerciseResult]:
    """Grade a student notebook: run the instructor notebook with the student's answers in it.

    Only the answer cells come from the student; the lesson and the check cells, and the
    outputs the checks must reproduce, come from ``notebooks/solutions/``, so an answer is
    judged by what it does, never by what the student's file says it printed. Runs nbval.
    """
    import nbformat
    import pytest

    path = Path(path)
    if path.suffix != ".ipynb" or not path.is_file():
        raise FileNotFoundError(f"{path} is not a notebook file; pass e.g. "
                                "notebooks/01_define_the_net.ipynb")
    reference_path = SOLUTIONS_DIR / path.name
    if not reference_path.is_file():
        known = ", ".join(p.name for p in sorted(SOLUTIONS_DIR.glob("*.ipynb")))
        raise FileNotFoundError(f"no lesson is called {path.name}; the lessons are: {known}")
    try:
        student = nbformat.read(path, as_version=4)
    except Exception as error:  # nbformat raises several types for a damaged file
        raise ValueError(f"{path} is not a readable notebook ({error}); did the save finish? "
                         "Restore it from git or re-download it") from error
    reference = nbformat.read(reference_path, as_version=4)
    exercises = find_exercises(reference)
    outcomes: dict[str, tuple[bool, dict | None]] = {}

    class Collector:  # a pytest plugin: the outcome and first error output of every cell
        @pytest.hookimpl(hookwrapper=True)
        def pytest_runtest_makereport(self, item: Any, call: Any) -> Any:
            report = (yield).get_result()
            if report.when == "call" and hasattr(item, "cell"):
                errors = [o for o in item.test_outputs or [] if o.get("output_type") == "error"]
                outcomes[item.cell.id] = (report.passed, errors[0] if errors else None)

    with tempfile.TemporaryDirectory(prefix="ckpt-check-") as tmp:
        # the kernel starts in the folder of the notebook, so files an answer writes land here
        graded = Path(tmp) / path.name
        grading = _grading_notebook(reference, student)
        nbformat.write(grading, graded)
        ini = Path(tmp) / "pytest.ini"  # keeps the kit's own pytest settings out of this run
        ini.write_text("[pytest]\n", encoding="utf-8")
        log = io.StringIO()
        with contextlib.redirect_stdout(log):
            exit_code = pytest.main(
                [str(graded), "--nbval-lax", "--nbval-current-env", "--nbval-cell-timeout",
                 str(cell_timeout), "--nbval-sanitize-with", str(SANITIZE_FILE), "-c", str(ini),
                 "--rootdir", tmp, "-p", "no:cacheprovider", "-q", "--tb=short"],
                plugins=[Collector()])
    if exit_code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        raise RuntimeError(f"nbval could not run {path.name} (pytest exit code {exit_code}):\n"
                           + log.getvalue()[-2000:])
    lesson_failures = [cell_id for cell_id, (ok, _) in outcomes.items() if not ok and
                       cell_id not in {i for ex in exercises for i in (ex.answer_id, ex.check_id)}]
    if lesson_failures:
        raise RuntimeError(f"lesson cells {lesson_failures} of {path.name} failed before any "
                           "answer could be checked: is the kit installed as README.md says?")
    graded_sources = {cell.id: cell.source for cell in grading.cells}
    return [_verdict(ex, outcomes, STUB[1] not in
                     {line.strip() for line in graded_sources[ex.answer_id].split("\n")})
            for ex in exercises]


# --- command line -----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ckpt_helpers check NOTEBOOK``, ``... student`` or ``... inspect FILE``."""
    parser = argparse.ArgumentParser(prog="python -m ckpt_helpers",
                                     description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="check the exercises of a student notebook")
    check.add_argument("notebook", type=Path)
    student = commands.add_parser("student", help="regenerate notebooks/*.ipynb from solutions/")
    student.add_argument("--execute", action="store_true",
                         help="re-run every instructor notebook first and store its outputs")
    inspect = commands.add_parser("inspect", help="tell what a checkpoint file holds, "
                                                  "without running anything in it")
    inspect.add_argument("files", type=Path, nargs="+", metavar="FILE")
    args = parser.parse_args(argv)

    if args.command == "inspect":
        status = 0
        for i, path in enumerate(args.files):
            try:
                print(("\n" if i else "") + str(inspect_checkpoint(path)))
            except CheckpointError as error:
                print(f"error: {error}", file=sys.stderr)
                status = 2
        return status
    if args.command == "student":
        for path in write_student_notebooks(execute=args.execute):
            print(f"wrote {path.relative_to(KIT_DIR)}")
        return 0
    print(f"Checking {args.notebook.name}: running the lesson with your answers...", flush=True)
    try:
        results = check_notebook(args.notebook)
    except (FileNotFoundError, ValueError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for result in results:
        title = f" ({result.exercise.title})" if result.exercise.title else ""
        print(f"  Exercise {result.exercise.number}{title}: {result.message}")
    passed = sum(result.passed for result in results)
    print(f"{passed} of {len(results)} exercises passed.")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
