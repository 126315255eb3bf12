"""The checks of lesson 02 (train the network): one function per exercise.

Exercise 1 predicts the right way, Exercise 2 trains a new model past the tutorial's settings,
Exercise 3 saves the trained weights and restores them for inference. The checks call the
answer's functions on models, data and files of their own and record what happens inside:
the mode of every layer and the autograd state during each forward pass, the models built,
the epochs run over ``train_loader``, the arguments given to ``torch.load``.
"""

from __future__ import annotations

import contextlib
import copy
import os
import pickle
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from ckpt_helpers import Net, evaluate, make_loaders, save_as_if_on, state_dicts_equal
from ckpt_kit.checks import Recording, forward_calls, given, hint, passed, recording
from ckpt_kit.checks.probes import answer_function, call_answer, seeded

# Mutants of the reference solutions that are still correct answers (see the lesson's tests).
EQUIVALENT_MUTANTS: dict[int, dict[str, str]] = {
    1: {},
    2: {
        "drop the call .to(): Net().to(device) → Net()":
            "the statement asks for no device: train moves each batch to the device the model "
            "is on, the CPU here",
        "drop progress=: train(new_model, train_loader, optimizer, EPOCHS, progress=False) → "
        "train(new_model, train_loader, optimizer, EPOCHS)":
            "the progress bar only shows how training goes; the check keeps it quiet",
        "flip progress=: train(new_model, train_loader, optimizer, EPOCHS, progress=False) → "
        "train(new_model, train_loader, optimizer, EPOCHS, progress=True)":
            "the progress bar only shows how training goes; the check keeps it quiet",
    },
    3: {},
}

EX2_MAX_EPOCHS = 30     # the budget the statement gives
EX2_TARGET_MSE = 0.05   # the validation MSE to get below


# --- Exercise 1 ---------------------------------------------------------------------------------

def _probe() -> nn.Sequential:
    """A model whose output depends on the mode: BatchNorm (batch statistics or running ones)
    and Dropout. Built in training mode, like every new model."""
    return nn.Sequential(nn.Linear(10, 20), nn.BatchNorm1d(20), nn.ReLU(), nn.Dropout(p=0.5),
                         nn.Linear(20, 10))


def _modes(model: nn.Module) -> list[bool]:
    """The ``training`` flag of the model and of each of its layers."""
    return [m.training for m in model.modules()]


@contextlib.contextmanager
def _autograd_kept() -> Iterator[None]:
    """Fail if the answer leaves autograd switched off; switch it back on for the lesson."""
    before = torch.is_grad_enabled()
    try:
        yield
    finally:
        after = torch.is_grad_enabled()
        torch.set_grad_enabled(before)
    hint(after == before, "predict left autograd switched off for the rest of the notebook: "
                          "switch it off in a `with torch.inference_mode():` block, which "
                          "switches it back on at its end")


def _predict_on(predict: Callable[..., Any], probe: nn.Sequential, X: torch.Tensor,
                training: bool) -> tuple[Any, list[Any], list[Any]]:
    """Call ``predict(probe, X)`` with the probe in ``training`` mode; its result and the
    forward passes seen by the probe and by its Dropout layer (which also sees a pass that
    calls ``model.forward`` directly, past the probe's hooks)."""
    probe.train(training)
    with _autograd_kept(), forward_calls(probe) as seen, forward_calls(probe[3]) as layer:
        result = call_answer(predict, "predict(model, X)", probe, X)
    return result, seen, layer


def _forward_mistakes(seen: list[Any], layer: list[Any], result: Any) -> None:
    """Hints unless every forward pass ran with the layers in eval mode and no autograd."""
    hint(seen or layer, "predict never called `model`, its argument: return model(X), "
                        "computed the right way")
    if any(f.training for f in layer):
        hint(not seen or any(f.training for f in seen),
             "you set model.training = False: that switches the model object only, not its "
             "layers (Dropout, BatchNorm). Call model.eval(), which sets every layer")
        hint(False, "the forward pass ran in training mode (Dropout dropped, BatchNorm used the "
                    "batch's statistics): call model.eval(), with the parentheses, before it")
    if any(f.grad_enabled for f in layer):
        detached = isinstance(result, torch.Tensor) and not result.requires_grad
        hint(not detached, "autograd recorded the forward pass and you detached the result "
                           "afterwards: the graph was built all the same. Run the forward pass "
                           "inside `with torch.inference_mode():` (or torch.no_grad())")
        hint(False, "autograd recorded your predictions (requires_grad is True): run the forward "
                    "pass inside `with torch.inference_mode():` (or torch.no_grad())")


def _mode_restored(before: list[bool], after: list[bool]) -> None:
    """Hints unless the model and every layer are back in the mode they were in."""
    if after == before:
        return
    was = "training" if before[0] else "eval"
    hint(after[0] == before[0],
         f"predict left the model in {'eval' if before[0] else 'training'} mode though it was "
         f"in {was} mode: remember was_training = model.training first, and call "
         "model.train(was_training) after the forward pass (not always model.train())")
    hint(False, "the model is back in its mode but its layers are not: setting model.training "
                "does not reach the layers; call model.train(was_training)")


def check_exercise_1(ns: dict[str, Any]) -> None:
    """Exercise 1: ``predict(model, X)`` returns the model's predictions for ``X``, computed
    with every layer in eval mode and autograd off, and leaves the model (and autograd) in the
    mode they were in."""
    predict = answer_function(ns, "predict", "predict(model, X)")
    probe, X = seeded(0, lambda: (_probe(), torch.randn(16, 10)))
    with torch.no_grad():
        expected = copy.deepcopy(probe).eval()(X)
    for training in (True, False):
        stats = probe[1].running_mean.clone()
        before = _modes(probe.train(training))
        result, seen, layer = _predict_on(predict, probe, X, training)
        _forward_mistakes(seen, layer, result)
        hint(isinstance(result, torch.Tensor) and result.shape == (16, 10),
             "return the model's output for X, a tensor of shape (len(X), 10), not "
             f"{type(result).__name__ if not isinstance(result, torch.Tensor) else result.shape}")
        hint(torch.allclose(result, expected),
             "your predictions differ from the model's output in eval mode: return model(X)")
        hint(torch.equal(stats, probe[1].running_mean),
             "predict changed BatchNorm's running statistics: a forward pass ran in training "
             "mode; call model.eval() before every forward pass")
        _mode_restored(before, _modes(probe))
    passed(1)


# --- Exercise 2 ---------------------------------------------------------------------------------

@contextlib.contextmanager
def _quiet_progress() -> Iterator[None]:
    """Keep ``train``'s progress bar (a widget in Jupyter) out of the check's output."""
    import tqdm.auto

    original = tqdm.auto.tqdm

    def quiet(*args: Any, **kwargs: Any) -> Any:
        return original(*args, **{**kwargs, "disable": True})

    tqdm.auto.tqdm = quiet
    try:
        yield
    finally:
        tqdm.auto.tqdm = original


@contextlib.contextmanager
def _training_calls() -> Iterator[dict[str, Recording]]:
    """Record the models built, the weights loaded into models and the loaders iterated."""
    with recording(Net, "__init__") as built, recording(nn.Module, "load_state_dict") as loads, \
            recording(DataLoader, "__iter__") as epochs, _quiet_progress():
        yield {"built": built, "loaded": loads, "iterated": epochs}


def _new_model(model: Any, calls: dict[str, Recording]) -> None:
    """Hints unless ``model`` is a Net or ReLUNet built during the call, with its own weights."""
    hint(isinstance(model, Net), f"the model must be a Net() or a ReLUNet(), not a "
                                 f"{type(model).__name__}")
    hint(any(c.arguments.get("self") is model for c in calls["built"].calls),
         "train a new model: build it inside train_new_model with Net() or ReLUNet(), not a "
         "copy of one the lesson trained")
    hint(all(c.arguments.get("self") is not model for c in calls["loaded"].calls),
         "start from the new model's own random weights: load no trained weights into it")


def _epochs_and_history(history: Any, train_loader: DataLoader,
                        calls: dict[str, Recording]) -> None:
    """Hints unless the model trained at most 30 epochs over ``train_loader``, all of them in
    the history returned."""
    epochs = sum(1 for c in calls["iterated"].calls if c.arguments.get("self") is train_loader)
    hint(epochs, "train_new_model never went through train_loader: train with "
                 "train(model, train_loader, optimizer, epochs)")
    hint(epochs <= EX2_MAX_EPOCHS,
         f"your model trained {epochs} epochs; at most {EX2_MAX_EPOCHS} are allowed: find "
         "better settings rather than training longer")
    hint(isinstance(history, Mapping) and isinstance(history.get("train"), list),
         "return the history that train() returns, a dict with a 'train' list, not a "
         f"{type(history).__name__}")
    hint(len(history["train"]) == epochs,
         f"your model trained {epochs} epochs but the history you return holds "
         f"{len(history['train'])}: call train() once, with all the epochs, and return what it "
         "returns")


def check_exercise_2(ns: dict[str, Any]) -> None:
    """Exercise 2: ``train_new_model()`` builds a new Net or ReLUNet, trains it with ``train``
    over ``train_loader`` for at most 30 epochs to a validation MSE below 0.05, and returns the
    model and the history ``train`` returned."""
    train_new_model = answer_function(ns, "train_new_model", "train_new_model()")
    train_loader = given(ns, "train_loader", DataLoader)
    with _training_calls() as calls:
        result = seeded(0, lambda: call_answer(train_new_model, "train_new_model()"))
    hint(isinstance(result, tuple) and len(result) == 2,
         f"return two things, `return model, history`, not a {type(result).__name__}")
    model, history = result
    _new_model(model, calls)
    _epochs_and_history(history, train_loader, calls)
    val_mse = evaluate(model, make_loaders()[1])
    hint(val_mse < EX2_TARGET_MSE,
         f"validation MSE {val_mse:.3f} is not below {EX2_TARGET_MSE}. Plain SGD at lr=0.01 is "
         "too slow: add momentum=0.9, or use Adam with lr=0.01 (Step 3)")
    passed(2)


# --- Exercise 3 ---------------------------------------------------------------------------------

def _saved_weights(path: Path, model: nn.Module) -> None:
    """Hints unless ``path`` holds ``model``'s state_dict, readable with weights_only=True."""
    hint(path.is_file(), "nothing was saved at ex3_path: torch.save(model.state_dict(), "
                         "ex3_path)")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        hint(False, "torch.load(..., weights_only=True) refuses your file: it holds a whole "
                    "pickled model. Save model.state_dict() instead")
    hint(isinstance(saved, Mapping) and all(isinstance(v, torch.Tensor) for v in saved.values()),
         "save the state_dict itself, a dict of tensors: torch.save(model.state_dict(), "
         "ex3_path)")
    hint(state_dicts_equal(saved, model.state_dict()),
         "the file does not hold the trained weights: save the lesson's model.state_dict()")


@contextlib.contextmanager
def _without_gpu() -> Iterator[None]:
    """Make torch see no GPU (what ``torch.load`` asks before it puts a tensor on one), so that
    a file saved from a GPU is read as on a machine without one, whatever this machine has."""
    original = torch.cuda.is_available
    torch.cuda.is_available = lambda: False
    try:
        yield
    finally:
        torch.cuda.is_available = original


def _restored(load_for_inference: Callable[..., Any], path: Path, what: str,
              advice: str = "") -> tuple[Any, Recording]:
    """``load_for_inference(path)``, on a machine without a GPU, and the torch.load calls it
    made."""
    with _without_gpu(), recording(torch, "load") as loads:
        restored = call_answer(load_for_inference, f"load_for_inference(path) on {what}", path,
                               advice=advice)
    return restored, loads


def _file_path(f: Any) -> Path | None:
    """The path torch.load was given: a path, or the name of an open file."""
    if isinstance(f, (str, os.PathLike)):
        return Path(f)
    name = getattr(f, "name", None)
    return Path(name) if isinstance(name, str) else None


def _ready(restored: Any, weights: Mapping[str, torch.Tensor], path: Path,
           loads: Recording) -> None:
    """Hints unless ``restored`` is a Net on the CPU, in eval mode, holding ``weights``, read
    from ``path`` with weights_only=True."""
    hint(isinstance(restored, nn.Module),
         f"load_for_inference must return the model, not a {type(restored).__name__}")
    hint(type(restored) is Net, f"build the class that was saved, a Net, not a "
                                f"{type(restored).__name__}")
    hint(loads, "load_for_inference(path) never read the file `path`: build a new Net() and "
                "load torch.load(path, map_location='cpu', weights_only=True) into it")
    hint(all(_file_path(f) == path for f in loads.values("f")),
         "load_for_inference(path) ignores `path`: load the file it names, not ex3_path or the "
         "lesson's model")
    hint(all(w is True for w in loads.values("weights_only")),
         "pass weights_only=True to torch.load explicitly: it refuses code in the file, and the "
         "default depends on the torch version and on TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD")
    hint(state_dicts_equal(restored.state_dict(), weights),
         "the model you return does not hold the saved weights: call "
         "load_state_dict(torch.load(path, map_location='cpu', weights_only=True)) on it")
    hint(all(t.device.type == "cpu" for t in restored.state_dict().values()),
         "return the model on the CPU: leave out .to(device)")
    hint(not restored.training, "the model you return is in training mode: call .eval() on it "
                                "before returning it")
    hint(not any(_modes(restored)), "the model is in eval mode but its layers are not: setting "
                                    "restored.training does not reach them; call .eval()")


def _two_files(load_for_inference: Callable[..., Any], folder: Path) -> None:
    """Load two files of other weights, the second saved as if from a GPU: two new models."""
    first_weights, gpu_weights = seeded(3, lambda: (Net().state_dict(), Net().state_dict()))
    first, from_gpu = folder / "first.pt", folder / "from_gpu.pt"
    torch.save(first_weights, first)
    save_as_if_on("cuda:0", gpu_weights, from_gpu)
    restored, loads = _restored(load_for_inference, first, "a file of other weights")
    _ready(restored, first_weights, first, loads)
    second, loads = _restored(load_for_inference, from_gpu, "a file saved from a GPU",
                              advice=": pass map_location='cpu' to torch.load (Step 5)")
    _ready(second, gpu_weights, from_gpu, loads)
    hint(second is not restored and state_dicts_equal(restored.state_dict(), first_weights),
         "load_for_inference returns the same model object each time, so loading a second file "
         "changed the first model: build a new Net() inside the function")


def check_exercise_3(ns: dict[str, Any]) -> None:
    """Exercise 3: ``ex3_path`` holds the lesson's trained weights; ``load_for_inference(path)``
    returns a new Net on the CPU, in eval mode, holding the weights of the file ``path``, read
    with weights_only=True, even from a file saved on a GPU."""
    model = given(ns, "model", nn.Module)
    path = Path(given(ns, "ex3_path", (str, Path)))
    _saved_weights(path, model)
    load_for_inference = answer_function(ns, "load_for_inference", "load_for_inference(path)")
    with tempfile.TemporaryDirectory(prefix="ex3-") as folder:
        _two_files(load_for_inference, Path(folder))
    restored, loads = _restored(load_for_inference, path, "ex3_path")
    _ready(restored, model.state_dict(), path, loads)
    X = seeded(4, lambda: torch.randn(32, 10))
    with torch.inference_mode():
        hint(torch.equal(restored(X), copy.deepcopy(model).cpu().eval()(X)),
             "same weights, other predictions: build the class that was saved, a Net")
    passed(3)
