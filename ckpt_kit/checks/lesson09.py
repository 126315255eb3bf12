"""The checks of lesson 09 (export and deploy): one function per exercise.

Exercise 1 exports ``ex1_model`` for any batch size, Exercise 2 fixes a function that exported a
model in training mode, Exercise 3 writes the script a server runs. Each check loads what the
answer saved with ``torch.export.load`` (the answer's own file: trusted) and proves its
predictions with ``torch.equal``; Exercise 3 also records how the script loads its inputs.
"""

from __future__ import annotations

import contextlib
import copy
import io
import pickle
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.export import Dim

from ckpt_helpers import ReLUNet, inspect_checkpoint, state_dicts_equal
from ckpt_kit.checks import given, hint, passed
from ckpt_kit.checks.probes import LEFT_OUT, torch_loads
from ckpt_kit.formats import EXPORT_PT2, TORCHSCRIPT

# Mutants of the reference solutions that are still correct answers (see the lesson's tests).
EQUIVALENT_MUTANTS: dict[int, dict[str, str]] = {
    1: {
        "constant + 1: 4 → 5": "any example batch of 2 rows or more exports a dynamic batch",
        "constant - 1: 4 → 3": "any example batch of 2 rows or more exports a dynamic batch",
    },
    2: {},
    3: {
        "in the script, drop the with: with torch.inference_mode(): predictions = served(X) → "
        "predictions = served(X)":
            "the predictions are the same numbers; the statement does not ask to turn autograd "
            "off",
        "in the script, drop map_location=: torch.load('checkpoints/09/ex3_inputs.pt', "
        "map_location='cpu', weig... → torch.load('checkpoints/09/ex3_inputs.pt', "
        "weights_only=True)":
            "the inputs were saved on the CPU: map_location='cpu' changes nothing",
    },
}

EX1_BATCHES = (1, 7, 33, 1000)       # one row, odd sizes, and more than any small `max`
EX3_PROGRAM = Path("checkpoints") / "09" / "ex3_program.pt2"   # the paths the statement names
EX3_INPUTS = Path("checkpoints") / "09" / "ex3_inputs.pt"
EX3_PREDICTIONS = Path("checkpoints") / "09" / "ex3_predictions.pt"


def _seeded(seed: int, build: Callable[[], Any]) -> Any:
    """What ``build()`` returns with the random generator seeded, leaving the generator as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def _served(path: Path, what: str) -> nn.Module:
    """The program saved at ``path``, loaded as a callable module; a hint if it is not one."""
    hint(path.is_file(), f"nothing was saved at {what}: torch.export.save(program, {what})")
    file_format = inspect_checkpoint(path).format
    hint(file_format != TORCHSCRIPT,
         f"{what} holds a TorchScript archive: TorchScript is deprecated. Export with "
         "torch.export.export and save with torch.export.save")
    hint(file_format == EXPORT_PT2,
         f"{what} holds a {file_format} file, not an exported program: save the result of "
         "torch.export.export with torch.export.save (torch.save pickles it instead)")
    return torch.export.load(path).module()  # the answer's own file: trusted


def _predict(served: nn.Module, X: torch.Tensor) -> torch.Tensor | AssertionError:
    """The served program's predictions, or the guard error that refused ``X``'s shape."""
    try:
        with torch.inference_mode():
            return served(X)
    except AssertionError as error:  # a guard of the program: a size fixed at export
        return error


# --- Exercise 1 ---------------------------------------------------------------------------------

def _rows(n: int) -> str:
    """``1 row``, ``7 rows``."""
    return f"{n} row" if n == 1 else f"{n} rows"


def _batch_hint(refused: dict[int, AssertionError]) -> str:
    """Why a program refused some of the batch sizes, told apart by which ones."""
    n, error = next(iter(refused.items()))
    said = f"the loaded program refuses a batch of {_rows(n)} ({error})"
    if len(refused) == len(EX1_BATCHES) or (1 not in refused and 7 in refused):
        return (f"{said}: it was exported for one batch size only. Pass dynamic_shapes={{'x': "
                "{0: Dim('batch')}} to torch.export.export, with an example batch of 2 rows or "
                "more (an example of 1 row pins the batch to 1, even with Dim.AUTO)")
    if 1 in refused:
        return f"{said}: a batch of one row is a batch too; give the Dim no `min` above 1"
    return f"{said}: the Dim's `max` caps the batch size; leave `max` out"


def check_exercise_1(ns: dict[str, Any]) -> None:
    """Exercise 1: the program at ``ex1_path`` runs on any batch size and predicts as
    ``ex1_model`` does."""
    model = given(ns, "ex1_model", nn.Module, "the model to export")
    path = Path(given(ns, "ex1_path", (str, Path)))
    reference = _seeded(1, lambda: ReLUNet().eval())   # what the program must compute
    hint(state_dicts_equal(model.state_dict(), reference.state_dict()),
         "ex1_model's weights changed: export it as it is given, without training it")
    served = _served(path, "ex1_path")
    inputs = _seeded(11, lambda: {n: torch.randn(n, 10) for n in EX1_BATCHES})
    predictions = {n: _predict(served, X) for n, X in inputs.items()}
    refused = {n: p for n, p in predictions.items() if isinstance(p, AssertionError)}
    hint(not refused, _batch_hint(refused) if refused else "")
    with torch.inference_mode():
        for n, X in inputs.items():
            hint(torch.equal(predictions[n], reference(X)),
                 f"the loaded program's predictions differ from ex1_model's (on {_rows(n)}): "
                 "export ex1_model itself, not a new ReLUNet()")
    passed(1)


# --- Exercise 2 ---------------------------------------------------------------------------------

def _trained_servenet(servenet: type) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """A ServeNet whose BatchNorm statistics moved, in training mode, and two batches of its
    input shape (the example, and other inputs of that shape)."""
    def build() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
        model = servenet()
        with torch.no_grad():
            for _ in range(3):  # training-mode passes move BatchNorm's running statistics
                model(torch.randn(32, 10) * 2 + 1)
        return model.train(), torch.randn(16, 10), torch.randn(16, 10)
    return _seeded(2, build)


def _run_export(export: Callable[..., Any], model: nn.Module, example: torch.Tensor,
                path: Path) -> None:
    """Call the answer's ``export_for_serving``; a hint for anything it raises but the stub."""
    try:
        export(model, example, path)
    except NotImplementedError as error:
        if not str(error):
            raise  # the exercise's stub: not answered yet
        hint(False, f"export_for_serving raised NotImplementedError ({error}): an exported "
                    "program cannot be switched to eval mode. Call model.eval() before "
                    "torch.export.export")
    except Exception as error:  # noqa: BLE001 - every failure of the answer becomes a hint
        hint(False, f"export_for_serving raised {type(error).__name__}: {error}")


def _training_mode_hint(model: nn.Module) -> str:
    """Why the program was exported with Dropout in training mode, judged by the model's modes."""
    said = "the served program predicts differently on every call: Dropout was exported in " \
           "training mode. "
    modes = [layer.training for layer in model.modules()]
    if not model.training and any(modes):
        return (f"{said}Setting model.training = False changes the flag of the model alone, "
                "not of the layers inside it: call model.eval()")
    if any(modes) and not all(modes):
        return (f"{said}Some of the model's layers are in eval mode, not all: call "
                "model.eval() on the whole model")
    return (f"{said}Call model.eval(), with the parentheses, before torch.export.export; "
            "torch.no_grad() and inference_mode() do not change the mode")


def _same_twice(served: nn.Module, X: torch.Tensor, mode_hint: str) -> torch.Tensor:
    """The served program's predictions for ``X``, asserted equal on a second call."""
    first, second = _predict(served, X), _predict(served, X)
    hint(not isinstance(first, AssertionError),
         f"the saved program refuses inputs shaped like `example` ({first}): export the model "
         "you are given, with the example you are given")
    hint(torch.equal(first, second), mode_hint)
    return first


def check_exercise_2(ns: dict[str, Any]) -> None:
    """Exercise 2: ``export_for_serving`` saves a program that predicts, on every call, what the
    model predicts in eval mode."""
    servenet = given(ns, "ServeNet", type, "the lesson's model class")
    export = given(ns, "export_for_serving", what="your function export_for_serving")
    hint(callable(export), "export_for_serving must be a function: def export_for_serving("
                           "model, example, path)")
    model, example, other = _trained_servenet(servenet)
    reference = copy.deepcopy(model).eval()
    with tempfile.TemporaryDirectory(prefix="ex2-") as folder:
        path = Path(folder) / "servenet.pt2"
        _run_export(export, model, example, path)
        hint(state_dicts_equal(model.state_dict(), reference.state_dict()),
             "export_for_serving changed the model's weights or BatchNorm statistics (a forward "
             "pass in training mode moves them): export the model as it is given")
        served = _served(path, "path")
    running_mean = served.get_buffer("bn.running_mean").clone() if hasattr(
        served, "bn") else None
    mode_hint = _training_mode_hint(model)
    first = _same_twice(served, example, mode_hint)
    with torch.inference_mode():
        expected = reference(example)
    if not torch.equal(first, expected):
        bn_moved = running_mean is not None and not torch.equal(
            running_mean, served.get_buffer("bn.running_mean"))
        hint(not bn_moved, "the served program's BatchNorm was exported in training mode (it "
                           "normalises with each batch and learns from what it serves): call "
                           "model.eval() on the whole model, not on some of its layers")
        hint(False, "the served program does not predict what `model` predicts in eval mode: "
                    "export the model you are given (not a global), after model.eval()")
    with torch.inference_mode():
        hint(torch.equal(_same_twice(served, other, mode_hint), reference(other)),
             "the served program predicts the example right but other inputs of its shape "
             "wrong: export the model itself, traced on the example")
    passed(2)


# --- Exercise 3 ---------------------------------------------------------------------------------

def _write_ex3_files() -> tuple[nn.Module, torch.Tensor]:
    """Export another model than the answer's to the program path, and write other inputs."""
    model, X = _seeded(3, lambda: (nn.Sequential(nn.Linear(10, 16), nn.Tanh(),
                                                 nn.Linear(16, 10)).eval(), torch.randn(13, 10)))
    EX3_PROGRAM.parent.mkdir(parents=True, exist_ok=True)
    torch.export.save(torch.export.export(model, (X[:4],), dynamic_shapes=({0: Dim("n")},)),
                      EX3_PROGRAM)
    torch.save(X, EX3_INPUTS)
    EX3_PREDICTIONS.unlink(missing_ok=True)
    return model, X


SCRIPT_NAME = "<deploy_script>"  # the file name the script's code is compiled under


def _run_script(script: str) -> list[Any]:
    """Run the script as a program of its own would; the ``weights_only`` of the loads its own
    code calls (not those inside ``torch.export.load``)."""
    printed = io.StringIO()  # what the script prints stays out of the check's output
    try:
        with torch_loads() as loads, contextlib.redirect_stdout(printed), \
                contextlib.redirect_stderr(printed):
            exec(compile(script, SCRIPT_NAME, "exec"),  # noqa: S102 - what the check runs
                 {"__name__": "__main__"})
    except (Exception, SystemExit) as error:  # noqa: BLE001 - any failure becomes a hint
        hint(False, f"the script raised {type(error).__name__}: {error} (it runs alone, with none "
                    "of this notebook's classes, variables or imports: import torch, load the "
                    "program with torch.export.load(...).module(), predict, torch.save the "
                    "predictions)")
    return [None if load.weights_only is LEFT_OUT else load.weights_only
            for load in loads if load.caller == SCRIPT_NAME]


def _saved_predictions() -> torch.Tensor:
    """The tensor the script saved; a hint if there is none, or something else."""
    hint(EX3_PREDICTIONS.is_file(),
         "the script saved nothing at checkpoints/09/ex3_predictions.pt: end it with "
         "torch.save(predictions, 'checkpoints/09/ex3_predictions.pt')")
    try:
        predictions = torch.load(EX3_PREDICTIONS, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        predictions = None
        hint(False, "torch.load(..., weights_only=True) refuses the predictions file: save the "
                    "predictions tensor itself")
    hint(isinstance(predictions, torch.Tensor),
         f"the predictions file holds a {type(predictions).__name__}: save the tensor itself, "
         "torch.save(predictions, path)")
    return predictions


def _weights_only_hint(value: Any) -> str:
    """What is unsafe in a ``torch.load`` of the inputs with ``weights_only=value``."""
    if value is None:
        return ("the script loads the inputs without weights_only=True: left out, the safe "
                "default is turned off by an environment variable "
                "(TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1). Write weights_only=True")
    return (f"the script loads the inputs with weights_only={value!r}: a file of inputs holds a "
            "tensor, nothing that needs to run code. Pass weights_only=True")


def check_exercise_3(ns: dict[str, Any]) -> None:
    """Exercise 3: ``deploy_script``, run with none of the notebook's names, loads the program and
    the inputs (``weights_only=True``) and saves the program's predictions."""
    script = given(ns, "deploy_script", what="the source code of your script, in a string")
    hint(isinstance(script, str),
         "deploy_script must be a string: the source code of the script, in triple quotes")
    model, X = _write_ex3_files()
    loads = _run_script(script)
    predictions = _saved_predictions()
    with torch.inference_mode():
        expected = model(X)
    hint(predictions.shape == expected.shape and torch.equal(predictions, expected),
         "the saved predictions are not the program's predictions for the inputs: when the "
         "script runs, load checkpoints/09/ex3_program.pt2 and predict the tensor in "
         "checkpoints/09/ex3_inputs.pt (both change: the check writes its own)")
    hint(loads, "the script does not call torch.load: load the inputs with "
                "torch.load('checkpoints/09/ex3_inputs.pt', weights_only=True)")
    unsafe = [value for value in loads if value is not True]
    hint(not unsafe, _weights_only_hint(unsafe[0] if unsafe else True))
    passed(3)
