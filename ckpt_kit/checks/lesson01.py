"""The checks of lesson 01 (define the network, meet its state_dict): one function per exercise.

Exercise 1 counts the numbers in a state_dict, Exercise 2 saves a state_dict and loads it into a
new ``Net``, Exercise 3 saves an optimizer after one training step. The checks call the answer's
functions on models and files of their own, record what those functions pass to ``torch.save``,
``torch.load`` and ``load_state_dict``, and replay Exercise 3's training step with a fresh
optimizer to see that exactly one step on the given batch was taken.
"""

from __future__ import annotations

import contextlib
import numbers
import pickle
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ckpt_helpers import Net, compare_state_dicts, state_dicts_equal
from ckpt_kit.checks import Recording, given, hint, passed, recording
from ckpt_kit.checks.probes import answer_function, call_answer, seeded

# Mutants of the reference solutions that are still correct answers (see the lesson's tests).
EQUIVALENT_MUTANTS: dict[int, dict[str, str]] = {
    1: {},
    2: {},
    3: {
        "delete statement: optimizer.zero_grad() → pass":
            "ex3_model is new: its gradients are None until the first backward(), so there is "
            "nothing to zero before the one step",
        "swap two arguments: nn.functional.mse_loss(ex3_model(ex3_X), ex3_y) → "
        "nn.functional.mse_loss(ex3_y, ex3_model(ex3_X))":
            "the squared error is symmetric: the same loss and the same gradient",
        "constant + 1: 0.01 → 1.01":
            "the statement lets the student choose the learning rate",
        "drop lr=: torch.optim.SGD(ex3_model.parameters(), lr=0.01, momentum=0.9) → "
        "torch.optim.SGD(ex3_model.parameters(), momentum=0.9)":
            "SGD's default learning rate (0.001) is a learning rate too: the statement lets the "
            "student choose it",
    },
}

EX3_MOMENTUM = 0.9   # the momentum the statement asks of SGD
EX3_MAX_STEPS = 5    # up to this many steps, the hint says how many were taken


# --- Exercise 1 ---------------------------------------------------------------------------------

_BUFFER_NAMES = ("running_mean", "running_var", "num_batches_tracked")

# (a wrong way to count, what it misses): told apart by what it gives for every probe
_COUNT_MISTAKES: list[tuple[Callable[[Mapping[str, torch.Tensor]], int], str]] = [
    (len, "you counted the tensors; add up each tensor's numel()"),
    (lambda sd: sum(t.numel() * t.element_size() for t in sd.values()),
     "you counted bytes; count elements with tensor.numel()"),
    (lambda sd: sum(len(t) for t in sd.values() if t.dim()),
     "len(tensor) is only the first dimension; use tensor.numel()"),
    (lambda sd: sum(t.numel() for t in sd.values() if t.is_floating_point()),
     ("count the integer tensors too (num_batches_tracked is an int64 buffer); don't filter "
      "on the dtype")),
    (lambda sd: sum(t.numel() for k, t in sd.items() if not k.endswith(_BUFFER_NAMES)),
     ("count the buffers too (running_mean, running_var, num_batches_tracked): go through "
      "state_dict.values()")),
    (lambda sd: sum(t.numel() for t in sd.values() if t.dim()),
     ("a 0-dim tensor (num_batches_tracked, torch.tensor(2.0)) holds one number: use "
      "tensor.numel(), which counts it")),
    (lambda sd: 0, ("nothing counted: add each tensor's numel() to the total (and filter "
                    "on nothing: a state_dict's tensors are detached, requires_grad is False "
                    "for all of them)")),
]


def _probes() -> dict[str, dict[str, torch.Tensor]]:
    """State_dicts to count, by how the hint names them: Net's, one with BatchNorm buffers
    (one of them the int64 ``num_batches_tracked``), and odd tensors."""
    layers = nn.Sequential()  # the lesson's BNNet: fc1, BatchNorm, fc2
    layers.add_module("fc1", nn.Linear(10, 20))
    layers.add_module("bn", nn.BatchNorm1d(20))
    layers.add_module("fc2", nn.Linear(20, 10))
    return {"Net().state_dict()": Net().state_dict(),
            "a state_dict with a BatchNorm layer": layers.state_dict(),
            "{'scale': torch.tensor(2.0), 'empty': torch.zeros(0, 3), 'counts': "
            "torch.arange(6).reshape(2, 3)}": {"scale": torch.tensor(2.0),
                                               "empty": torch.zeros(0, 3),
                                               "counts": torch.arange(6).reshape(2, 3)}}


def _count_mistake(said: dict[str, Any], which: str,
                   probes: dict[str, dict[str, torch.Tensor]]) -> str:
    """The mistake that gives what ``count_numbers`` ``said`` for each probe it counted
    (``which`` is the first it got wrong)."""
    right = sum(t.numel() for t in probes[which].values())
    why = next((why for count, why in _COUNT_MISTAKES
                if all(said[k] == count(probes[k]) for k in said)), None)
    if why is None and len(said) > 1 and len(set(map(repr, said.values()))) == 1:
        return (f"your function says {said[which]} for every state_dict: count the tensors of "
                "its argument `state_dict`, not those of a model of the lesson")
    odd = which == list(probes)[-1]
    why = why or ("a 0-dim tensor holds one number, an empty one none, an integer one counts "
                  "too: " if odd else "") + "add up tensor.numel() over state_dict.values()"
    return f"for {which} your function says {said[which]}, not {right}: {why}"


def _counts(count_numbers: Callable[..., Any],
            probes: dict[str, dict[str, torch.Tensor]]) -> dict[str, Any]:
    """What ``count_numbers`` says for each probe it does not raise on."""
    said = {}
    for which, state_dict in probes.items():
        with contextlib.suppress(AssertionError):
            said[which] = call_answer(count_numbers, "count_numbers(state_dict)", state_dict)
    return said


def check_exercise_1(ns: dict[str, Any]) -> None:
    """Exercise 1: ``count_numbers(state_dict)`` returns, as an int, how many tensor elements
    the state_dict it is given holds, buffers (integer ones too) included."""
    count_numbers = answer_function(ns, "count_numbers", "count_numbers(state_dict)")
    probes = seeded(0, _probes)
    for which, state_dict in probes.items():
        said = call_answer(count_numbers, "count_numbers(state_dict)", state_dict)
        hint(isinstance(said, numbers.Integral) and not isinstance(said, bool),
             f"return a whole number, an int (tensor.numel() gives one), not a "
             f"{type(said).__name__}")
        if said != sum(t.numel() for t in state_dict.values()):
            hint(False, _count_mistake({**_counts(count_numbers, probes), which: said}, which,
                                       probes))
    passed(1)


# --- Exercise 2 ---------------------------------------------------------------------------------

@contextlib.contextmanager
def _load_calls() -> Iterator[dict[str, Recording]]:
    """Record the answer's torch.load and load_state_dict calls."""
    with recording(torch, "load") as loads, \
            recording(nn.Module, "load_state_dict") as state_loads:
        yield {"load": loads, "load_state_dict": state_loads}


def _saved_state_dict(path: Path, model: nn.Module, source: nn.Module) -> None:
    """Hints unless ``path`` holds ``model``'s state_dict, readable with weights_only=True."""
    hint(path.is_file(), "save_and_restore(model, path) saved nothing at `path`: call "
                         "torch.save(model.state_dict(), path) with the argument `path`, "
                         "not a path of your own")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        hint(False, "torch.load(..., weights_only=True) refuses the file: it holds a whole "
                    "pickled model. Save model.state_dict() instead")
    hint(isinstance(saved, Mapping), f"save model.state_dict(), not a {type(saved).__name__}")
    if not state_dicts_equal(saved, model.state_dict()):
        hint(not state_dicts_equal(saved, source.state_dict()),
             "the file holds the weights of `source`: save those of `model`, the argument")
        differences = "; ".join(compare_state_dicts(saved, model.state_dict())[:2])
        hint(False, f"the file does not hold model's weights ({differences}): save "
                    "model.state_dict()")


def _loaded_into(restored: Any, model: nn.Module, calls: dict[str, Recording]) -> None:
    """Hints unless ``restored`` is a new Net that had the file loaded into it."""
    hint(restored is not model, "save_and_restore returned `model` itself: build a new Net() "
                                "and load the file into it")
    hint(type(restored) is Net, f"return a new Net, not a {type(restored).__name__}")
    loads = calls["load"].calls
    hint(loads, "save_and_restore never called torch.load: read the file back with "
                "torch.load(path, weights_only=True)")
    hint(all(c.arguments.get("weights_only") is True for c in loads),
         "pass weights_only=True to torch.load explicitly: it refuses code in the file, and "
         "the default depends on the torch version and on TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD")
    loaded = [c.result for c in loads if isinstance(c.result, Mapping)]
    into = [c.arguments.get("state_dict") for c in calls["load_state_dict"].calls
            if c.arguments.get("self") is restored]
    hint(into, "the Net you return never had load_state_dict called on it: call "
               "restored.load_state_dict(torch.load(path, weights_only=True))")
    hint(any(_same_tensors(sd, file) for sd in into for file in loaded),
         "load the dictionary that torch.load read from the file, not the weights of `model`")


def _same_tensors(given_sd: Any, loaded: Mapping[str, Any]) -> bool:
    """Whether ``given_sd`` hands on the very tensors of ``loaded`` (what torch.load read)."""
    if not isinstance(given_sd, Mapping) or set(given_sd) != set(loaded):
        return False
    return all(isinstance(t, torch.Tensor) and t.data_ptr() == loaded[k].data_ptr()
               for k, t in given_sd.items())


def _predicts_like(restored: nn.Module, model: nn.Module) -> bool:
    """Whether two models give the same predictions, bit for bit."""
    X = seeded(2, lambda: torch.randn(8, 10))
    with torch.inference_mode():
        return torch.equal(restored(X), model(X))


def check_exercise_2(ns: dict[str, Any]) -> None:
    """Exercise 2: ``save_and_restore(model, path)`` saves ``model``'s state_dict at ``path``,
    reads it back with ``torch.load(..., weights_only=True)`` and returns a new ``Net`` that had
    it loaded and predicts exactly as ``model`` does."""
    save_and_restore = answer_function(ns, "save_and_restore", "save_and_restore(model, path)")
    source = given(ns, "source", nn.Module)
    model = seeded(1, Net)  # other weights than `source`: the function must use its argument
    with tempfile.TemporaryDirectory(prefix="ex2-") as folder:
        path = Path(folder) / "weights.pt"
        with _load_calls() as calls:
            restored = call_answer(save_and_restore, "save_and_restore(model, path)", model, path)
        _saved_state_dict(path, model, source)
    _loaded_into(restored, model, calls)
    hint(state_dicts_equal(restored.state_dict(), model.state_dict()),
         "the Net you return does not hold model's weights: load the file into it")
    hint(_predicts_like(restored, model), "the Net you return predicts differently from model")
    passed(2)


# --- Exercise 3 ---------------------------------------------------------------------------------

def _saved_optimizer(path: Path) -> dict[str, Any]:
    """The optimizer state_dict saved at ``path``; hints if it is missing or something else."""
    hint(path.is_file(), "nothing was saved at ex3_path: torch.save(optimizer.state_dict(), "
                         "ex3_path)")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        hint(False, "torch.load(..., weights_only=True) refuses the file: save "
                    "optimizer.state_dict(), not the optimizer object")
    hint(isinstance(saved, dict) and set(saved) == {"state", "param_groups"},
         "save the optimizer's state_dict(), which has the keys 'state' and 'param_groups'"
         + (" (you saved a model's state_dict)" if isinstance(saved, dict) and
            any(isinstance(v, torch.Tensor) for v in saved.values()) else ""))
    return saved


def _optimizer_class(saved: dict[str, Any]) -> type[torch.optim.Optimizer]:
    """Adam or SGD with momentum 0.9, told by the saved state; hints for anything else."""
    groups = saved["param_groups"]
    hint(sum(len(g["params"]) for g in groups) == 4,
         "the optimizer does not hold all 4 tensors of ex3_model: give it "
         "ex3_model.parameters()")
    states = list(saved["state"].values())
    plain_sgd = all(g.get("momentum") == 0 for g in groups)
    hint(states or not plain_sgd, "the saved state is empty: plain SGD keeps no state; use Adam, "
                                  "or SGD with momentum=0.9")
    hint(states, "the saved state is empty: the optimizer creates it in step(), so save after "
                 "the step")
    if "exp_avg" in states[0]:
        return torch.optim.Adam
    hint("momentum_buffer" in states[0], "use Adam, or SGD with momentum=0.9, as the statement "
                                         f"says (your optimizer keeps {sorted(states[0])})")
    hint(all(g.get("momentum") == EX3_MOMENTUM for g in groups),
         f"use SGD with momentum=0.9, not {groups[0].get('momentum')}")
    return torch.optim.SGD


def _new_optimizer(cls: type[torch.optim.Optimizer], saved: dict[str, Any],
                   model: nn.Module) -> torch.optim.Optimizer:
    """An optimizer of ``cls`` for ``model`` with the saved param_groups' settings, no state."""
    params = list(model.parameters())
    optimizer = cls([{"params": [params[i] for i in g["params"]]}
                     for g in saved["param_groups"]])
    optimizer.load_state_dict({"state": {}, "param_groups": saved["param_groups"]})
    return optimizer


def _replay(cls: type[torch.optim.Optimizer], saved: dict[str, Any], start: Mapping[str, Any],
            batch: tuple[torch.Tensor, torch.Tensor], loss_fn: Callable[..., torch.Tensor],
            steps: int) -> tuple[Net, dict[str, Any]]:
    """``steps`` steps of ``loss_fn`` on ``batch`` from the weights ``start``, with the saved
    optimizer settings: the model and the optimizer's state_dict after them."""
    replay = Net()
    replay.load_state_dict(start)
    optimizer = _new_optimizer(cls, saved, replay)
    for _ in range(steps):
        optimizer.zero_grad()
        loss_fn(replay(batch[0]), batch[1]).backward()
        optimizer.step()
    return replay, optimizer.state_dict()


def _close(a: Any, b: Any) -> bool:
    """Two tensors (or numbers) equal to float tolerance."""
    a, b = torch.as_tensor(a).double(), torch.as_tensor(b).double()
    return a.shape == b.shape and torch.allclose(a, b, rtol=1e-5, atol=1e-7)


def _same_step(replay: tuple[Net, dict[str, Any]], saved: dict[str, Any],
               model: nn.Module) -> bool:
    """Whether a replayed step left the saved optimizer state and the model's weights."""
    net, state = replay[0].state_dict(), replay[1]["state"]
    weights = model.state_dict()
    return (set(state) == set(saved["state"]) and set(net) == set(weights)
            and all(set(state[i]) == set(saved["state"][i]) and
                    all(_close(state[i][k], saved["state"][i][k]) for k in state[i])
                    for i in state)
            and all(_close(net[k], weights[k]) for k in net))


def _mse_sum(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return nn.functional.mse_loss(output, target, reduction="sum")


# (loss, how many steps, what the answer did if that replay matches it; None: right)
_EX3_REPLAYS: list[tuple[Callable[..., torch.Tensor], int, str | None]] = [
    (nn.functional.mse_loss, 1, None),
    *[(nn.functional.mse_loss, n, f"took {n} steps: take exactly one")
      for n in range(2, EX3_MAX_STEPS + 1)],
    (_mse_sum, 1, "used the sum of the squared errors: use nn.functional.mse_loss, the mean"),
    (nn.functional.l1_loss, 1, "used the L1 loss: use the MSE loss, nn.functional.mse_loss"),
]


def _step_mistake(cls: type[torch.optim.Optimizer], saved: dict[str, Any],
                  start: Mapping[str, Any], batch: tuple[torch.Tensor, torch.Tensor],
                  model: nn.Module) -> str | None:
    """None if the saved state and the model's weights are those of one MSE step on ``batch``
    from ``start``; else what the answer did instead."""
    for loss_fn, steps, mistake in _EX3_REPLAYS:
        replay = seeded(0, lambda f=loss_fn, n=steps: _replay(cls, saved, start, batch, f, n))
        if _same_step(replay, saved, model):
            return mistake and f"the saved optimizer and ex3_model {mistake}"
    return ("the saved state and ex3_model's weights are not those of one step of "
            "nn.functional.mse_loss(ex3_model(ex3_X), ex3_y) from ex3_start: use that batch "
            "and that loss, one backward() and one step(), and save right after the step")


def check_exercise_3(ns: dict[str, Any]) -> None:
    """Exercise 3: ``ex3_path`` holds the state_dict of an Adam or momentum-0.9 SGD optimizer
    of ``ex3_model`` after exactly one MSE step on ``(ex3_X, ex3_y)``, and ``ex3_model`` took
    that step."""
    model = given(ns, "ex3_model", nn.Module)
    start = given(ns, "ex3_start", Mapping)
    X, y = given(ns, "ex3_X", torch.Tensor), given(ns, "ex3_y", torch.Tensor)
    saved = _saved_optimizer(Path(given(ns, "ex3_path", (str, Path))))
    hint(not state_dicts_equal(model.state_dict(), start),
         "ex3_model's weights did not change: give the optimizer ex3_model.parameters(), then "
         "call loss.backward() and optimizer.step()")
    cls = _optimizer_class(saved)
    mistake = _step_mistake(cls, saved, start, (X, y), model)
    hint(mistake is None, mistake or "")
    # the whole file loads into a new optimizer: a usable file
    seeded(0, lambda: _new_optimizer(cls, saved, Net()).load_state_dict(saved))
    passed(3)
