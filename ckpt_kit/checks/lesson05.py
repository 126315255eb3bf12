"""The checks of lesson 05's exercises: checkpoints across devices.

The lesson is about devices, and most machines that check it have no GPU. So the checks simulate
the devices they need, and give the same verdict with or without one:

- files that a GPU or a Mac would have written: every storage tagged ``cuda:0``, ``cuda:1``,
  ``cuda:7`` or ``mps`` (``save_as_if_on``), loaded through torch's real device checks;
- a machine without a GPU and one with a GPU: ``torch.cuda.is_available`` (and MPS's) patched to
  return False, or True, for the duration of one call;
- "another device" to resume on: ``meta``, whose tensors have a device and a dtype but no data;
- ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` in the environment, which turns off the default
  ``weights_only=True`` of every ``torch.load`` that does not pass it.

Every patch is undone when the probe ends, even when the answer raises.
"""

from __future__ import annotations

import contextlib
import copy
import os
import pickle
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from unittest import mock

import torch
from torch import nn

from ckpt_helpers import DATA_DIR, Net, load_data, save_as_if_on, state_dicts_equal
from ckpt_kit.checks import Recording, hint, passed, recording
from ckpt_kit.checks.probes import answer_function, kind_of, try_call

EQUIVALENT_MUTANTS: dict[int, dict[str, str]] = {
    1: {"drop the wrapping call: torch.device('cpu') → 'cpu'":
        "map_location accepts the string 'cpu' and torch.device('cpu') alike"},
    2: {},
    3: {},
}


def _adam_checkpoint() -> dict[str, Any]:
    """Step 3's checkpoint, rebuilt: a Net after three full-batch Adam steps (lr 0.01), with the
    optimizer's state. The notebook's random numbers go on unchanged."""
    X, y = load_data("train")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(5)
        model = Net()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(3):
        optimizer.zero_grad()
        nn.functional.mse_loss(model(X), y).backward()
        optimizer.step()
    return {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 3}


# --- Exercise 1 -------------------------------------------------------------------------------

_PAYLOAD_RAN: list[str] = []


def _payload(marker: str) -> str:
    """What the refused file's pickle calls when it is unpickled without weights_only=True."""
    _PAYLOAD_RAN.append(marker)
    return marker


class _Payload:
    """Pickles as a call to :func:`_payload`: harmless, but weights_only=True refuses it."""

    def __reduce__(self) -> tuple[Callable[[str], str], tuple[str]]:
        return _payload, ("the file's code ran",)


def _ex1_files(folder: Path) -> list[tuple[Path, str, str, Any]]:
    """(path, tag it was saved with, what it holds, the object) for every file of the check."""
    ckpt = {**_adam_checkpoint(), "seen": torch.arange(3), "scale": torch.ones(2).double()}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        fixture = Net().state_dict()  # what data/net_cuda.pt holds (data/README.md)
        weights = Net().state_dict()
    files = [(DATA_DIR / "net_cuda.pt", "cuda:0", "a state_dict", fixture)]
    for tag, what, obj in (("cuda:1", "a checkpoint dict", ckpt), ("cuda:7", "a state_dict", weights),
                           ("mps", "a state_dict", weights), ("cpu", "a checkpoint dict", ckpt)):
        path = folder / f"saved_on_{tag.replace(':', '_')}.pt"
        save_as_if_on(tag, obj, path)
        files.append((path, tag, what, obj))
    return files


def _tensors(obj: Any) -> Iterator[torch.Tensor]:
    """Every tensor in nested dicts, lists and tuples."""
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, Mapping):
        for value in obj.values():
            yield from _tensors(value)
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            yield from _tensors(value)


def _difference(got: Any, expected: Any, where: str = "") -> str | None:
    """Where ``got`` differs from ``expected`` (a path like ``['model']['fc1.weight']``)."""
    if isinstance(expected, torch.Tensor):
        same = (isinstance(got, torch.Tensor) and got.dtype == expected.dtype
                and got.shape == expected.shape and got.device == expected.device
                and torch.equal(got, expected))
        return None if same else where or "the tensor"
    if isinstance(expected, Mapping):
        if not isinstance(got, Mapping) or set(got) != set(expected):
            return where or "the top level"
        return next((d for key in expected
                     if (d := _difference(got[key], expected[key], f"{where}[{key!r}]"))), None)
    if isinstance(expected, (list, tuple)):
        if not isinstance(got, (list, tuple)) or len(got) != len(expected):
            return where or "the top level"
        return next((d for i, (a, b) in enumerate(zip(got, expected))
                     if (d := _difference(a, b, f"{where}[{i}]"))), None)
    return None if got == expected else where or "the top level"


@contextlib.contextmanager
def _machine(gpu: bool) -> Iterator[None]:
    """Pretend this machine has a GPU (``gpu``) or has none, whatever it really has."""
    with mock.patch.object(torch.cuda, "is_available", return_value=gpu), \
            mock.patch.object(torch.backends.mps, "is_available", return_value=False):
        yield






def _short(error: BaseException) -> str:
    """An exception as ``Name: first line``, cut short."""
    text = (str(error).strip() or "no message").splitlines()[0]
    return f"{type(error).__name__}: {text[:90]}{'...' if len(text) > 90 else ''}"


def _map_location_hint(loads: Recording, tag: str) -> str:
    """What the answer's map_location did wrong with a file whose storages are tagged ``tag``."""
    if not loads.calls:
        return "load the file with torch.load(path, map_location=\"cpu\", weights_only=True)"
    location = loads.values("map_location")[-1]
    if location is None:
        return ("torch.load puts every tensor back on the device it was saved on unless "
                "map_location says otherwise: pass map_location=\"cpu\"")
    if isinstance(location, dict):
        return (f"A dict only remaps the tags it names ({sorted(location)}), and this file's tag "
                f"is {tag!r}: pass map_location=\"cpu\", which sends every tag to the CPU")
    if callable(location):
        return ("your map_location function left a storage on its device: return the storage "
                "it is given (torch has read it into CPU memory), or pass map_location=\"cpu\"")
    return (f"map_location={location!r} sends the tensors to a device this machine does not have: "
            "pass map_location=\"cpu\"")


def _load_failed(error: Exception, loads: Recording, tag: str, what: str, gpu: bool) -> None:
    """The hint for an answer that raised on a file saved on ``tag``."""
    failed = f"loading {what} saved on {tag} raised {_short(error)}"
    hint(not gpu, f"on a machine with a GPU (torch.cuda.is_available() is True), {failed} The "
                  "tensors must go to the CPU whatever the machine has: pass "
                  "map_location=\"cpu\", not a device you choose")
    hint(not isinstance(error, RuntimeError),
         f"on a machine without a GPU, {failed} {_map_location_hint(loads, tag)}")
    hint(False, f"{failed}: return what the file holds, whatever it is")


def _check_loads_on_cpu(load_on_cpu: Callable[..., Any], files: list[tuple[Path, str, str, Any]],
                        gpu: bool) -> None:
    """Every file comes back whole, with every tensor on the CPU, on a machine with(out) a GPU."""
    machine = "with a GPU (torch.cuda.is_available() is True)" if gpu else "without a GPU"
    for path, tag, what, expected in files:
        with _machine(gpu), recording(torch, "load") as loads, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loaded, error = try_call(load_on_cpu, path)
        if error is not None:
            _load_failed(error, loads, tag, what, gpu)
        hint(loaded is not None, f"load_on_cpu returned None for {what} saved on {tag}: return "
                                 "what torch.load returns")
        devices = sorted({str(t.device) for t in _tensors(loaded)})
        hint(devices in ([], ["cpu"]), f"on a machine {machine}, {what} saved on {tag} came back "
             f"with tensors on {devices}: pass map_location=\"cpu\", whatever the machine has")
        difference = _difference(loaded, expected)
        hint(difference is None, f"{what} saved on {tag} came back changed ({difference} differs "
                                 "from the file's): return what torch.load returns, whole and "
                                 "unchanged")


def _check_refuses(load_on_cpu: Callable[..., Any], path: Path) -> None:
    """A file that weights_only=True refuses raises, and its code never runs, even when the
    environment turns the default off."""
    _PAYLOAD_RAN.clear()
    with mock.patch.dict(os.environ, {"TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1"}), \
            recording(torch, "load") as loads, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns that the environment turned the default off
        loaded, error = try_call(load_on_cpu, path)
    ran, _PAYLOAD_RAN[:] = bool(_PAYLOAD_RAN), []
    flags = loads.values("weights_only")
    if ran or error is None and loaded is not None:
        hint(not (True in flags and False in flags), "after weights_only=True refused a file, "
             "load_on_cpu loaded it again with weights_only=False, which ran the code inside it: "
             "a refusal means the file must not be loaded; let the error through")
        hint(False not in flags, "load_on_cpu loaded a file with weights_only=False, which ran "
                                 "the code inside it: pass weights_only=True")
        hint(not ran, "load_on_cpu ran the code inside a file that weights_only=True refuses: "
                      "you did not pass weights_only, and with TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 "
                      "in the environment the default is off. Pass weights_only=True explicitly")
        hint(False, f"load_on_cpu returned {type(loaded).__name__} for a file that "
                    "weights_only=True refuses: load with weights_only=True and let its "
                    "UnpicklingError through")
    hint(error is None or isinstance(error, pickle.UnpicklingError),
         f"a file that weights_only=True refuses made load_on_cpu raise {_short(error)}, not the "
         "UnpicklingError of torch.load(..., weights_only=True)" if error else "")
    hint(error is not None, "load_on_cpu returned None for a file that weights_only=True refuses: "
                            "let torch.load's UnpicklingError through, as torch.load does")


def check_exercise_1(ns: dict[str, Any]) -> None:
    """``load_on_cpu(path)``: loads with weights_only=True, and returns what any file holds with
    every tensor on the CPU, whatever it was saved on and whether this machine has a GPU."""
    load_on_cpu = answer_function(ns, "load_on_cpu", "load_on_cpu(path)")
    with tempfile.TemporaryDirectory(prefix="ckpt-05-ex1-") as folder:
        files = _ex1_files(Path(folder))
        _check_loads_on_cpu(load_on_cpu, files, gpu=False)
        _check_loads_on_cpu(load_on_cpu, [files[0], files[-1]], gpu=True)
        refused = Path(folder) / "refused.pt"
        torch.save({"model": files[0][3], "note": _Payload()}, refused)
        _check_refuses(load_on_cpu, refused)
    passed(1)


# --- Exercise 2 -------------------------------------------------------------------------------

_PREFIXES = ("module.", "_orig_mod.")


class _Layers(nn.Module):
    """Layers whose names contain ``module`` without being the wrapper's prefix."""

    def __init__(self) -> None:
        super().__init__()
        self.text_module = nn.Linear(2, 2)
        self.decoder = nn.Linear(2, 2)
        self.module_norm = nn.LayerNorm(2)


def _ex2_cases() -> list[tuple[str, dict[str, torch.Tensor], str, type[nn.Module]]]:
    """(what, state_dict, the prefix its keys carry, the plain model it must load into)."""
    cases = []
    for name, prefix in (("net_module_prefix.pt", "module."), ("net_orig_mod_prefix.pt",
                                                                "_orig_mod.")):
        sd = torch.load(DATA_DIR / name, map_location="cpu", weights_only=True)
        cases.append((f"data/{name}", sd, prefix, Net))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        cases.append(("a plain Net's state_dict", Net().state_dict(), "", Net))
        layers = _Layers()
        for tensor in layers.parameters():  # every tensor different, to tell them apart
            nn.init.normal_(tensor)
        layers = layers.state_dict()
    for prefix in (*_PREFIXES, ""):
        sd = type(layers)((prefix + key, t) for key, t in layers.items())
        cases.append((f"keys {next(iter(sd))}, ...", sd, prefix, _Layers))
    return cases


def _check_kept_given(state_dict: Mapping[str, torch.Tensor], before: list[tuple[str, Any]],
                      cleaned: Any, what: str) -> None:
    """The given dict is as it was, and the answer returned another one."""
    hint(cleaned is not None, "clean_keys returned None: return the cleaned dict "
                              "(consume_prefix_in_state_dict_if_present works in place and "
                              "returns None)")
    hint(len(state_dict) == len(before) and all(
        k in state_dict and state_dict[k] is v for k, v in before),
        f"clean_keys changed the dict it was given ({what}): copy it first, e.g. "
        "cleaned = OrderedDict(state_dict), and clean the copy")
    hint(cleaned is not state_dict, f"clean_keys returned the dict it was given ({what}): "
                                    "return a new dict, even when there is nothing to remove")
    hint(isinstance(cleaned, Mapping), f"clean_keys returned {kind_of(cleaned)}: "
                                       "return a dict from names to tensors")


def _key_of(cleaned: Mapping[str, Any], tensor: torch.Tensor) -> str | None:
    """The key under which ``cleaned`` holds ``tensor`` (or an equal copy of it)."""
    return next((key for key, t in cleaned.items() if t is tensor), None) or next(
        (key for key, t in cleaned.items() if isinstance(t, torch.Tensor)
         and t.shape == tensor.shape and t.dtype == tensor.dtype and torch.equal(t, tensor)), None)


def _check_clean_keys(clean_keys: Callable[..., Any], what: str, state_dict: dict[str, Any],
                      prefix: str, plain: type[nn.Module]) -> None:
    """One case: every key loses ``prefix`` if it starts with it, nothing else changes."""
    before = list(state_dict.items())
    cleaned, error = try_call(clean_keys, state_dict)
    hint(error is None, f"clean_keys raised {_short(error)} on {what}" if error else "")
    _check_kept_given(state_dict, before, cleaned, what)
    found = [(old, _key_of(cleaned, tensor), old.removeprefix(prefix)) for old, tensor in before]
    for old, new, expected in found:
        hint(new in (None, expected) or new != old, f"clean_keys left {old!r} as it was "
             f"({what}): remove both prefixes, module. and _orig_mod., where a key starts with one")
        hint(new in (None, expected), f"only the prefix at the start of a key goes: clean_keys "
             f"turned {old!r} into {new!r} ({what}). str.replace removes every occurrence, "
             "str.lstrip a set of characters, a split or a slice the start of every key; use "
             "key.removeprefix(prefix) or torch's consume_prefix_in_state_dict_if_present")
    for old, new, _ in found:
        hint(new is not None, f"the tensor of {old!r} ({what}) is missing from what clean_keys "
                              "returned: keep every tensor, change only the keys")
    hint(len(cleaned) == len(before), f"clean_keys returned {len(cleaned)} entries for the "
         f"{len(before)} of {what}: keep every tensor, change only the keys")
    _, error = try_call(plain().load_state_dict, cleaned)
    hint(error is None, f"the cleaned {what} does not load into a plain {plain.__name__}: "
                        f"{_short(error) if error else ''}")


def check_exercise_2(ns: dict[str, Any]) -> None:
    """``clean_keys(state_dict)``: a new dict without the wrapper's prefix at the start of the
    keys, which loads into the plain model; other keys and the given dict stay as they were."""
    clean_keys = answer_function(ns, "clean_keys", "clean_keys(state_dict)")
    for what, state_dict, prefix, plain in _ex2_cases():
        _check_clean_keys(clean_keys, what, state_dict, prefix, plain)
    passed(2)


# --- Exercise 3 -------------------------------------------------------------------------------

_META = torch.device("meta")


def _resume_call(resume: Callable[..., Any], ckpt: dict[str, Any], device: torch.device,
                 dtype: torch.dtype) -> tuple[nn.Module, torch.optim.Optimizer]:
    """The answer's ``resume`` on a copy of ``ckpt``, on a machine without a GPU; its result
    checked to be a (Net, Adam) pair."""
    asked = f"resume(ckpt, {_device_name(device)}, {dtype})"
    with _machine(gpu=device.type == "cuda"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # loading into meta tensors warns: a no-op by design
        result, error = try_call(resume, copy.deepcopy(ckpt), device, dtype)
    if error is not None:
        cuda = "CUDA" in str(error) or "cuda" in str(error)
        hint(not cuda, f"{asked} raised {_short(error)} You moved something to CUDA: move the "
                       "model to `device`, the argument, not a device you choose")
        hint(False, f"{asked} raised {_short(error)}")
    hint(isinstance(result, tuple) and len(result) == 2,
         f"resume returned {kind_of(result)}: return model, optimizer")
    model, optimizer = result
    hint(isinstance(model, Net), f"the model must be a Net, not {kind_of(model)} "
                                 "(return model, optimizer in that order)")
    hint(type(optimizer) is torch.optim.Adam, "build torch.optim.Adam, the optimizer the "
         f"checkpoint was saved from (yours is {kind_of(optimizer)})")
    return model, optimizer


def _device_name(device: torch.device) -> str:
    """A device as the hints name it."""
    return "meta (a stand-in for a GPU)" if device == _META else str(device)


def _check_model(model: nn.Module, ckpt: dict[str, Any], device: torch.device,
                 dtype: torch.dtype) -> None:
    """The model is on ``device`` in ``dtype`` and holds the saved weights."""
    tensors = list(model.state_dict().values())
    wrong_device = [t for t in tensors if t.device.type != device.type]
    hint(not wrong_device, f"asked for {dtype} on {_device_name(device)}, the model's tensors "
         f"are on {wrong_device[0].device if wrong_device else ''}: move the model to `device`, "
         "the argument (not the CPU, not a device you choose)")
    wrong_dtype = [t for t in tensors if t.dtype != dtype]
    hint(not wrong_dtype, f"asked for {dtype} on {_device_name(device)}, the model's tensors are "
         f"{wrong_dtype[0].dtype if wrong_dtype else ''}: move the model to `dtype` too, "
         "model.to(device=device, dtype=dtype)")
    if device != _META:  # meta tensors hold no data to compare
        expected = {key: t.to(device=device, dtype=dtype) for key, t in ckpt["model"].items()}
        hint(state_dicts_equal(model.state_dict(), expected), "the model does not hold the "
             "checkpoint's weights: model.load_state_dict(ckpt['model'])")


def _check_optimizer_params(model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
    """The optimizer holds the parameters of the model returned, in order."""
    params = list(model.parameters())
    held = [p for group in optimizer.param_groups for p in group["params"]]
    if len(held) == len(params) and all(a is b for a, b in zip(held, params)):
        return
    moved = [(a.device, a.dtype) for a in held] != [(p.device, p.dtype) for p in params]
    hint(not moved, "you built the optimizer before model.to(...), and `to` made new parameter "
         "objects (it does for some devices, and always after torch.__future__."
         "set_overwrite_module_params_on_conversion(True)): your optimizer updates the old ones. "
         "Move the model, then build the optimizer (Step 3)")
    hint(False, "the optimizer does not update the model you return: build it over "
                "model.parameters() of that model")


def _check_optimizer(model: nn.Module, optimizer: torch.optim.Optimizer, ckpt: dict[str, Any],
                     device: torch.device, dtype: torch.dtype) -> None:
    """The optimizer holds the model's parameters and the saved state, on their device/dtype."""
    params = list(model.parameters())
    _check_optimizer_params(model, optimizer)
    hint(all(p in optimizer.state for p in params), "the optimizer's state is empty: load it, "
                                                    "optimizer.load_state_dict(ckpt['optimizer'])")
    saved_group = {k: v for k, v in ckpt["optimizer"]["param_groups"][0].items() if k != "params"}
    group = {k: v for k, v in optimizer.param_groups[0].items() if k in saved_group}
    hint(group == saved_group, f"the optimizer's settings {group} differ from the checkpoint's "
                               f"{saved_group}: load the optimizer's state_dict")
    for index, p in enumerate(params):
        for name in ("exp_avg", "exp_avg_sq"):
            state = optimizer.state[p][name]
            hint(state.dtype == dtype and state.device.type == device.type,
                 f"the model is {dtype} on {_device_name(device)} but the optimizer's {name} is "
                 f"{state.dtype} on {state.device}: the optimizer casts its state to its "
                 "parameters when it loads it, so call model.to(...) before "
                 "optimizer.load_state_dict(...)")
            saved = ckpt["optimizer"]["state"][index][name].to(dtype)
            hint(device == _META or torch.equal(state.cpu(), saved),
                 f"the optimizer's {name} differs from the checkpoint's: load "
                 "optimizer.load_state_dict(ckpt['optimizer']) and do not step before returning")


def _next_step(model: nn.Module, optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
    """One full-batch training step on the lesson's data; the parameters after it."""
    X, y = load_data("train")
    weight = next(model.parameters())
    optimizer.zero_grad()
    nn.functional.mse_loss(model(X.to(weight)), y.to(weight)).backward()
    optimizer.step()
    return [p.detach().clone() for p in model.parameters()]


def _reference(ckpt: dict[str, Any], device: torch.device,
               dtype: torch.dtype) -> tuple[nn.Module, torch.optim.Optimizer]:
    """A correct resume, to compare the next step with."""
    model = Net().to(device=device, dtype=dtype)
    model.load_state_dict(ckpt["model"])
    optimizer = torch.optim.Adam(model.parameters())
    optimizer.load_state_dict(ckpt["optimizer"])
    return model, optimizer


def _check_next_step(model: nn.Module, optimizer: torch.optim.Optimizer, ckpt: dict[str, Any],
                     device: torch.device, dtype: torch.dtype) -> None:
    """The next training step runs and moves the weights as a correct resume's does."""
    try:
        after = _next_step(model, optimizer)
    except Exception as error:  # noqa: BLE001 - the answer's objects may fail anyhow
        hint(False, f"the next training step after resume(ckpt, {device}, {dtype}) raised "
                    f"{_short(error)}")
    expected = _next_step(*_reference(ckpt, device, dtype))
    same = torch.equal if device.type == "cpu" else torch.allclose  # GPU kernels may round apart
    hint(all(same(a, b) for a, b in zip(after, expected)),
         "one more training step gives other weights than a correct resume does: load both "
         "state_dicts, the model's and the optimizer's, and change nothing else")


def _check_built_after_move(resume: Callable[..., Any], ckpt: dict[str, Any]) -> None:
    """With ``Module.to`` making new parameter objects, the optimizer still holds the model's."""
    previous = torch.__future__.get_overwrite_module_params_on_conversion()
    torch.__future__.set_overwrite_module_params_on_conversion(True)
    try:
        pairs = [_resume_call(resume, ckpt, device, dtype)
                 for device, dtype in ((torch.device("cpu"), torch.float64), (_META, torch.float32))]
    finally:
        torch.__future__.set_overwrite_module_params_on_conversion(previous)
    for model, optimizer in pairs:
        _check_optimizer_params(model, optimizer)


def check_exercise_3(ns: dict[str, Any]) -> None:
    """``resume(ckpt, device, dtype)``: a Net with the saved weights and an Adam over its
    parameters with the saved state, both on ``device`` in ``dtype``, built in the right order,
    ready for the next step."""
    resume = answer_function(ns, "resume", "resume(ckpt, device, dtype)")
    ckpt = _adam_checkpoint()
    cpu = torch.device("cpu")
    targets = [(cpu, torch.float64), (cpu, torch.float32), (_META, torch.float64),
               (_META, torch.float32)]
    if torch.cuda.is_available():  # a real GPU where there is one
        targets.append((torch.device("cuda"), torch.float32))
    for device, dtype in targets:
        model, optimizer = _resume_call(resume, ckpt, device, dtype)
        _check_model(model, ckpt, device, dtype)
        _check_optimizer(model, optimizer, ckpt, device, dtype)
        if device != _META:
            _check_next_step(model, optimizer, ckpt, device, dtype)
    _check_built_after_move(resume, ckpt)
    passed(3)
