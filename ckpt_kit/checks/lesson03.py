"""The checks of lesson 03 (whole model vs state_dict), one function per exercise.

- Exercise 1 (a real "best" snapshot) replays the student's run from ``ex1_start`` with a
  snapshot after every epoch: the model must hold the weights after exactly ``ex1_epochs``
  epochs, ``best_epoch`` the epoch of the lowest validation loss, ``best_state`` its weights,
  and the snapshot must not move when the model trains on.
- Exercise 2 (a trusted whole-model file) records every ``torch.load`` that ``load_trusted``
  makes, with its ``weights_only`` and the globals allowed at that moment: exactly those the file
  needs, only during the load, and a file that needs one more class is refused.
- Exercise 3 (the fixed loading function) records every ``torch.load``, every forward pass (the
  mode of each module, whether autograd was on) and every ``train``/``eval`` call, in order, while
  ``predict_from_file`` runs on the lesson's file and on other files and inputs.
"""

from __future__ import annotations

import copy
import pickle
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from ckpt_helpers import Net, evaluate, make_loaders, state_dicts_equal, train
from ckpt_kit.checks import given, hint, passed
from ckpt_kit.checks.probes import (
    Load,
    ModelEvent,
    answer_call,
    global_name,
    model_events,
    torch_loads,
)

# Mutants of the reference solutions that are still correct (python -m ckpt_helpers mutants 03).
EQUIVALENT_MUTANTS: dict[int, dict[str, str]] = {
    1: {
        "swap a comparison: val_loss < best_loss → val_loss <= best_loss":
            "the six validation losses of this run are all different, so no tie ever decides",
        "drop progress=: train(ex1_model, ex1_train_loader, ex1_optimizer, epochs=1, progres... "
        "→ train(ex1_model, ex1_train_loader, ex1_optimizer, epochs=1)":
            "the progress bar only prints; the training is the same",
        "flip progress=: train(ex1_model, ex1_train_loader, ex1_optimizer, epochs=1, progres... "
        "→ train(ex1_model, ex1_train_loader, ex1_optimizer, epochs=1, progres...":
            "the progress bar only prints; the training is the same",
    },
    2: {
        "delete statement: print(sorted(torch.serialization.get_unsafe_globals_in_checkpoint(e... "
        "→ pass":
            "printing the list is how the student asks the file; nothing depends on the print",
        "drop the wrapping call: sorted(torch.serialization.get_unsafe_globals_in_checkpoint(ex2_"
        "who... → torch.serialization.get_unsafe_globals_in_checkpoint(ex2_whole_path)":
            "the same list, printed unsorted",
        "call another builtin: sorted(torch.serialization.get_unsafe_globals_in_checkpoint(ex2_"
        "who... → list(torch.serialization.get_unsafe_globals_in_checkpoint(ex2_whole...":
            "the same list, printed unsorted",
    },
    3: {},
}

_EX1_LR, _EX1_SEED = 0.1, 1  # ex1_optimizer's learning rate and ex1_train_loader's seed


# --- probes ------------------------------------------------------------------------------------


def _dict_advice(error: BaseException) -> str:
    """What to do when ``load_state_dict`` was handed a path."""
    return (": load_state_dict takes a dict, so pass it torch.load(path, weights_only=True), not "
            "the path" if "dict-like" in str(error) else "")


def _safe_loads(loads: list[Load], what: str, how: str) -> None:
    """``what`` called torch.load, each time with weights_only=True passed explicitly."""
    hint(loads, f"{what} never called torch.load: read the file with "
                f"torch.load(path, weights_only=True), {how}")
    hint(all(load.weights_only is not False for load in loads),
         f"Do not use weights_only=False: it runs whatever the pickle says. Load with "
         f"weights_only=True, {how}")
    hint(all(load.weights_only is True for load in loads),
         "pass weights_only=True explicitly to torch.load: left out, it is only a default, "
         "which TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 (or a pickle_module) turns off")


# --- Exercise 1 ---------------------------------------------------------------------------------


def _ex1_replay(start: dict[str, torch.Tensor], epochs: int, val_loader: DataLoader, *,
                evaluate_on_training_data: bool = False,
                ) -> tuple[list[float], list[dict[str, torch.Tensor]]]:
    """The validation loss and the weights after each of ``epochs`` epochs of the exercise's
    run, trained one epoch at a time from ``start``."""
    model = Net()
    model.load_state_dict(start)
    optimizer = torch.optim.Adam(model.parameters(), lr=_EX1_LR)
    loader, _ = make_loaders(seed=_EX1_SEED)
    losses, snapshots = [], []
    for _ in range(epochs):
        train(model, loader, optimizer, epochs=1, progress=False)
        losses.append(evaluate(model, loader if evaluate_on_training_data else val_loader))
        snapshots.append(copy.deepcopy(model.state_dict()))
    return losses, snapshots


def _ex1_trained_as_asked(model: nn.Module, start: dict[str, torch.Tensor], epochs: int,
                          val_loader: DataLoader,
                          snapshots: list[dict[str, torch.Tensor]]) -> None:
    """ex1_model holds the weights after exactly ``epochs`` epochs; else say what it holds."""
    weights = model.state_dict()
    if state_dicts_equal(weights, snapshots[epochs - 1]):
        return
    hint(not state_dicts_equal(weights, start),
         "ex1_model was not trained: train it ex1_epochs epochs, one at a time, "
         "train(ex1_model, ex1_train_loader, ex1_optimizer, epochs=1, progress=False)")
    done = [k for k, snapshot in enumerate(snapshots, start=1) if state_dicts_equal(weights,
                                                                                   snapshot)]
    hint(not done, f"ex1_model holds the weights after {done[0] if done else 0} epochs, not "
                   f"{epochs}: train it exactly ex1_epochs epochs")
    _, on_training_data = _ex1_replay(start, epochs, val_loader, evaluate_on_training_data=True)
    hint(not state_dicts_equal(weights, on_training_data[-1]),
         "you measured the loss on ex1_train_loader: iterating it shuffles, so the batch order of "
         "the next epochs changed, and a training loss is not the validation loss. Measure "
         "evaluate(ex1_model, val_loader)")
    hint(False, "ex1_model does not hold the weights after ex1_epochs epochs: train it exactly "
                "ex1_epochs epochs, one at a time, with ex1_optimizer and ex1_train_loader, and "
                "nothing else (re-run the whole answer cell: it rebuilds the model)")


def _ex1_used_what_was_given(model: nn.Module, optimizer: torch.optim.Optimizer,
                             loader: DataLoader, epochs: int) -> None:
    """The training went through ex1_optimizer and ex1_train_loader, not through copies."""
    fresh, _ = make_loaders(seed=_EX1_SEED)
    for _ in range(epochs):  # the shuffles of ex1_epochs epochs: the generator's state after
        for _ in fresh:
            pass
    trained = [p for group in optimizer.param_groups for p in group["params"]]
    steps = epochs * len(fresh)
    hint(all(p is q for p, q in zip(trained, model.parameters()))
         and all(float(optimizer.state[p].get("step", 0)) == steps for p in trained),
         f"ex1_optimizer did not take the {steps} steps of ex1_epochs epochs: train with "
         "ex1_optimizer itself, not an optimizer of your own")
    hint(torch.equal(loader.generator.get_state(), fresh.generator.get_state()),
         "ex1_train_loader did not shuffle ex1_epochs times: train with ex1_train_loader itself, "
         "not a loader of your own")


def _ex1_best_state(best_state: Any, model: nn.Module, expected_epoch: int, epochs: int,
                    snapshots: list[dict[str, torch.Tensor]]) -> None:
    """best_state holds copies of the weights after the best epoch."""
    hint(isinstance(best_state, dict) and bool(best_state)
         and all(isinstance(v, torch.Tensor) for v in best_state.values()),
         "best_state must be a state_dict (a dict of tensors), a copy of ex1_model.state_dict()")
    if expected_epoch != epochs:
        hint(not state_dicts_equal(best_state, model.state_dict()),
             f"best_state holds the weights of the last epoch, not of epoch {expected_epoch}: "
             "state_dict() returns references to the live tensors (and dict(...) or .copy() "
             "copies only the dict), so your snapshot kept changing. Store "
             "copy.deepcopy(ex1_model.state_dict())")
    hint(state_dicts_equal(best_state, snapshots[expected_epoch - 1]),
         f"best_state is not the weights after epoch {expected_epoch}: take the snapshot right "
         "after the epoch that set the lowest validation loss")


def check_exercise_1(ns: dict[str, Any]) -> None:
    """Exercise 1: train one epoch at a time, keep the best epoch's number and a real snapshot."""
    model = given(ns, "ex1_model", nn.Module)
    start = given(ns, "ex1_start", dict)
    epochs = given(ns, "ex1_epochs", int)
    optimizer = given(ns, "ex1_optimizer", torch.optim.Optimizer)
    loader = given(ns, "ex1_train_loader", DataLoader)
    val_loader = given(ns, "val_loader", DataLoader)
    val_losses, snapshots = _ex1_replay(start, epochs + 2, val_loader)  # 2 more: too many?
    _ex1_trained_as_asked(model, start, epochs, val_loader, snapshots)
    _ex1_used_what_was_given(model, optimizer, loader, epochs)
    val_losses, snapshots = val_losses[:epochs], snapshots[:epochs]
    best_state = given(ns, "best_state", what="best_state, a copy of the best epoch's weights")
    best_epoch = given(ns, "best_epoch", what="best_epoch, the number of the best epoch")
    expected_epoch = 1 + val_losses.index(min(val_losses))
    hint(type(best_epoch) is int and best_epoch == expected_epoch,
         f"the lowest validation loss, evaluate(ex1_model, val_loader), came after epoch "
         f"{expected_epoch}, but best_epoch is {best_epoch!r}: compare the validation loss after "
         "every epoch, keep the lowest, and number the epochs from 1")
    _ex1_best_state(best_state, model, expected_epoch, epochs, snapshots)
    frozen = copy.deepcopy(best_state)
    train(model, loader, optimizer, epochs=1, progress=False)  # the model trains on
    hint(state_dicts_equal(best_state, frozen),
         "best_state changed when ex1_model trained one more epoch: it shares memory with the "
         "model (dict(...) or .copy() copies the dict, not the tensors). "
         "Store copy.deepcopy(ex1_model.state_dict())")
    passed(1)


# --- Exercise 2 ---------------------------------------------------------------------------------


_EX2_HOW = "inside the safe_globals block that allows exactly what the file needs"


def _ex2_allow_list_unchanged(before: set[Any]) -> None:
    hint(set(torch.serialization.get_safe_globals()) == before,
         "the process-wide allow-list changed: you called torch.serialization.add_safe_globals. "
         "Allow the globals only for the load: `with torch.serialization.safe_globals([...]):`")


def _ex2_saved_weights(path: Path, whole_path: Path, regressor: type) -> dict[str, Any]:
    """ex2_path holds the state_dict of the model in ex2_whole_path; returns it."""
    hint(Path(path).is_file(), f"nothing was saved at {path}: call torch.save(..., ex2_path)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            saved = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        hint(False, "torch.load(..., weights_only=True) refuses ex2_path: it holds a whole model "
                    "again. Save the loaded model's state_dict()")
    hint(isinstance(saved, dict) and bool(saved)
         and all(isinstance(v, torch.Tensor) for v in saved.values()),
         f"ex2_path holds a {type(saved).__name__} that is not a state_dict: save the state_dict "
         "itself, torch.save(model.state_dict(), ex2_path)")
    with torch.serialization.safe_globals([regressor, nn.Sequential, nn.Linear, nn.ReLU]):
        original = torch.load(whole_path, map_location="cpu", weights_only=True)
    hint(state_dicts_equal(saved, original.state_dict()),
         "ex2_path does not hold the weights of ex2_whole_path: save the state_dict of the model "
         "that load_trusted(ex2_whole_path) returns, not of a new Regressor()")
    return saved


def _ex2_loads_exactly(load_trusted: Callable[..., Any], whole_path: Path, regressor: type,
                       before: frozenset[str], saved: dict[str, Any]) -> None:
    """load_trusted(ex2_whole_path) allows exactly the file's globals, during the load only."""
    with torch_loads() as loads:
        loaded = answer_call("load_trusted(ex2_whole_path)", load_trusted, whole_path,
                             advice=_dict_advice)
    _safe_loads(loads, "load_trusted(ex2_whole_path)", _EX2_HOW)
    needed = set(torch.serialization.get_unsafe_globals_in_checkpoint(whole_path))
    extra = sorted(set().union(*(load.allowed for load in loads)) - needed - before)
    hint(not extra, f"load_trusted allowed {extra}, which ex2_whole_path does not need: "
                    "allow-list exactly what get_unsafe_globals_in_checkpoint(ex2_whole_path) "
                    "lists, nothing more")
    hint(isinstance(loaded, regressor) and state_dicts_equal(loaded.state_dict(), saved),
         "load_trusted(ex2_whole_path) must return the Regressor that the file holds")


def _ex2_refuses_more(load_trusted: Callable[..., Any], regressor: type) -> None:
    """load_trusted refuses a file that needs one global more (nn.Tanh)."""
    probe = regressor()
    probe.body[1] = nn.Tanh()  # one global more: torch.nn.modules.activation.Tanh
    with tempfile.TemporaryDirectory() as folder:
        probe_path = Path(folder) / "needs_tanh.pt"
        torch.save(probe, probe_path)
        with torch_loads() as loads:
            try:
                loaded = load_trusted(probe_path)
            except Exception:  # noqa: BLE001 - any refusal will do
                return
    body = getattr(loaded, "body", None)
    hint(isinstance(body, nn.Sequential) and len(body) > 1 and isinstance(body[1], nn.Tanh),
         "load_trusted(path) ignores `path`: load the file it names")
    _safe_loads(loads, "load_trusted(path)", _EX2_HOW)
    hint(False, f"load_trusted loaded a file that needs {global_name(nn.Tanh)}, which nobody "
                "asked you to trust: do not allow whatever the file asks for; allow-list exactly "
                "what get_unsafe_globals_in_checkpoint(ex2_whole_path) lists")


def check_exercise_2(ns: dict[str, Any]) -> None:
    """Exercise 2: load a trusted whole-model file with exactly its globals allowed, for the
    load only, and save its weights as a state_dict."""
    regressor = given(ns, "Regressor", type)
    whole_path = given(ns, "ex2_whole_path", (str, Path))
    path = given(ns, "ex2_path", (str, Path))
    before = given(ns, "ex2_allow_list_before", set)
    # first: on exit, the safe_globals blocks below remove what they allow, even if allowed before
    _ex2_allow_list_unchanged(before)
    load_trusted = given(ns, "load_trusted", what="the function load_trusted(path)")
    hint(callable(load_trusted), "load_trusted must be a function: def load_trusted(path): ...")
    saved = _ex2_saved_weights(Path(path), Path(whole_path), regressor)
    before_names = frozenset(global_name(entry) for entry in before)
    _ex2_loads_exactly(load_trusted, Path(whole_path), regressor, before_names, saved)
    _ex2_allow_list_unchanged(before)
    _ex2_refuses_more(load_trusted, regressor)
    _ex2_allow_list_unchanged(before)
    passed(2)


# --- Exercise 3 ---------------------------------------------------------------------------------


def _ex3_reference(drop_net: type, state: dict[str, torch.Tensor], X: torch.Tensor) -> torch.Tensor:
    model = drop_net()
    model.load_state_dict(state)
    model.eval()
    with torch.inference_mode():
        return model(X)


def _ex3_call(predict: Callable[..., Any], path: Path, X: torch.Tensor, what: str,
              ) -> tuple[Any, list[Load], list[ModelEvent]]:
    """predict(path, X) with its loads and model events recorded; autograd must stay on."""
    with torch_loads() as loads, model_events() as events:
        result = answer_call(f"predict_from_file({what})", predict, path, X,
                             advice=_dict_advice)
    autograd_on = torch.is_grad_enabled() and not torch.is_inference_mode_enabled()
    torch.set_grad_enabled(True)  # for the rest of the notebook, whatever the answer did
    hint(autograd_on, "predict_from_file switched autograd off for the rest of the notebook "
                      "(torch.set_grad_enabled(False)?): turn it off only around the forward "
                      "pass, `with torch.inference_mode():` or `with torch.no_grad():`")
    return result, loads, events


def _ex3_mode(forwards: list[ModelEvent], events: list[ModelEvent], drop_net: type) -> None:
    """Every module of the DropNet was in eval mode while it predicted."""
    training = [e for e in forwards if e.training]
    if not training:
        return
    model = next(e.module for e in forwards if isinstance(e.module, drop_net))
    later = events[events.index(training[0]):]
    hint(not any(e.kind == "train" and e.module is model and not e.training for e in later),
         "restored predicted in training mode: call restored.eval() before computing the "
         "predictions, not after")
    hint(not any(e.training for e in forwards if isinstance(e.module, nn.Dropout)),
         "restored is in training mode, so its Dropout still drops: a state_dict does not carry "
         "the mode. Call restored.eval() (with the parentheses) before predicting")
    hint(False, "only part of restored was in eval mode while it predicted: call "
                "restored.eval() on the whole model (it sets every submodule)")


def _ex3_autograd(forwards: list[ModelEvent], result: torch.Tensor) -> None:
    """No forward pass of the DropNet ran with autograd recording."""
    if all(not e.grad_enabled or e.inference_mode for e in forwards):
        return
    hint(result.requires_grad,
         "autograd recorded the forward pass, and .detach() afterwards comes too late: the graph "
         "was built and kept in memory while it ran. Compute the predictions inside "
         "`with torch.inference_mode():` (or `with torch.no_grad():`)")
    hint(False, "autograd recorded the predictions (requires_grad is True): compute them inside "
                "`with torch.inference_mode():` (or `with torch.no_grad():`)")


def _ex3_predicts(predict: Callable[..., Any], drop_net: type, path: Path, X: torch.Tensor,
                  what: str, notebook_models: frozenset[int]) -> torch.Tensor:
    """predict(path, X): a new DropNet, loaded with weights_only=True, in eval mode, without
    autograd. ``notebook_models``: the ids of the modules the notebook holds."""
    result, loads, events = _ex3_call(predict, path, X, what)
    _safe_loads(loads, "predict_from_file", "and pass that dict to load_state_dict: the file "
                                            "holds only tensors")
    forwards = [e for e in events if e.kind == "forward"]
    hint(any(isinstance(e.module, drop_net) for e in forwards),
         "predict_from_file did not run a DropNet: build DropNet(), load the file's weights into "
         "it and return its output for X")
    model = next(e.module for e in forwards if isinstance(e.module, drop_net))
    hint(id(model) not in notebook_models,
         "predict_from_file loaded the file into a model the notebook already holds (Step 4's "
         "`restored`?) and changed it: build a new DropNet() inside the function")
    _ex3_mode(forwards, events, drop_net)
    hint(isinstance(result, torch.Tensor), f"predict_from_file returned a "
                                           f"{type(result).__name__}: return the model's output")
    _ex3_autograd(forwards, result)
    return result


def _ex3_same_predictions(result: torch.Tensor, drop_net: type, path: Path,
                          X: torch.Tensor, what: str) -> None:
    state = torch.load(path, map_location="cpu", weights_only=True)
    expected = _ex3_reference(drop_net, state, X)
    hint(result.shape == expected.shape and torch.equal(result, expected),
         f"predict_from_file({what}) is not the prediction for X of a DropNet holding the "
         "weights in path, in eval mode: load_state_dict(torch.load(path, weights_only=True)) "
         "into the DropNet you predict with")


def _ex3_other_inputs(predict: Callable[..., Any], drop_net: type, ex3_path: Path,
                      ex3_X: torch.Tensor, folder: Path, notebook_models: frozenset[int]) -> None:
    """Another file and other inputs; a file that lacks a weight must raise."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(3)
        other_state = drop_net().state_dict()
        other_X = torch.randn(5, ex3_X.shape[1])
    other_path = folder / "other.pt"
    torch.save(other_state, other_path)
    result = _ex3_predicts(predict, drop_net, other_path, other_X, "another path, another X",
                           notebook_models)
    hint(result.shape[:1] == other_X.shape[:1],
         "predict_from_file ignores `X`: return the predictions for the X it is given")
    ex3_state = torch.load(ex3_path, map_location="cpu", weights_only=True)
    hint(not torch.equal(result, _ex3_reference(drop_net, ex3_state, other_X)),
         "predict_from_file ignores `path`: load the file it is given")
    _ex3_same_predictions(result, drop_net, other_path, other_X, "another path, another X")
    lacking = {k: v for k, v in other_state.items() if k != "fc2.bias"}
    lacking_path = folder / "lacks_fc2_bias.pt"
    torch.save(lacking, lacking_path)
    try:
        predict(lacking_path, other_X)
    except Exception:  # noqa: BLE001 - any error will do: the file must not load silently
        return
    finally:
        torch.set_grad_enabled(True)
    hint(False, "predict_from_file loaded a file that lacks fc2.bias without an error: keep "
                "load_state_dict strict (do not pass strict=False), so a wrong file fails loudly")


def check_exercise_3(ns: dict[str, Any]) -> None:
    """Exercise 3: load a state_dict safely and strictly, predict in eval mode, without
    autograd, and leave autograd on."""
    drop_net = given(ns, "DropNet", type, "the lesson's DropNet class (Step 4)")
    path = Path(given(ns, "ex3_path", (str, Path)))
    X = given(ns, "ex3_X", torch.Tensor)
    predict = given(ns, "predict_from_file", what="the function predict_from_file(path, X)")
    hint(callable(predict), "predict_from_file must be a function: def predict_from_file(path, X)")
    notebook_models = frozenset(id(v) for v in list(ns.values()) if isinstance(v, nn.Module))
    result = _ex3_predicts(predict, drop_net, path, X, "ex3_path, ex3_X", notebook_models)
    _ex3_same_predictions(result, drop_net, path, X, "ex3_path, ex3_X")
    with tempfile.TemporaryDirectory() as folder:
        _ex3_other_inputs(predict, drop_net, path, X, Path(folder), notebook_models)
    passed(3)
