"""The checks of lesson 08 (big checkpoints): resume training from a mapped checkpoint, read a
few rows of a big tensor, and load into a meta model with the check the snippet lacked.

Each check writes its own files in a temporary folder. What an answer loads is recorded
(every ``torch.load`` call, its ``mmap`` and ``weights_only``, and the tensors it returned), so
that a check can tell whether a model's weights *are* the file's mapped tensors (``mmap=True``
and ``assign=True``), were read into memory, or were copied into memory the model allocated.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file
from torch import nn

from ckpt_helpers import load_checkpoint, save_checkpoint, state_dicts_equal
from ckpt_kit.checks import Call, given, hint, passed, recording

# Mutants of the reference solutions that are still correct: exercise → {mutant id: why}.
EQUIVALENT_MUTANTS: dict[int, dict[str, str]] = {
    1: {
        "drop lr=: torch.optim.Adam(model.parameters(), lr=0.001) → "
        "torch.optim.Adam(model.parameters())":
            "optimizer.load_state_dict restores the saved learning rate (and 1e-3 is the default)",
        "constant + 1: 0.001 → 1.001":
            "optimizer.load_state_dict replaces the learning rate by the saved one",
    },
    2: {},
    3: {
        "use another parameter: path → model_class (again)":
            "the ValueError's message must name what is left on meta; the rest of it is free",
        "drop the wrapping call: ', '.join(leftovers) → leftovers":
            "a list in the message still names every parameter and buffer left on meta",
    },
}

KIT_MMAP = ("the kit's load_checkpoint and load_weights map only files of 64 MB or more unless "
            "you pass mmap=True")


# --- probes the three checks share -----------------------------------------------------------

def _run_quietly(function: Callable[..., Any], *args: Any) -> tuple[Any, list[Any], str]:
    """``function(*args)``, the warnings it gave, and the default device it left behind (the
    check goes on on the CPU whatever it was); what it printed is dropped."""
    try:
        with warnings.catch_warnings(record=True) as caught, \
                contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("always")
            result = function(*args)
    finally:
        device = torch.empty(()).device.type
        torch.set_default_device(None)
    return result, list(caught), device


def _probe_class(model_class: type[nn.Module]) -> tuple[type[nn.Module], list[str]]:
    """A subclass of ``model_class`` that notes on which device each instance is built."""
    built_on: list[str] = []

    class Probe(model_class):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            built_on.append(torch.empty(()).device.type)
            super().__init__()

    Probe.__name__ = Probe.__qualname__ = model_class.__name__
    return Probe, built_on


@contextlib.contextmanager
def _load_calls() -> Iterator[list[Call]]:
    """Every torch.load call made in the block (by the answer or the kit's helpers)."""
    with recording(torch, "load") as direct, recording(torch.serialization, "load") as inner:
        calls: list[Call] = []
        yield calls
    calls += direct.calls + inner.calls


def _tensors(obj: Any) -> Iterator[torch.Tensor]:
    """The tensors in a loaded object (dicts, lists and tuples of them)."""
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, dict):
        for value in obj.values():
            yield from _tensors(value)
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            yield from _tensors(value)


def _check_weights_only(calls: list[Call], who: str) -> None:
    """Every torch.load call passed weights_only=True."""
    values = [call.arguments.get("weights_only") for call in calls]
    hint(False not in values,
         f"{who} loaded with weights_only=False, which runs whatever the file's pickle names: "
         "pass weights_only=True")
    hint(all(v is True for v in values),
         f"{who} called torch.load without weights_only=True: write it explicitly (the default "
         "can be switched off by an environment variable)")


def _check_mapped(model: nn.Module, calls: list[Call], who: str) -> None:
    """The model's tensors are the tensors a torch.load(..., mmap=True) returned."""
    mapped = {t.data_ptr() for call in calls if call.arguments.get("mmap") is True
              for t in _tensors(call.result)}
    read = {t.data_ptr() for call in calls if call.arguments.get("mmap") is not True
            for t in _tensors(call.result)}
    own = [(name, t.data_ptr()) for name, t in model.state_dict().items()]
    hint(mapped or not read, f"{who} read the whole file into memory: map it, "
                             f"torch.load(path, mmap=True, weights_only=True) ({KIT_MMAP})")
    hint(not any(ptr in read for _, ptr in own),
         f"the model's weights come from a torch.load without mmap=True: map the file "
         f"({KIT_MMAP})")
    copied = [name for name, ptr in own if ptr not in mapped]
    hint(not copied, f"{', '.join(copied)} hold copies in memory the model allocated (to_empty, "
                     "or load_state_dict without assign=True), not the file's mapped tensors: "
                     "load with assign=True, so that the mapped tensors become the model's")


def _on_meta(model: nn.Module) -> list[str]:
    """The names of the parameters and buffers of ``model`` still on the meta device."""
    return [name for name, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]


def _check_built(built_on: list[str], device: str, advice: str) -> None:
    """The model was built once, by model_class(), on meta, and the default device is back."""
    hint(device == "cpu",
         f"afterwards, new tensors are made on {device}: you changed the default device for the "
         "whole process (torch.set_default_device). Build inside `with torch.device(\"meta\"):`, "
         "which ends with its block")
    hint(built_on, "build the model by calling model_class(), the class you are given")
    hint(len(built_on) == 1, f"model_class() was called {len(built_on)} times: build the model "
                             "once, on meta")
    hint(built_on[0] == "meta",
         f"the model was built on {built_on[0]}, which allocates every weight and fills it with "
         "random numbers first: " + advice)


def _check_no_meta(model: nn.Module, loads: list[Call], raising: bool) -> None:
    """Nothing of ``model`` is left on meta; the hint tells a missing load from a copy."""
    left = _on_meta(model)
    hint(loads or not left, f"{', '.join(left)} are still on meta: load the file's state_dict "
                            "into the model, model.load_state_dict(..., assign=True)")
    hint(not left, f"{', '.join(left)} are still on meta"
                   + (", and load_fixed did not raise" if raising else "")
                   + ": load_state_dict copies into the model's tensors, and a copy into a meta "
                     "tensor does nothing. Pass assign=True"
                   + (", and raise ValueError when anything is left" if raising else ""))


# --- Exercise 1: resume training from a big checkpoint ----------------------------------------

def _training_checkpoint(ex_net: type[nn.Module], path: Path, seed: int) -> Path:
    """An ExNet and its Adam optimizer after one step, saved as {"model", "optimizer",
    "epoch"}; the caller's random numbers go on unchanged."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = ex_net()
        X, y = torch.randn(16, 256), torch.randn(16, 256)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        nn.functional.mse_loss(model(X), y).backward()
        optimizer.step()
    return save_checkpoint({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                            "epoch": 3}, path)


def _holds_parameters_of(optimizer: torch.optim.Optimizer, model: nn.Module) -> bool:
    """True if the optimizer updates exactly this model's parameter objects."""
    held = [p for group in optimizer.param_groups for p in group["params"]]
    return len(held) == len(list(model.parameters())) and all(
        a is b for a, b in zip(held, model.parameters()))


def _same_optimizer_state(optimizer: torch.optim.Optimizer, saved: dict[str, Any]) -> bool:
    """The optimizer holds the saved moments, step counts and settings."""
    state, groups = optimizer.state_dict()["state"], optimizer.state_dict()["param_groups"]
    same_state = all(key in state.get(index, {}) and torch.equal(state[index][key], value)
                     for index, entry in saved["state"].items() for key, value in entry.items())
    same_groups = len(groups) == len(saved["param_groups"]) and all(
        group == saved_group for group, saved_group in zip(groups, saved["param_groups"]))
    return same_state and same_groups


def _check_ready_to_train(model: nn.Module, optimizer: Any, saved: dict[str, Any]) -> None:
    """Trainable parameters in train mode, and an Adam over them with the saved state."""
    hint(all(isinstance(p, nn.Parameter) and p.requires_grad for p in model.parameters()),
         "the model's weights are not trainable parameters (requires_grad): load them with "
         "load_state_dict(..., assign=True), which keeps them parameters")
    hint(all(m.training for m in model.modules()),
         "the model is in evaluation mode: return it ready to train on, in training mode (do "
         "not call model.eval() here)")
    hint(isinstance(optimizer, torch.optim.Optimizer) and _holds_parameters_of(optimizer, model),
         "the optimizer does not hold the model's parameters: load_state_dict(..., assign=True) "
         "replaces every parameter object, so an optimizer built before the load trains the "
         "discarded meta tensors. Build the optimizer after the load")
    hint(isinstance(optimizer, torch.optim.Adam),
         f"the optimizer is a {type(optimizer).__name__}: build torch.optim.Adam, the one saved")
    hint(_same_optimizer_state(optimizer, saved),
         "the optimizer starts over (no moments, no step count, not the saved settings): "
         "optimizer.load_state_dict(ckpt['optimizer'])")


def _check_one_step(model: nn.Module, optimizer: Any, ex_net: type[nn.Module],
                    saved: dict[str, Any]) -> None:
    """One training step with the answer's pair equals one with the saved run's."""
    reference = ex_net()
    reference.load_state_dict(saved["model"])
    reference_optimizer = torch.optim.Adam(reference.parameters(), lr=1e-3)
    reference_optimizer.load_state_dict(saved["optimizer"])
    generator = torch.Generator().manual_seed(12)
    X, y = torch.randn(16, 256, generator=generator), torch.randn(16, 256, generator=generator)
    for net, opt in ((model, optimizer), (reference, reference_optimizer)):
        opt.zero_grad()
        nn.functional.mse_loss(net(X), y).backward()
        opt.step()
    hint(state_dicts_equal(model.state_dict(), reference.state_dict()),
         "one training step with your model and optimizer differs from the saved run's: keep "
         "the saved settings (optimizer.load_state_dict restores the learning rate too)")


def check_exercise_1(ns: dict[str, Any]) -> None:
    """Exercise 1: ``resume_big(model_class, path)`` builds on meta, maps the file, assigns its
    weights, and returns an Adam built after the load with the saved state."""
    resume_big = given(ns, "resume_big", what="resume_big(model_class, path)")
    ex_net = given(ns, "ExNet", type, "the ExNet class of the exercises")
    probe, built_on = _probe_class(ex_net)
    with tempfile.TemporaryDirectory(prefix="ckpt-08-ex1-", ignore_cleanup_errors=True) as tmp:
        path = _training_checkpoint(ex_net, Path(tmp) / "resume.pt", seed=11)
        saved = load_checkpoint(path, mmap=False)
        with _load_calls() as calls, recording(nn.Module, "load_state_dict") as loads:
            try:
                result, _, device = _run_quietly(resume_big, probe, path)
            except NotImplementedError:
                raise
            except Exception as error:  # noqa: BLE001 - any error becomes a hint
                hint(False, f"resume_big(model_class, path) raised {type(error).__name__}: "
                            f"{error}")
        _check_built(built_on, device, "build it inside `with torch.device(\"meta\"):`")
        hint(isinstance(result, tuple) and len(result) == 2,
             "return the tuple (model, optimizer)")
        model, optimizer = result
        hint(isinstance(model, probe), "return the model you built with model_class()")
        _check_no_meta(model, loads.calls, raising=False)
        _check_weights_only(calls, "resume_big")
        hint(state_dicts_equal(model.state_dict(), saved["model"]),
             "the model does not hold the weights of the file at `path`: load its ckpt['model']")
        _check_mapped(model, calls, "resume_big")
        _check_ready_to_train(model, optimizer, saved["optimizer"])
        _check_one_step(model, optimizer, ex_net, saved)
    passed(1)


# --- Exercise 2: read a few rows of a big tensor ----------------------------------------------

_EX2_CALLS = (("embed.weight", 100, 103), ("head.weight", 0, 1), ("embed.weight", 8190, 8192))


def _memory_mb() -> dict[str, float] | None:
    """This process's peak total memory in MB; None without Linux's /proc."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {"peak": int(fields["VmHWM"].split()[0]) / 1024}


def _reset_peak() -> None:
    """Start a new peak from the current total (Linux 4.0 and later; elsewhere nothing)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _write_embeddings(path: Path) -> dict[tuple[str, int, int], torch.Tensor]:
    """A file like ``ex2_path`` (8192 x 1024 and 1024 x 64 float32) with values of its own; the
    rows each call of _EX2_CALLS must return."""
    generator = torch.Generator().manual_seed(22)
    tensors = {"embed.weight": torch.randn(8192, 1024, generator=generator),
               "head.weight": torch.randn(1024, 64, generator=generator)}
    save_file(tensors, path)
    return {(name, start, stop): tensors[name][start:stop].clone()
            for name, start, stop in _EX2_CALLS}


def _check_rows(rows: Any, wanted: torch.Tensor, call: str) -> None:
    """``rows`` are the wanted rows, in a tensor that owns its memory."""
    hint(isinstance(rows, torch.Tensor),
         f"{call} returned a {type(rows).__name__}: return a torch tensor "
         "(safe_open(path, framework=\"pt\"))")
    hint(rows.shape == wanted.shape,
         f"{call} has shape {tuple(rows.shape)}, not {tuple(wanted.shape)}: rows start to "
         "stop - 1, as in t[start:stop]")
    hint(rows.dtype == wanted.dtype,
         f"{call} is {rows.dtype}, but the file stores {wanted.dtype}: keep the file's dtype")
    hint(torch.equal(rows, wanted), f"{call} does not hold those rows of the file's tensor")
    storage = rows.untyped_storage().nbytes()
    hint(storage == rows.numel() * rows.element_size(),
         f"your rows are a view into {storage / 2**20:.2f} MB (the whole tensor, mapped from the "
         "file): they keep the file in use and would change if it were overwritten in place. "
         "Return a copy that owns only the rows: .clone()")


def check_exercise_2(ns: dict[str, Any]) -> None:
    """Exercise 2: ``read_rows(path, name, start, stop)`` returns a copy of those rows and, where
    Linux reports memory, reads little more than them."""
    read_rows = given(ns, "read_rows", what="read_rows(path, name, start, stop)")
    with tempfile.TemporaryDirectory(prefix="ckpt-08-ex2-", ignore_cleanup_errors=True) as tmp:
        path = Path(tmp) / "embeddings.safetensors"
        expected = _write_embeddings(path)
        for name, start, stop in _EX2_CALLS:
            call = f"read_rows(path, {name!r}, {start}, {stop})"
            _reset_peak()
            before = _memory_mb()
            try:
                rows, _, _ = _run_quietly(read_rows, path, name, start, stop)
            except NotImplementedError:
                raise
            except Exception as error:  # noqa: BLE001 - any error becomes a hint
                hint(False, f"{call} raised {type(error).__name__}: {error}")
            after = _memory_mb()
            _check_rows(rows, expected[name, start, stop], call)
            if before is not None and after is not None and name == "embed.weight":
                added = after["peak"] - before["peak"]
                hint(added < 8, f"{call} raised this process's peak memory by {added:.0f} MB, "
                                "as much as the whole 32 MB tensor or more: read only the rows, "
                                "safe_open(path, framework=\"pt\").get_slice(name)[start:stop]")
    passed(2)


# --- Exercise 3: find the trap ----------------------------------------------------------------

def _cached_class(ex_net: type[nn.Module]) -> type[nn.Module]:
    """An ExNet with two buffers that are not saved (persistent=False), one in a submodule."""

    class CachedNet(ex_net):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("cache", torch.arange(4.0), persistent=False)
            self.layers[0].register_buffer("mask", torch.ones(4), persistent=False)

    return CachedNet


_UNSAVED = ("cache", "layers.0.mask")


def _check_raises_for_unsaved(load_fixed: Callable[..., Any], ex_net: type[nn.Module],
                              path: Path) -> None:
    """Loading into a CachedNet raises ValueError naming every buffer left on meta."""
    cached_class, _ = _probe_class(_cached_class(ex_net))
    try:
        cached, _, _ = _run_quietly(load_fixed, cached_class, path)
    except ValueError as error:
        unnamed = [name for name in _UNSAVED if name not in str(error)]
        hint(not unnamed, f"your ValueError does not name {', '.join(unnamed)}, left on meta too "
                          f"(name every one): {error}")
        return
    except NotImplementedError:
        raise
    except Exception as error:  # noqa: BLE001 - any error becomes a hint
        hint(False, f"raise ValueError naming what is still on meta, not "
                    f"{type(error).__name__} ({error})")
    state = "is on meta, with no values" if cached.cache.is_meta else (
        f"is on {cached.cache.device.type} but uninitialised, not the values it was built with")
    hint(False, f"load_fixed returned a CachedNet whose buffer `cache` {state}: it is not in the "
                "file (persistent=False), so nothing loaded it. After loading, look at every "
                "parameter and buffer (named_buffers(); state_dict() skips such buffers) and "
                "raise ValueError naming those still on meta")


def check_exercise_3(ns: dict[str, Any]) -> None:
    """Exercise 3: ``load_fixed(model_class, path)`` builds on meta, maps the file, assigns its
    weights, and raises ValueError naming every parameter or buffer left on meta."""
    load_fixed = given(ns, "load_fixed", what="load_fixed(model_class, path)")
    ex_net = given(ns, "ExNet", type, "the ExNet class of the exercises")
    probe, built_on = _probe_class(ex_net)
    with tempfile.TemporaryDirectory(prefix="ckpt-08-ex3-", ignore_cleanup_errors=True) as tmp:
        path = Path(tmp) / "weights.pt"
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(13)
            weights = ex_net().state_dict()
        torch.save(weights, path)
        with _load_calls() as calls, recording(nn.Module, "load_state_dict") as loads:
            try:
                model, caught, device = _run_quietly(load_fixed, probe, path)
            except NotImplementedError:
                raise
            except Exception as error:  # noqa: BLE001 - any error becomes a hint
                hint(False, f"load_fixed raised {type(error).__name__} ({error}) for a file that "
                            "fits the model" + (": did the load really fill it? (assign=True)"
                                                if isinstance(error, ValueError) else ""))
        _check_built(built_on, device, "keep the fast path, build it inside "
                     "`with torch.device(\"meta\"):` and fix the load instead")
        hint(isinstance(model, probe), "return the model you built with model_class()")
        _check_no_meta(model, loads.calls, raising=True)
        hint(not caught, f"load_fixed warned: {caught[0].message if caught else ''}")
        _check_weights_only(calls, "load_fixed")
        hint(state_dicts_equal(model.state_dict(), weights),
             "the model does not hold the weights of the file at `path`")
        _check_mapped(model, calls, "load_fixed")
        _check_raises_for_unsaved(load_fixed, ex_net, path)
    passed(3)
