"""The checks of lesson 10 (beyond one machine): one function per exercise.

The lesson's job of two ranks saved ``step1`` and ``step2`` with DCP, and beside each folder a
full copy gathered on rank 0 (``full_step1.pt``): the oracle every loaded tensor is compared
with. Exercises 1 and 2 also get a checkpoint that the check saves itself, in a folder of its
own, with no full copy beside it and a learning rate that a scheduler lowered, and given as a
``str``: an answer must read the folder it is given, and load the optimizer's hyperparameters
too. Exercise 3 damages copies of ``step1`` in every way a save can stop half-way.
"""

from __future__ import annotations

import contextlib
import copy
import dis
import io
import logging
import os
import pickle
import shutil
import tempfile
import types
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
import torch.distributed.checkpoint as dcp
from torch import nn
from torch.distributed.checkpoint.state_dict import get_state_dict

from ckpt_helpers import Net, load_data, state_dicts_equal
from ckpt_kit.checks import given, hint, passed

# Mutants of the reference solutions that are still correct answers (see the lesson's tests).
EQUIVALENT_MUTANTS: dict[int, dict[str, str]] = {
    1: {
        "drop lr=: torch.optim.Adam(model.parameters(), lr=0.01) → "
        "torch.optim.Adam(model.parameters())":
            "set_state_dict loads the saved param_groups, the learning rate included",
        "constant + 1: 0.01 → 1.01":
            "set_state_dict loads the saved param_groups, the learning rate included",
    },
    2: {
        "drop the call .state_dict(): model.state_dict() → model":
            "dcp.load accepts a Stateful object: it calls the model's state_dict() and "
            "load_state_dict() itself",
    },
    3: {},
}

LESSON_LR = 0.01   # the learning rate the lesson's job trained with
OWN_LR = 0.005     # the check's own checkpoint: a scheduler lowered the learning rate to this


@contextlib.contextmanager
def _quietly() -> Iterator[None]:
    """Hide what a call prints, logs and warns (DCP warns that no process group exists)."""
    logging.disable(logging.CRITICAL)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(logging.NOTSET)


def _last_line(error: BaseException) -> str:
    """``Type: message`` with only the last line of the message (DCP adds whole tracebacks)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return f"{type(error).__name__}: {lines[-1]}" if lines else type(error).__name__


def _same(a: Any, b: Any) -> bool:
    """True if two nested dicts/lists/tuples hold equal plain values and identical tensors."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)
                and a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[key], b[key]) for key in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    return type(a) is type(b) and a == b


def _answer(function: Callable[..., Any], call: str, *args: Any, advice: str = "") -> Any:
    """What the answer's function returns, run quietly; what it raises becomes a hint (but the
    stub's bare ``NotImplementedError``, which means "not answered yet")."""
    try:
        with _quietly():
            return function(*args)
    except (Exception, dcp.CheckpointException) as error:  # every failure becomes a hint
        if type(error) is NotImplementedError and not str(error):
            raise  # the exercise's stub: not answered yet
        hint(False, f"{call} raised {_last_line(error).rstrip('.')}"
                    + (f". {advice}" if isinstance(error, dcp.CheckpointException) else ""))
    return None


def _function(ns: dict[str, Any], name: str, signature: str) -> Callable[..., Any]:
    """The answer's function ``name``; a hint if it is missing or not callable."""
    function = given(ns, name, what=f"your function {name}")
    hint(callable(function), f"{name} must be a function: def {signature}")
    return function


def _global_names(code: types.CodeType) -> set[str]:
    """The global names a function's code reads, its comprehensions and inner functions included."""
    names = {i.argval for i in dis.get_instructions(code) if i.opname == "LOAD_GLOBAL"}
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def _no_hidden_state(function: Callable[..., Any], ns: dict[str, Any], name: str) -> None:
    """A hint if ``function`` reads a model or optimizer from the notebook's globals: it would
    work on that object, and change it, instead of building its own."""
    code = getattr(function, "__code__", None)
    used = sorted(n for n in (_global_names(code) if code else ())
                  if isinstance(ns.get(n), (nn.Module, torch.optim.Optimizer)))
    hint(not used, f"{name} uses the notebook's `{'`, `'.join(used)}`: that changes the "
                   "notebook's object, and the function works only where it exists. Build "
                   "what the function needs inside it (model = Net(), ...)")


# --- the checkpoints --------------------------------------------------------------------------

def _lesson_checkpoints(ns: dict[str, Any]) -> list[tuple[str, Path, dict[str, Any]]]:
    """(name, folder, what was saved) for the lesson's ``step1`` and ``step2``."""
    cases = []
    for name in ("step1", "step2"):
        folder = Path(given(ns, name, (str, Path), "the lesson's DCP checkpoint"))
        full = torch.load(folder.parent / f"full_{folder.name}.pt", map_location="cpu",
                          weights_only=True)
        cases.append((folder.name, folder, full))
    return cases


def _trained_state() -> dict[str, Any]:
    """A Net and its Adam after a few steps, the learning rate lowered: as ``get_state_dict``
    gives them, copied."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(10)
        model = Net()
    optimizer = torch.optim.Adam(model.parameters(), lr=LESSON_LR)
    X, y = load_data("val")
    for step in range(3):
        optimizer.zero_grad()
        nn.functional.mse_loss(model(X[32 * step:32 * (step + 1)]),
                               y[32 * step:32 * (step + 1)]).backward()
        optimizer.step()
    optimizer.param_groups[0]["lr"] = OWN_LR   # what a learning-rate scheduler does
    model_sd, optimizer_sd = get_state_dict(model, optimizer)
    return copy.deepcopy({"model": model_sd, "optimizer": optimizer_sd})


@contextlib.contextmanager
def _own_checkpoint() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(name, folder as a str, what was saved) for a DCP checkpoint the check saves itself, in
    a folder of its own, removed on exit."""
    state = _trained_state()
    with tempfile.TemporaryDirectory(prefix="dcp-") as tmp:
        folder = os.path.join(tmp, "lowered_lr")
        with _quietly():
            dcp.save(copy.deepcopy(state), checkpoint_id=folder)
        yield "the check's own checkpoint", folder, state


# --- Exercise 1 ---------------------------------------------------------------------------------

def _returned_pair(result: Any) -> tuple[nn.Module, torch.optim.Optimizer]:
    """The (model, optimizer) an answer returned; hints for another shape or kind."""
    hint(isinstance(result, tuple) and len(result) == 2, "return the tuple (model, optimizer)")
    model, optimizer = result
    hint(isinstance(model, Net), f"return a Net as the model, not {type(model).__name__}")
    hint(type(optimizer) is torch.optim.Adam,
         f"return a torch.optim.Adam as the optimizer, not {type(optimizer).__name__}")
    params = [p for group in optimizer.param_groups for p in group["params"]]
    mine = list(model.parameters())
    hint(len(params) == len(mine) and all(p is q for p, q in zip(params, mine)),
         "the optimizer does not train every parameter of the model you return: build it on "
         "model.parameters()")
    return model, optimizer


def _optimizer_state(model: nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """The optimizer's state keyed by parameter name, as ``get_state_dict`` names it."""
    names = {id(p): name for name, p in model.named_parameters()}
    return {names[id(p)]: dict(s) for p, s in optimizer.state.items() if id(p) in names}


def _hyperparameters(group: dict[str, Any]) -> dict[str, Any]:
    """A param_group without its parameters; sequences as tuples (betas load as either)."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in group.items() if k != "params"}


def _check_optimizer(model: nn.Module, optimizer: torch.optim.Optimizer, name: str,
                     saved: dict[str, Any]) -> None:
    """The optimizer holds the saved state and hyperparameters; hints tell apart what is not."""
    state = _optimizer_state(model, optimizer)
    hint(state, "the optimizer has no state: Adam's moments and step counts were not loaded. "
                "Put the optimizer in the dict you pass to dcp.load (get_state_dict(model, "
                "optimizer) gives it, keyed by name), then set_state_dict(model, optimizer, ...)")
    hint(_same(state, saved["state"]),
         f"the optimizer's state is not the one saved in {name}: load state['optimizer'] from "
         "dcp_dir and put it into the optimizer with set_state_dict")
    have, want = _hyperparameters(optimizer.param_groups[0]), _hyperparameters(
        saved["param_groups"][0])
    hint(have["lr"] == want["lr"],
         f"the optimizer's learning rate is {have['lr']}, not the {want['lr']} saved in {name}: "
         "dcp.load filled the dicts you passed it, not the optimizer (its moments only looked "
         "loaded because get_state_dict's dicts share the optimizer's tensors). Put the loaded "
         "dicts into the model and optimizer with set_state_dict(model, optimizer, "
         "model_state_dict=..., optim_state_dict=...)")
    differ = sorted(k for k in want.keys() | have.keys() if have.get(k) != want.get(k))
    hint(not differ, f"the optimizer's hyperparameters {differ} differ from those saved in "
                     f"{name}: load the optimizer's whole state dict, param_groups included, "
                     "with set_state_dict")


def _one_more_step(model: nn.Module, optimizer: torch.optim.Optimizer, name: str,
                   saved: dict[str, Any]) -> None:
    """Train one step from the answer and from the saved state loaded the plain way: the same."""
    reference = Net()
    reference.load_state_dict(saved["model"])
    reference_optimizer = torch.optim.Adam(reference.parameters(), lr=LESSON_LR)
    reference_optimizer.load_state_dict(saved["optimizer"])  # keyed by name: loads by position
    X, y = load_data("val")
    for m, opt in ((model, optimizer), (reference, reference_optimizer)):
        opt.zero_grad()
        nn.functional.mse_loss(m(X), y).backward()
        opt.step()
    hint(state_dicts_equal(model.state_dict(), reference.state_dict()),
         f"one more training step from what you loaded of {name} gives other weights than "
         "from the saved state: load the model and the whole optimizer state with set_state_dict")


def _check_resumed(function: Callable[..., Any], name: str, folder: str | Path,
                   saved: dict[str, Any]) -> None:
    """``function(folder)`` resumes the checkpoint saved in ``folder``: model, optimizer, step."""
    result = _answer(function, f"load_on_one_process(dcp_dir) for {name}", folder,
                     advice="dcp.load needs a dict with the saved keys and nesting: "
                            "{'model': ..., 'optimizer': ...}")
    model, optimizer = _returned_pair(result)
    hint(state_dicts_equal(model.state_dict(), saved["model"]),
         f"the model does not hold the weights saved in {name}: dcp.load fills, in place, the "
         "tensors of the dict you pass it; pass {'model': model.state_dict(), ...} (an empty "
         "dict loads nothing) and load from dcp_dir")
    _check_optimizer(model, optimizer, name, saved["optimizer"])
    _one_more_step(model, optimizer, name, saved)


def check_exercise_1(ns: dict[str, Any]) -> None:
    """Exercise 1: ``load_on_one_process`` returns a Net and an Adam holding the checkpoint's
    model and whole optimizer state, for the lesson's checkpoints and the check's own."""
    function = _function(ns, "load_on_one_process", "load_on_one_process(dcp_dir)")
    _no_hidden_state(function, ns, "load_on_one_process")
    for name, folder, saved in reversed(_lesson_checkpoints(ns)):
        _check_resumed(function, name, folder, saved)
    with _own_checkpoint() as (name, folder, saved):
        _check_resumed(function, name, folder, saved)
    passed(1)


# --- Exercise 2 ---------------------------------------------------------------------------------

def _written_weights(path: Path) -> dict[str, Any]:
    """What the answer wrote at ``path``, loaded with ``weights_only=True``; hints otherwise."""
    hint(path.is_file(), "nothing was written at path: end with torch.save(..., path)")
    try:
        weights = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        hint(False, "torch.load(path, weights_only=True) refuses your file: it holds objects "
                    "that are not tensors (a whole model?). Save the state_dict: "
                    "torch.save(model.state_dict(), path)")
    except Exception as error:  # noqa: BLE001 - any failure to load is the answer's
        hint(False, f"torch.load(path, weights_only=True) fails on your file "
                    f"({type(error).__name__}): write it with torch.save, not by copying a "
                    ".distcp shard")
    hint(isinstance(weights, dict),
         f"your file holds a {type(weights).__name__}: save a state_dict (a dict)")
    hint("optimizer" not in weights and "model" not in weights,
         f"your file holds {sorted(weights)}, the whole checkpoint that dcp_to_torch_save "
         "writes: save only the model's state_dict, e.g. ckpt['model']")
    hint(sorted(weights) == sorted(Net().state_dict()),
         f"your file holds the keys {sorted(weights)}: save Net's state_dict (fc1.weight, "
         "fc1.bias, fc2.weight, fc2.bias)")
    return weights


def _check_exported(function: Callable[..., Any], name: str, folder: str | Path,
                    saved: dict[str, Any], path: Path) -> None:
    """``function(folder, path)`` writes the weights saved in ``folder`` as a plain state_dict."""
    _answer(function, f"export_weights(dcp_dir, path) for {name}", folder, path)
    weights = _written_weights(path)
    dtypes = sorted({str(t.dtype) for t in weights.values() if isinstance(t, torch.Tensor)})
    hint(dtypes == ["torch.float32"],
         f"your file's values are {', '.join(dtypes) or 'no tensors'}, not the saved "
         "torch.float32 tensors: save them as they were loaded")
    hint(state_dicts_equal(weights, saved["model"]),
         f"your file does not hold the weights saved in {name}: load them from dcp_dir "
         "(dcp.load fills the tensors you give it, in place) before saving")
    Net().load_state_dict(torch.load(path, weights_only=True))  # what the statement promises


def check_exercise_2(ns: dict[str, Any]) -> None:
    """Exercise 2: ``export_weights`` writes only the model's weights, as one plain state_dict
    file, for the lesson's checkpoints and the check's own."""
    function = _function(ns, "export_weights", "export_weights(dcp_dir, path)")
    _no_hidden_state(function, ns, "export_weights")
    with tempfile.TemporaryDirectory(prefix="weights-") as tmp, _own_checkpoint() as own:
        for k, (name, folder, saved) in enumerate([*_lesson_checkpoints(ns), own]):
            _check_exported(function, name, folder, saved, Path(tmp) / f"weights{k}.pt")
    passed(2)


# --- Exercise 3 ---------------------------------------------------------------------------------

def _cut(file: Path, size: int) -> None:
    """Truncate ``file`` to ``size`` bytes, as a copy or a write stopped half-way leaves it."""
    os.truncate(file, size)


# each case: (what the folder holds, how a copy of step1 is damaged or None for no folder,
# the answer expected, the hint when the answer is wrong)
_CASES: list[tuple[str, Callable[[Path], Any] | None, bool, str]] = [
    ("a complete checkpoint", lambda f: None, True, "step1 is complete"),
    ("a complete checkpoint plus a file that .metadata does not list",
     lambda f: (f / "notes.txt").write_text("resumed twice"), True,
     "files that .metadata does not list do not matter: only the ones it lists"),
    ("no .metadata", lambda f: (f / ".metadata").unlink(), False,
     "without .metadata the save never finished"),
    ("only .metadata.tmp", lambda f: (f / ".metadata").rename(f / ".metadata.tmp"), False,
     "a .metadata.tmp is a commit that never finished: only .metadata counts"),
    ("a shard missing", lambda f: (f / "__1_0.distcp").unlink(), False,
     "a shard file listed in .metadata is missing"),
    ("a shard cut to half", lambda f: _cut(f / "__0_0.distcp",
                                           (f / "__0_0.distcp").stat().st_size // 2), False,
     "a shard file is shorter than the byte ranges .metadata records"),
    ("a shard one byte short", lambda f: _cut(f / "__1_0.distcp",
                                              (f / "__1_0.distcp").stat().st_size - 1), False,
     ("a shard file is shorter than the byte ranges .metadata records: compare its size "
      "with offset + length of every piece in it, the last one included")),
    ("an empty .metadata", lambda f: (f / ".metadata").write_bytes(b""), False,
     "an index that cannot be read is no index"),
    ("a .metadata cut short", lambda f: _cut(f / ".metadata",
                                             (f / ".metadata").stat().st_size // 2), False,
     "an index that cannot be read is no index"),
    ("no folder at all", None, False, "a folder that does not exist holds no checkpoint"),
]


def _damaged_copy(step1: Path, tmp: Path, k: int, damage: Callable[[Path], Any] | None) -> Path:
    """A copy of ``step1`` damaged by ``damage``, or a folder that was never made (``None``)."""
    folder = tmp / f"case{k}"
    if damage is not None:
        shutil.copytree(step1, folder)
        damage(folder)
    return folder


def _judged(function: Callable[..., Any], what: str, folder: str | Path, why: str) -> Any:
    """What the answer says of ``folder``; a hint if it raises."""
    try:
        with _quietly():
            return function(folder)
    except (Exception, dcp.CheckpointException) as error:  # every failure becomes a hint
        if type(error) is NotImplementedError and not str(error):
            raise  # the exercise's stub: not answered yet
        if isinstance(error, TypeError) and isinstance(folder, str):
            hint(False, f"for a folder with {what}, given as a str, checkpoint_is_complete "
                        f"raised {_last_line(error)}: dcp_dir may be a str or a Path, and "
                        "Path(dcp_dir) works with both")
        trap = ("; dcp.CheckpointException derives from BaseException, so `except Exception` "
                "misses it" if isinstance(error, dcp.CheckpointException) else "")
        hint(False, f"for a folder with {what}, checkpoint_is_complete raised "
                    f"{type(error).__name__} ({why}){trap}: catch it and return False")
    return None


def check_exercise_3(ns: dict[str, Any]) -> None:
    """Exercise 3: ``checkpoint_is_complete`` returns True for a finished checkpoint, False for
    every way a save stops half-way, and never raises."""
    function = _function(ns, "checkpoint_is_complete", "checkpoint_is_complete(dcp_dir)")
    step1 = Path(given(ns, "step1", (str, Path), "the lesson's DCP checkpoint"))
    with tempfile.TemporaryDirectory(prefix="complete-") as tmp:
        for k, (what, damage, expected, why) in enumerate(_CASES):
            folder = _damaged_copy(step1, Path(tmp), k, damage)
            answer = _judged(function, what, str(folder) if k % 2 else folder, why)
            hint(answer is True or answer is False,
                 f"for a folder with {what} your function returned {answer!r}: return True or "
                 "False")
            hint(answer is expected, f"for a folder with {what} your function returned "
                                     f"{answer}, not {expected}: {why}")
    passed(3)
