"""The checks of lesson 06's exercises: transfer learning and partial loading.

Each check builds its own models, state_dicts and data loader, so that what the notebook holds
changes no verdict; from the notebook it takes only the answer's function and, for Exercise 3,
the lesson's ``DeepNet``. The probes are made to catch the usual shortcuts:

- Exercise 1: a layer whose tensor has the right number of elements in another shape, buffers
  (in the state_dict, not among the parameters), a layer the state_dict lacks, and a name the
  model lacks;
- Exercise 2: keys that contain ``hidden`` or ``out`` without being those layers
  (``hidden_norm``, ``readout``, ``encoder.hidden``), which ``str.replace`` rewrites;
- Exercise 3: a loader that counts the epochs and batches drawn from it, a hook on every
  optimizer step, and the state of ``fc1`` during every forward pass.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from unittest import mock

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from ckpt_helpers import Net, load_data
from ckpt_kit.checks import given, hint, passed
from ckpt_kit.checks.probes import answer_function, kind_of, try_call

EQUIVALENT_MUTANTS: dict[int, dict[str, str]] = {
    1: {},
    2: {},
    3: {
        "drop lr=: torch.optim.Adam([p for p in model.parameters() if p.requires_grad]... → "
        "torch.optim.Adam([p for p in model.parameters() if p.requires_grad])":
            "the statement leaves the learning rate free; Adam's default 0.001 trains too",
        "constant + 1: 0.01 → 1.01":
            "the statement leaves the learning rate free; 1.01 still trains hidden and fc2",
        "drop progress=: train(model, train_loader, optimizer, epochs, progress=False) → "
        "train(model, train_loader, optimizer, epochs)":
            "only shows a progress bar, which the check silences",
        "flip progress=: train(model, train_loader, optimizer, epochs, progress=False) → "
        "train(model, train_loader, optimizer, epochs, progress=True)":
            "only shows a progress bar, which the check silences",
    },
}








def _short(error: BaseException) -> str:
    """An exception as ``Name: last line``, cut short (load_state_dict's last line names the
    problem)."""
    text = (str(error).strip() or "no message").splitlines()[-1].strip()
    return f"{type(error).__name__}: {text[:90]}{'...' if len(text) > 90 else ''}"


@contextlib.contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """Random numbers of their own: the notebook's go on unchanged."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


# --- Exercise 1 -------------------------------------------------------------------------------


class _ProbeNet(nn.Module):
    """fc1 fits Net's checkpoint; fc2 holds as many numbers as Net's in another shape; bn has
    buffers; extra has nothing in the checkpoint."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(10, 20)
        self.fc2 = nn.Linear(10, 20)  # weight [20, 10], Net's fc2 is [10, 20]
        self.bn = nn.BatchNorm1d(20)
        self.extra = nn.Linear(3, 3)


_FITS = ["fc1.weight", "fc1.bias", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var",
         "bn.num_batches_tracked"]
_BUFFERS = ["bn.running_mean", "bn.running_var", "bn.num_batches_tracked"]


def _ex1_state_dict() -> dict[str, torch.Tensor]:
    """A trained Net's tensors, a BatchNorm layer's, and ``aux``, which _ProbeNet lacks."""
    with _seeded(6):
        sd = dict(Net().state_dict())
        sd.update({"bn.weight": torch.rand(20) + 0.5, "bn.bias": torch.randn(20),
                   "bn.running_mean": torch.randn(20), "bn.running_var": torch.rand(20) + 0.5,
                   "bn.num_batches_tracked": torch.tensor(7), "aux.weight": torch.ones(3)})
    return sd


def _load_error_hint(error: Exception) -> str:
    """What a failed load_state_dict says about the answer's filter."""
    text = str(error)
    if "size mismatch" in text:
        return ("strict=False forgives missing and unexpected names, not shapes. Pass only the "
                "tensors whose name exists in the model with the same shape (the same "
                "`tensor.shape`, not only the same number of elements)")
    if "Missing key" in text:
        return ("the model has tensors that your dict does not provide: load it with "
                "model.load_state_dict(..., strict=False)")
    if "Unexpected key" in text:
        return "the state_dict holds names the model does not have: leave them out"
    return "return the list of the keys you loaded"


def _call_load_matching(load_matching: Callable[..., Any], model: nn.Module,
                        state_dict: dict[str, torch.Tensor]) -> Any:
    """The answer's ``load_matching(model, state_dict)``; a hint if it raised."""
    loaded, error = try_call(load_matching, model, state_dict)
    if isinstance(error, RuntimeError):
        hint(False, f"load_state_dict raised '{_short(error)}': {_load_error_hint(error)}")
    hint(not isinstance(error, KeyError), f"KeyError {error}: the state_dict holds names the "
         "model does not have; check `key in model.state_dict()` before comparing shapes")
    hint(error is None, f"load_matching raised {_short(error)}" if error else "")
    return loaded


def _check_probe_model(model: nn.Module, source: dict[str, torch.Tensor],
                       before: dict[str, torch.Tensor]) -> None:
    """Every tensor that fits was loaded, parameters and buffers; nothing else changed."""
    now = model.state_dict()
    hint(all(torch.equal(now[k], source[k]) for k in ("fc1.weight", "fc1.bias")),
         "the model's fc1 did not receive the checkpoint's fc1: load the matching tensors with "
         "model.load_state_dict(..., strict=False)")
    missed = [k for k in _FITS if not torch.equal(now[k], source[k])]
    hint(not missed or not set(missed) <= set(_BUFFERS), f"{', '.join(missed)} were not loaded, "
         "though their names and shapes fit: buffers (BatchNorm's running statistics) are in "
         "model.state_dict(), not in model.parameters(); compare with model.state_dict()")
    hint(not missed, f"{missed[0] if missed else ''} was not loaded, though its name and shape "
                     "fit: load every tensor that fits (compare with the state_dict of the model "
                     "you are given)")
    changed = [k for k in before if k not in _FITS and not torch.equal(now[k], before[k])]
    hint(not changed, f"the model's {changed[0] if changed else ''} changed, but the state_dict "
                      "has no tensor of that name and shape: leave the rest of the model as it "
                      "was")


def check_exercise_1(ns: dict[str, Any]) -> None:
    """``load_matching(model, state_dict)``: loads every tensor whose name is in the model's
    state_dict with the same shape, leaves the rest, returns the list of the keys it loaded."""
    load_matching = answer_function(ns, "load_matching", "load_matching(model, state_dict)")
    source = _ex1_state_dict()
    with _seeded(7):
        probe = _ProbeNet()
    before = copy.deepcopy(probe.state_dict())
    loaded = _call_load_matching(load_matching, probe, dict(source))
    _check_probe_model(probe, source, before)
    hint(isinstance(loaded, list), f"load_matching returned {kind_of(loaded)}: return "
                                   "the list of the keys you loaded, a list")
    hint(sorted(loaded) == sorted(_FITS), f"load_matching returned {loaded}, but the keys that "
         f"fit are {_FITS} (fc2 has another shape, extra no tensor, aux no place): return the "
         "list of the keys you loaded")
    with _seeded(8):
        full, weights = Net(), Net().state_dict()
    loaded = _call_load_matching(load_matching, full, dict(weights))
    hint(isinstance(loaded, list) and sorted(loaded) == sorted(weights)
         and all(torch.equal(full.state_dict()[k], t) for k, t in weights.items()),
         "into a Net, every tensor of a Net's state_dict fits: load and return them all")
    passed(1)


# --- Exercise 2 -------------------------------------------------------------------------------

_RENAMED = {"hidden.weight": "fc1.weight", "hidden.bias": "fc1.bias",
            "out.weight": "fc2.weight", "out.bias": "fc2.bias"}
_KEPT = {"hidden_norm.weight": [20], "hidden_norm.bias": [20], "readout.weight": [2, 10],
         "output.weight": [4, 10], "encoder.hidden.weight": [5, 5], "encoder.hidden.bias": [5]}


def _ex2_cases() -> list[tuple[str, dict[str, torch.Tensor]]]:
    """(what, a version-1 state_dict): a v1 Net's, two of them, and a bigger v1 model's."""
    shapes = {key: list(t.shape) for key, t in zip(_RENAMED, Net().state_dict().values())}
    with _seeded(9):
        nets = [{key: torch.randn(shape) for key, shape in shapes.items()} for _ in range(2)]
        bigger = {key: torch.randn(shape) for key, shape in {**shapes, **_KEPT}.items()}
    return [("a version-1 Net's state_dict", nets[0]), ("another version-1 Net's", nets[1]),
            ("a bigger version-1 model's state_dict", bigger)]


def _key_of(result: Mapping[str, Any], tensor: torch.Tensor) -> str | None:
    """The key under which ``result`` holds ``tensor`` (or an equal copy of it)."""
    return next((key for key, t in result.items() if t is tensor), None) or next(
        (key for key, t in result.items() if isinstance(t, torch.Tensor)
         and t.shape == tensor.shape and t.dtype == tensor.dtype and torch.equal(t, tensor)), None)


def _swapped(name: str) -> str:
    """``fc1.weight`` → ``fc2.weight`` and back: the other layer's name."""
    layer, _, rest = name.partition(".")
    return {"fc1": "fc2", "fc2": "fc1"}.get(layer, layer) + "." + rest


def _check_names(result: Mapping[str, Any], old_sd: dict[str, torch.Tensor], what: str) -> None:
    """Every tensor of ``old_sd`` is in ``result`` under its new name."""
    found = [(old, _key_of(result, t), _RENAMED.get(old, old)) for old, t in old_sd.items()]
    hint(any(new for _, new, _ in found) or sorted(result) != sorted(e for *_, e in found),
         f"upgrade returned the right names, but none of the tensors of {what}: rename the keys "
         "of `state_dict`, the dict upgrade is given (not old_sd), and keep its tensors")
    for old, new, expected in found:
        hint(new != old or old not in _RENAMED, f"upgrade left {old!r} as it was: rename the "
             "layer hidden to fc1 and out to fc2 (hidden.weight becomes fc1.weight)")
        hint(old not in _RENAMED or new != _swapped(expected), f"upgrade renamed {old!r} to "
             f"{new!r}: hidden was Net's first layer (fc1), out its second (fc2)")
        anchor = ("str.replace rewrites hidden and out anywhere in a key (Step 4): rename a key "
                  "only when it starts with 'hidden.' or 'out.' (key.startswith, "
                  "key.removeprefix)")
        hint(new in (None, expected) or old in _RENAMED, f"upgrade turned {old!r} ({what}) into "
             f"{new!r}: only the layers hidden and out are renamed, other keys stay as they "
             f"are. {anchor}")
        hint(new in (None, expected), f"upgrade turned {old!r} into {new!r}, not {expected!r}. "
                                      f"{anchor}")
    for old, new, _ in found:
        hint(new is not None, f"{old!r} ({what}) is missing from what upgrade returned: keep "
             "every tensor (the same tensors, only their names change), and keep other keys as "
             "they are")
    hint(len(result) == len(old_sd), f"upgrade returned {len(result)} entries for the "
         f"{len(old_sd)} of {what}: return the same tensors under their new names, nothing else")


def check_exercise_2(ns: dict[str, Any]) -> None:
    """``upgrade(state_dict)``: a new dict with the same tensors, the layers hidden and out
    renamed fc1 and fc2 (keys that only look alike unchanged), which loads into Net strictly."""
    upgrade = answer_function(ns, "upgrade", "upgrade(state_dict)")
    for what, old_sd in _ex2_cases():
        before = list(old_sd.items())
        result, error = try_call(upgrade, old_sd)
        hint(error is None, f"upgrade raised {_short(error)} on {what}: rename hidden and out, "
                            "and keep every other key as it is" if error else "")
        hint(isinstance(result, Mapping), f"upgrade returned {kind_of(result)}: return "
                                          "a dict from Net's names to tensors")
        hint(len(old_sd) == len(before) and all(old_sd.get(k) is t for k, t in before),
             "upgrade changed the dict it was given: build a new dict and leave the old one as "
             "it was")
        hint(result is not old_sd, "upgrade returned the dict it was given: return a new dict")
        _check_names(result, old_sd, what)
        if "Net" in what:
            _, error = try_call(Net().load_state_dict, result)
            hint(error is None, f"Net refuses your dict ({_short(error) if error else ''}): "
                                "hidden was Net's first layer (fc1), out its second (fc2)")
    passed(2)


# --- Exercise 3 -------------------------------------------------------------------------------


class _CountingLoader(DataLoader):
    """A DataLoader that counts the passes started over it and the batches drawn from it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.passes: list[int] = []  # batches drawn in each pass

    def __iter__(self) -> Iterator[Any]:  # type: ignore[override]
        self.passes.append(0)
        for batch in super().__iter__():
            self.passes[-1] += 1
            yield batch


def _new_task_loader() -> _CountingLoader:
    """The lesson's new task (the first 3 targets), shuffled, 32 samples a batch."""
    X, y = load_data("train")
    return _CountingLoader(TensorDataset(X, y[:, :3]), batch_size=32, shuffle=True,
                           generator=torch.Generator().manual_seed(0))


class _Silent:
    """Stands in for tqdm while the answer runs: the check's output stays the same whether the
    answer shows a progress bar or not."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        from tqdm.std import tqdm

        return tqdm(*args, **{**kwargs, "disable": True})


@contextlib.contextmanager
def _watched(model: nn.Module) -> Iterator[dict[str, Any]]:
    """Record the optimizer steps taken (every optimizer) and, at every forward pass of
    ``model``, whether fc1 was trainable."""
    from torch.optim.optimizer import register_optimizer_step_post_hook

    seen: dict[str, Any] = {"steps": {}, "fc1_trainable": []}

    def on_step(optimizer: torch.optim.Optimizer, *_: Any) -> None:
        seen["steps"][optimizer] = seen["steps"].get(optimizer, 0) + 1

    def on_forward(module: nn.Module, _: Any) -> None:
        seen["fc1_trainable"].append(any(p.requires_grad for p in module.fc1.parameters()))

    step_hook = register_optimizer_step_post_hook(on_step)
    forward_hook = model.register_forward_pre_hook(on_forward)
    try:
        with mock.patch("tqdm.auto.tqdm", _Silent):
            yield seen
    finally:
        step_hook.remove()
        forward_hook.remove()


def _warm_started(deep_net: type[nn.Module]) -> nn.Module:
    """A DeepNet whose fc1 holds a source Net's fc1."""
    with _seeded(10):
        model, source = deep_net(), Net()
    model.fc1.load_state_dict(source.fc1.state_dict())
    return model


def _run_fine_tune(fine_tune: Callable[..., Any], model: nn.Module, loader: _CountingLoader,
                   epochs: int) -> tuple[Any, dict[str, Any]]:
    """The answer's ``fine_tune``, watched; a hint if it raised."""
    with _watched(model) as seen:
        result, error = try_call(fine_tune, model, loader, epochs)
    if error is not None:
        hint(any(p.requires_grad for p in model.parameters()), f"you froze every layer, so "
             f"training failed ({_short(error)}). Freeze only fc1, the loaded layer; hidden and "
             "fc2 must keep requires_grad=True")
        hint(False, f"fine_tune(model, train_loader, epochs={epochs}) raised {_short(error)}")
    return result, seen


def _check_frozen(model: nn.Module, before: dict[str, torch.Tensor], seen: dict[str, Any]) -> None:
    """fc1 frozen before training and unchanged; hidden and fc2 still trainable."""
    after = model.state_dict()
    hint(not any(p.requires_grad for p in model.fc1.parameters()), "fc1 still has "
         "requires_grad=True: freeze the loaded layer, model.fc1.requires_grad_(False), before "
         "training")
    hint(all(p.requires_grad for p in [*model.hidden.parameters(), *model.fc2.parameters()]),
         "hidden or fc2 is frozen too: freeze only fc1, the new layers must stay trainable")
    hint(all(torch.equal(before[k], after[k]) for k in ("fc1.weight", "fc1.bias")),
         "fc1 changed during training: freeze it before you train, not after")
    trainable = sum(seen["fc1_trainable"])
    hint(not trainable, f"fc1 was still trainable (requires_grad=True) in {trainable} of the "
         f"{len(seen['fc1_trainable'])} forward passes of training: freeze it before you train, "
         "so that autograd computes no gradient for it")


def _check_epochs(loader: _CountingLoader, epochs: int) -> None:
    """Exactly ``epochs`` whole passes over the loader the answer was given."""
    passes = loader.passes
    hint(sum(passes) > 0, "fine_tune drew no batch from the train_loader it was given: train "
                          "on train_loader, the argument, with train(...) or your own loop")
    hint(len(passes) == epochs, f"with epochs={epochs}, fine_tune went through train_loader "
                                f"{len(passes)} time(s): train for `epochs` epochs, one pass over "
                                "train_loader each")
    hint(all(n == len(loader) for n in passes), f"with epochs={epochs}, fine_tune drew {passes} "
         f"batches in its passes over train_loader, which has {len(loader)}: in each epoch, "
         "train on every batch")


def _check_optimizer(model: nn.Module, optimizer: Any, loader: _CountingLoader,
                     seen: dict[str, Any]) -> None:
    """The optimizer returned is the one that stepped, once per batch, over the trainable
    parameters only."""
    hint(isinstance(optimizer, torch.optim.Optimizer), f"fine_tune returned "
         f"{kind_of(optimizer)}: return the optimizer you trained with")
    batches, steps = sum(loader.passes), seen["steps"].get(optimizer, 0)
    hint(steps > 0 or not seen["steps"], "the optimizer you returned never took a step, another "
                                         "one did: return the optimizer you trained with")
    hint(steps == batches, f"the optimizer you returned took {steps} steps in {batches} batches: "
                           "take one optimizer step per batch, as train(...) does")
    in_optimizer = {id(p) for group in optimizer.param_groups for p in group["params"]}
    hint(in_optimizer & {id(p) for p in model.parameters()}, "the optimizer you returned holds "
         "none of the parameters of the model fine_tune was given: build it inside fine_tune, "
         "over that model's trainable parameters")
    hint(in_optimizer == {id(p) for p in model.parameters() if p.requires_grad},
         "give the optimizer only the trainable parameters, "
         "[p for p in model.parameters() if p.requires_grad]: a frozen parameter that carries an "
         "old .grad is still moved by an optimizer that holds it (Step 5)")


def check_exercise_3(ns: dict[str, Any]) -> None:
    """``fine_tune(model, train_loader, epochs)``: freezes fc1 before training, trains hidden and
    fc2 for exactly ``epochs`` passes over ``train_loader``, returns the optimizer that did it."""
    fine_tune = answer_function(ns, "fine_tune", "fine_tune(model, train_loader, epochs)")
    deep_net = given(ns, "DeepNet", type, "the lesson's DeepNet (run the lesson's cells)")
    for epochs in (2, 3):
        model, loader = _warm_started(deep_net), _new_task_loader()
        before = copy.deepcopy(model.state_dict())
        optimizer, seen = _run_fine_tune(fine_tune, model, loader, epochs)
        _check_frozen(model, before, seen)
        _check_epochs(loader, epochs)
        _check_optimizer(model, optimizer, loader, seen)
        after = model.state_dict()
        hint(all(not torch.equal(before[k], after[k]) for k in
                 ("hidden.weight", "hidden.bias", "fc2.weight", "fc2.bias")),
             "hidden and fc2 did not change: train them with an optimizer that holds their "
             "parameters")
    passed(3)
