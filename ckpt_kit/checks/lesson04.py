"""The checks of lesson 04 (checkpoints and resuming), one function per exercise.

The checks run their own training run, on a config that is not the lesson's ``CONFIG`` (another
model class, learning rate, schedule, batch size and seed), so that an answer must use the
values it is given. ``_build`` and ``_run_epoch`` restate the lesson's ``build`` and
``run_epoch``: the reference run cannot be changed by what an answer defines.

- Exercise 1 (``save_ckpt``) captures every state right before the call, then loads the file
  with ``weights_only=True`` and compares each field of the schema with what it must hold, down
  to the random generators; then it resumes from the file and compares with the run that went on.
- Exercise 2 (``resume``) hands over a checkpoint saved as if on a GPU, whose global random
  generators have moved on since the run was built; it records each ``torch.load`` and
  ``torch.set_rng_state`` call, compares every returned object with the saved states, trains on
  and compares with the run that never stopped, then hands over files of older and newer formats.
- Exercise 3 (``keep_best``) replays a sequence of validation losses with ties, on a temporary
  path, feeding the right best loss at each call.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import pickle
import random
import tempfile
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from ckpt_helpers import (
    Net,
    ReLUNet,
    make_loaders,
    save_as_if_on,
    state_dicts_equal,
    train,
)
from ckpt_kit.checks import Recording, given, hint, passed, recording
from ckpt_kit.checks.probes import answer_call

# Mutants of the reference solutions that are still correct (python -m ckpt_helpers mutants 04).
EQUIVALENT_MUTANTS: dict[int, dict[str, str]] = {1: {}, 2: {}, 3: {}}

# The checks' run: every value differs from the lesson's CONFIG. Saved after epoch 4, which is
# not a multiple of step_size, so a scheduler that starts over changes the learning rate at
# another epoch than the restored one.
_CONFIG = {"model": "ReLUNet", "lr": 0.05, "step_size": 3, "gamma": 0.5, "batch_size": 16,
           "seed": 3, "epochs": 8}
_MODELS = {"Net": Net, "ReLUNet": ReLUNet}
_FIELDS = ["format_version", "epoch", "model", "optimizer", "scheduler", "loss", "best_val_loss",
           "rng", "config"]


# --- the reference run --------------------------------------------------------------------------


@dataclass
class _Run:
    """Every object of a training run, as the lesson's ``build`` returns them."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Any
    train_loader: DataLoader
    val_loader: DataLoader


def _build(config: dict[str, Any]) -> _Run:
    """The lesson's ``build``: model, optimizer, scheduler and loaders from the config alone."""
    torch.manual_seed(config["seed"])
    model = _MODELS[config["model"]]()
    optimizer = torch.optim.Adam(model.parameters(), lr=config["lr"])
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, config["step_size"], config["gamma"])
    train_loader, val_loader = make_loaders(config["batch_size"], seed=config["seed"])
    return _Run(model, optimizer, scheduler, train_loader, val_loader)


def _run_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any,
               train_loader: DataLoader) -> float:
    """The lesson's ``run_epoch``: one epoch, then one scheduler step; the mean training loss."""
    loss = train(model, train_loader, optimizer, 1, progress=False)["train"][0]
    scheduler.step()
    return loss


def _epochs(run: _Run, count: int) -> list[float]:
    return [_run_epoch(run.model, run.optimizer, run.scheduler, run.train_loader)
            for _ in range(count)]


def _rng_now(train_loader: DataLoader) -> dict[str, Any]:
    """The ``rng`` field of the schema, as it is now."""
    return {"torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            "loader": train_loader.generator.get_state(), "python": random.getstate()}


def _checkpoint(epoch: int, loss: float, run: _Run, version: int) -> dict[str, Any]:
    """A checkpoint of the kit's schema (the lesson's ``make_checkpoint``)."""
    return {"format_version": version, "epoch": epoch, "model": run.model.state_dict(),
            "optimizer": run.optimizer.state_dict(), "scheduler": run.scheduler.state_dict(),
            "loss": loss, "best_val_loss": math.inf, "rng": _rng_now(run.train_loader),
            "config": dict(_CONFIG)}


def _same(a: Any, b: Any) -> bool:
    """True if two nested dicts/lists/tuples hold equal plain values and identical tensors."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)
                and a.dtype == b.dtype and torch.equal(a.cpu(), b.cpu()))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[key], b[key]) for key in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if type(a) is not type(b):
        return False
    return a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b))  # nan == nan


@contextlib.contextmanager
def _generators_kept() -> Iterator[None]:
    """Torch's and Python's global generators are put back on exit: the checks draw from them
    and the answers restore them, but the notebook goes on as if nothing happened."""
    python = random.getstate()
    with torch.random.fork_rng(devices=[]):
        try:
            yield
        finally:
            random.setstate(python)


def _load_as_the_check_does(path: Path) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # protocol warnings: the refusal says enough
        return torch.load(path, map_location="cpu", weights_only=True)


def _refusal(error: pickle.UnpicklingError) -> str:
    """What a weights_only refusal is about, in a hint's words."""
    text = str(error)
    if "Unsupported operand" in text:
        return ("it was written with another pickle protocol: do not pass pickle_protocol "
                "(torch.save's default, 2, is what weights_only=True reads)")
    culprit = next((line.strip().split(" Please")[0] for line in text.splitlines()
                    if "Unsupported global" in line), "a type it does not accept")
    return f"{culprit} Store plain values: int(epoch), loss.item(), vars(args)"


# --- Exercise 1 ---------------------------------------------------------------------------------


def _ex1_save(save_ckpt: Callable[..., Any], path: Path, loss: torch.Tensor, run: _Run,
              ex1_path: Path) -> None:
    """Call save_ckpt as a training script would; it must not warn, and save at ``path``."""
    ex1_path.unlink(missing_ok=True)  # if it appears, the answer saved there
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        answer_call("save_ckpt(path, epoch, loss, args, model, optimizer, scheduler, "
                     "train_loader)", save_ckpt, path, np.int64(2), loss,
                     argparse.Namespace(**_CONFIG), run.model, run.optimizer, run.scheduler,
                     run.train_loader)
    message = str(caught[0].message).splitlines()[0] if caught else ""
    hint(not caught or "requires_grad" not in message,
         f"save_ckpt warned ({message}): for the loss, store loss.item(), which gives the float "
         "without a warning")
    hint(not caught, f"save_ckpt warned ({message}): a checkpoint saves without a warning")
    hint(path.is_file() or not ex1_path.exists(),
         "save_ckpt saved to ex1_path, not to the path it is given: torch.save(ckpt, path)")
    hint(path.is_file(), "nothing was saved at path: end with torch.save(ckpt, path)")


def _ex1_load(path: Path) -> dict[str, Any]:
    """The file loads with weights_only=True and holds every field of the schema."""
    try:
        ckpt = _load_as_the_check_does(path)
    except pickle.UnpicklingError as error:
        hint(False, f"torch.load(..., weights_only=True) refuses your file: {_refusal(error)}")
    hint(isinstance(ckpt, dict), f"save a dict that follows the schema, not a "
                                 f"{type(ckpt).__name__}")
    missing = [field for field in _FIELDS if field not in ckpt]
    hint(not missing, f"your checkpoint lacks {missing}: store every field of Step 1's table")
    return ckpt


def _ex1_plain_fields(ckpt: dict[str, Any], loss: torch.Tensor, version: int) -> None:
    """epoch, loss, best_val_loss, format_version and config: plain values, the right ones."""
    hint(not isinstance(ckpt["loss"], torch.Tensor),
         "the loss is stored as a tensor: store loss.item(), a float (the tensor keeps its graph "
         "alive in memory and loads back requiring grad)")
    hint(type(ckpt["loss"]) is float and ckpt["loss"] == loss.item(),
         f"'loss' is {ckpt['loss']!r}: store the loss you were given, as a float: loss.item()")
    hint(type(ckpt["epoch"]) is int and ckpt["epoch"] == 2,
         f"'epoch' is {ckpt['epoch']!r}, but save_ckpt was given epoch 2: store it as a plain "
         "int, int(epoch)")
    hint(type(ckpt["config"]) is dict and ckpt["config"] == _CONFIG,
         "'config' must hold the settings of args as a dict of plain values: vars(args)")
    hint(type(ckpt["format_version"]) is int and ckpt["format_version"] == version,
         f"'format_version' is {ckpt['format_version']!r}: store FORMAT_VERSION")
    hint(type(ckpt["best_val_loss"]) is float and ckpt["best_val_loss"] == math.inf,
         f"'best_val_loss' is {ckpt['best_val_loss']!r}: there is no validation loss yet, store "
         "math.inf")


def _ex1_states(ckpt: dict[str, Any], run: _Run, rng: dict[str, Any]) -> None:
    """The states are those of the objects, and the generators' as they were at the call."""
    hint(_same(ckpt["model"], run.model.state_dict()), "'model' must hold model.state_dict()")
    hint(_same(ckpt["optimizer"], run.optimizer.state_dict()),
         "'optimizer' must hold optimizer.state_dict(): Adam's moments and step counts")
    hint(_same(ckpt["scheduler"], run.scheduler.state_dict()),
         "'scheduler' must hold scheduler.state_dict()")
    saved = ckpt["rng"]
    hint(isinstance(saved, dict) and set(saved) >= set(rng),
         "'rng' must be a dict with the states 'torch', 'cuda', 'loader' and 'python' (Step 1)")
    hint(_same(saved["torch"], rng["torch"]),
         "rng['torch'] is not the state of torch's global generator when save_ckpt was called: "
         "store torch.get_rng_state()")
    hint(_same(saved["cuda"], rng["cuda"]),
         f"rng['cuda'] is {saved['cuda']!r}: the schema stores "
         "torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None")
    hint(_same(saved["loader"], rng["loader"]),
         "rng['loader'] is not the training loader's generator: store "
         "train_loader.generator.get_state(), the state that decides the batch order")
    hint(_same(saved["python"], rng["python"]),
         "rng['python'] is not the state of Python's random module: store random.getstate()")


def _ex1_resumes(ckpt: dict[str, Any], run: _Run) -> None:
    """Training resumed from the file equals the run that went on."""
    expected = _epochs(run, 2)
    resumed = _build(ckpt["config"])
    resumed.model.load_state_dict(ckpt["model"])
    resumed.optimizer.load_state_dict(ckpt["optimizer"])
    resumed.scheduler.load_state_dict(ckpt["scheduler"])
    torch.set_rng_state(ckpt["rng"]["torch"])
    resumed.train_loader.generator.set_state(ckpt["rng"]["loader"])
    random.setstate(ckpt["rng"]["python"])
    hint(_epochs(resumed, 2) == expected,
         "training resumed from your file differs from the run that went on: store every state "
         "as it is when you save")


def check_exercise_1(ns: dict[str, Any]) -> None:
    """Exercise 1: a checkpoint of the kit's schema, from the values a script hands over."""
    save_ckpt = given(ns, "save_ckpt", what="the function save_ckpt(path, epoch, loss, args, "
                                            "model, optimizer, scheduler, train_loader)")
    hint(callable(save_ckpt), "save_ckpt must be a function: def save_ckpt(path, epoch, ...)")
    version = given(ns, "FORMAT_VERSION", int)
    ex1_path = Path(given(ns, "ex1_path", (str, Path)))
    with _generators_kept(), tempfile.TemporaryDirectory() as folder:
        run = _build(_CONFIG)
        _epochs(run, 2)
        X, y = next(iter(run.val_loader))
        loss = nn.functional.mse_loss(run.model(X), y)  # attached to its graph
        path = Path(folder) / "another_name.pt"  # not ex1_path: save where you are told
        rng = _rng_now(run.train_loader)  # right before the call: what the file must hold
        _ex1_save(save_ckpt, path, loss, run, ex1_path)
        ckpt = _ex1_load(path)
        _ex1_plain_fields(ckpt, loss, version)
        _ex1_states(ckpt, run, rng)
        _ex1_resumes(ckpt, run)
    passed(1)


# --- Exercise 2 ---------------------------------------------------------------------------------


def _ex2_advice(version: int) -> Callable[[BaseException], str]:
    def advice(error: BaseException) -> str:
        if "CUDA" in str(error):
            return (": the file was saved on a GPU; load it onto the CPU, as Step 1 says: "
                    "torch.load(path, map_location='cpu', weights_only=True)")
        if isinstance(error, ValueError):
            return (f", but the file's format_version is {version}, FORMAT_VERSION: raise only "
                    "when ckpt['format_version'] != FORMAT_VERSION")
        return ""
    return advice


def _ex2_loaded_safely(loads: Recording) -> None:
    weights_only = loads.values("weights_only")
    hint(weights_only, "resume never called torch.load: read the file with "
                       "torch.load(path, map_location='cpu', weights_only=True)")
    hint(False not in weights_only,
         "Do not use weights_only=False: a checkpoint of the kit's schema holds only tensors, "
         "containers and plain values, which weights_only=True loads without running anything")
    hint(all(value is True for value in weights_only),
         "pass weights_only=True explicitly to torch.load: left out, it is only a default, "
         "which TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 turns off")


def _ex2_generators(saved: dict[str, Any], torch_state: torch.Tensor, python_state: Any,
                    rng_sets: Recording) -> None:
    """Torch's and Python's global generators are in the saved states when resume returns."""
    wanted = saved["rng"]["torch"]
    if not torch.equal(torch_state, wanted):
        hint(not any(isinstance(s, torch.Tensor) and torch.equal(s, wanted)
                     for s in rng_sets.values("new_state")),
             "you restored torch's global generator too early: build() reseeds it and the new "
             "model draws from it. Restore the generators last (restore_rng does it)")
        hint(False, "torch's global generator is not in the saved state when resume returns: "
                    "torch.set_rng_state(ckpt['rng']['torch']) (restore_rng does it), last")
    hint(python_state == saved["rng"]["python"],
         "Python's random module is not in the saved state when resume returns: "
         "random.setstate(ckpt['rng']['python']) (restore_rng does it)")


def _ex2_returned(result: Any) -> _Run:
    hint(isinstance(result, tuple) and len(result) == 6,
         "return the tuple (model, optimizer, scheduler, train_loader, val_loader, first_epoch)")
    first_epoch = result[5]
    hint(type(first_epoch) is int and first_epoch == 5,
         f"the file holds epoch 4, the number of epochs completed, so the first epoch to train "
         f"is 5, not {first_epoch!r}: return ckpt['epoch'] + 1")
    run = _Run(*result[:5])
    hint(type(run.model) is ReLUNet and getattr(run.train_loader, "batch_size", None) == 16,
         "the file's config says ReLUNet with batches of 16, and you built something else: "
         "build every object from ckpt['config'], not from the lesson's CONFIG")
    return run


def _ex2_states(run: _Run, saved: dict[str, Any]) -> None:
    """Each returned object holds its saved state and drives the right one."""
    hint(state_dicts_equal(run.model.state_dict(), saved["model"]),
         "the model does not hold the saved weights: model.load_state_dict(ckpt['model'])")
    trained = [p for group in run.optimizer.param_groups for p in group["params"]]
    hint(len(trained) == len(list(run.model.parameters()))
         and all(p is q for p, q in zip(trained, run.model.parameters())),
         "the optimizer does not train the model you return: build it on that model's "
         "parameters")
    hint(_same(run.optimizer.state_dict(), saved["optimizer"]),
         "the optimizer starts over (no moments, no step count): "
         "optimizer.load_state_dict(ckpt['optimizer'])")
    hint(getattr(run.scheduler, "optimizer", None) is run.optimizer,
         "the scheduler drives another optimizer than the one you return: build it on that one")
    hint(_same(run.scheduler.state_dict(), saved["scheduler"]),
         "the scheduler starts over, counting epochs from 0, so it changes the learning rate at "
         "the wrong epochs: scheduler.load_state_dict(ckpt['scheduler'])")
    hint(torch.equal(run.train_loader.generator.get_state(), saved["rng"]["loader"]),
         "the training loader's generator starts over, so the batch order differs: "
         "train_loader.generator.set_state(ckpt['rng']['loader']) (restore_rng does it)")


def _ex2_val_loader(val_loader: Any) -> None:
    expected = make_loaders(_CONFIG["batch_size"], seed=_CONFIG["seed"])[1]
    got = list(val_loader) if isinstance(val_loader, DataLoader) else []
    hint(len(got) == len(expected) and all(
        torch.equal(a, b) for batch, reference in zip(got, expected)
        for a, b in zip(batch, reference)),
         "val_loader is not the run's validation loader: return the one build(ckpt['config']) "
         "makes")


def _ex2_other_versions(resume: Callable[..., Any], saved: dict[str, Any], version: int,
                        folder: Path) -> None:
    """A file of an older or a newer format: ValueError."""
    for other in (version + 1, version - 1):
        path = folder / f"format_{other}.pt"
        torch.save(dict(saved, format_version=other), path)
        try:
            resume(path)
        except ValueError:
            continue
        except Exception as error:  # noqa: BLE001 - the student's code may raise anything
            hint(False, f"for a file of format_version {other}, resume raised "
                        f"{type(error).__name__}: raise ValueError(...) "
                        f"{'(not an assert)' if isinstance(error, AssertionError) else ''}")
        hint(False, f"resume accepted a file with format_version {other}: raise ValueError "
                    "unless ckpt['format_version'] == FORMAT_VERSION (older files too)")


def check_exercise_2(ns: dict[str, Any]) -> None:
    """Exercise 2: resume everything from a file, generators last, and refuse other formats."""
    resume = given(ns, "resume", what="the function resume(path)")
    hint(callable(resume), "resume must be a function: def resume(path): ...")
    version = given(ns, "FORMAT_VERSION", int)
    with _generators_kept(), tempfile.TemporaryDirectory() as folder:
        run = _build(_CONFIG)
        loss = _epochs(run, 4)[-1]
        torch.rand(3)  # the generators moved on since build(), as in any run
        random.random()
        path = Path(folder) / "last.pt"
        save_as_if_on("cuda:0", _checkpoint(4, loss, run, version), path)  # saved on a GPU
        saved = _load_as_the_check_does(path)
        expected = _epochs(run, 4)  # epochs 5 to 8 of the run that never stopped
        torch.manual_seed(12345)  # a new process: its generators start anywhere
        random.seed(12345)
        with recording(torch, "load") as loads, recording(torch, "set_rng_state") as rng_sets:
            result = answer_call("resume(path)", resume, path, advice=_ex2_advice(version))
        torch_state, python_state = torch.get_rng_state(), random.getstate()
        _ex2_loaded_safely(loads)
        resumed = _ex2_returned(result)
        _ex2_states(resumed, saved)
        _ex2_generators(saved, torch_state, python_state, rng_sets)
        hint(_epochs(resumed, 4) == expected,
             "the resumed epochs differ from the run that never stopped: restore every state, as "
             "resume_and_finish does in Step 3")
        _ex2_val_loader(resumed.val_loader)
        _ex2_other_versions(resume, saved, version, Path(folder))
    passed(2)


# --- Exercise 3 ---------------------------------------------------------------------------------

# One validation loss per epoch: epoch 3 is worse than the best so far, epochs 4 and 7 equal it
# (an equal loss is no improvement).
_EX3_VAL_LOSSES = [0.50, 0.30, 0.40, 0.30, 0.20, 0.25, 0.20, 0.10]


def _ex3_file(path: Path, epoch: int, val_loss: float, previous_best: float,
              best_epoch: int, elsewhere: Callable[[], bool]) -> None:
    """After a call, the file holds the best epoch so far: its number, loss and weights.
    ``elsewhere()`` tells whether the answer wrote to ex3_path instead."""
    if not path.is_file():
        hint(not elsewhere(), "keep_best saved to ex3_path, not to the path it is given: "
                              "torch.save(..., path)")
        hint(False, "nothing was saved after epoch 1: any loss beats math.inf, so save when "
                    "val_loss < best_val_loss")
    try:
        saved = _load_as_the_check_does(path)
    except pickle.UnpicklingError:
        hint(False, "torch.load(..., weights_only=True) refuses your file: save "
                    "model.state_dict(), not the model, and plain numbers")
    expected_keys = {"epoch", "val_loss", "model"}
    hint(isinstance(saved, dict) and set(saved) == expected_keys,
         "save exactly {'epoch': epoch, 'val_loss': val_loss, 'model': model.state_dict()}")
    if saved["epoch"] == epoch and epoch != best_epoch:
        hint(val_loss != previous_best,
             f"after epoch {epoch} (val_loss {val_loss}, equal to the best so far) the file holds "
             f"epoch {epoch}: an equal loss is no improvement, keep epoch {best_epoch}. Save only "
             "when val_loss < best_val_loss, strictly lower")
    hint(saved["epoch"] == best_epoch,
         f"after epoch {epoch} (val_loss {val_loss}) the file holds epoch {saved['epoch']}, but "
         f"the best so far is epoch {best_epoch}: save only when val_loss < best_val_loss")
    hint(saved["val_loss"] == _EX3_VAL_LOSSES[best_epoch - 1],
         "store the val_loss of the epoch you save")
    weights = saved["model"]
    hint(isinstance(weights, dict) and state_dicts_equal(
        weights, {k: torch.full_like(v, best_epoch) for k, v in Net().state_dict().items()}),
         "the saved weights are not the model's at the best epoch: save model.state_dict()")


def check_exercise_3(ns: dict[str, Any]) -> None:
    """Exercise 3: save on a strictly lower validation loss; return the best loss so far."""
    keep_best = given(ns, "keep_best", what="the function keep_best(path, epoch, val_loss, "
                                            "best_val_loss, model)")
    hint(callable(keep_best), "keep_best must be a function: def keep_best(path, epoch, ...)")
    ex3_path = Path(given(ns, "ex3_path", (str, Path)))
    ex3_path.unlink(missing_ok=True)  # if it appears, the answer saved there
    model = Net()
    best, best_epoch = math.inf, 0
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "another_name.pt"  # not ex3_path: save where you are told
        for epoch, val_loss in enumerate(_EX3_VAL_LOSSES, start=1):
            with torch.no_grad():
                for p in model.parameters():
                    p.fill_(epoch)  # the weights tell which epoch they are from
            returned = answer_call(f"keep_best(path, {epoch}, {val_loss}, {best}, model)",
                                    keep_best, path, epoch, val_loss, best, model)
            previous_best = best
            if val_loss < best:
                best, best_epoch = val_loss, epoch
            _ex3_file(path, epoch, val_loss, previous_best, best_epoch, ex3_path.exists)
            hint(returned == best and not isinstance(returned, bool),
                 f"after epoch {epoch} keep_best returned {returned!r}, but the best validation "
                 f"loss so far is {best}: return it")
    passed(3)
