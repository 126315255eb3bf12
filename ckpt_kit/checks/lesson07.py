"""The checks of lesson 07 (trust and formats): is a file safe to load, tied weights through
safetensors, the newest intact checkpoint.

Each check builds its own files in a temporary folder: payloads that only create a file (the
check notices if one ran), safe files under names that lie, files damaged in several ways, and
folders whose modification times disagree with the step numbers in the names.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import shutil
import struct
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file
from torch import nn

from ckpt_helpers import (
    DATA_DIR,
    Net,
    inspect_checkpoint,
    save_checkpoint,
    state_dicts_equal,
)
from ckpt_kit.checks import given, hint, passed

# Mutants of the reference solutions that are still correct: exercise → {mutant id: why}.
EQUIVALENT_MUTANTS: dict[int, dict[str, str]] = {
    1: {},
    2: {},
    3: {
        "delete statement: return None → pass":
            "a function that ends without a return statement returns None",
        "call another builtin: int(re.fullmatch('step_(\\\\d+)\\\\.pt', path.name).group(1)) → "
        "float(re.fullmatch('step_(\\\\d+)\\\\.pt', path.name).group(1))":
            "whole step numbers order the same as floats as they do as ints",
    },
}


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """What an answer prints or warns is not compared: drop it."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def _flip_one_bit(path: Path, tensor: torch.Tensor) -> None:
    """Flip the lowest bit of ``tensor``'s first value where the file at ``path`` stores it."""
    data = bytearray(path.read_bytes())
    data[data.index(tensor.detach().numpy().tobytes())] ^= 1
    path.write_bytes(bytes(data))


def _break_pickle_crc(path: Path) -> None:
    """Make the CRC-32 that the zip's directory lists for ``*/data.pkl`` wrong: Python's zipfile
    then refuses to read the pickle, while torch.load, which checks no CRC, still runs it."""
    data = bytearray(path.read_bytes())
    at = data.find(b"PK\x01\x02")  # the central directory's entries
    while at >= 0:
        size = struct.unpack_from("<H", data, at + 28)[0]
        if bytes(data[at + 46:at + 46 + size]).endswith(b"/data.pkl"):
            data[at + 16] ^= 0xFF  # the first byte of the entry's CRC-32
        at = data.find(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(data))


# --- Exercise 1: is this file safe to load? ---------------------------------------------------

class _Exec:
    def __init__(self, sentinel: Path) -> None:
        self.sentinel = sentinel

    def __reduce__(self) -> tuple[Any, ...]:
        return (exec, (f"open({str(self.sentinel)!r}, 'w').close()",))


class _Touch(_Exec):
    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.sentinel,))


class _Copy(_Exec):
    def __reduce__(self) -> tuple[Any, ...]:
        return (shutil.copyfile, (str(self.sentinel.parent / "state_dict.pt"), str(self.sentinel)))


_DENYLIST = ("whose pickle names {names}: a denylist misses every function it does not list. "
             "Accept only what weights_only=True accepts: inspect_checkpoint(path).unsafe_globals "
             "must be empty")
_NOT_A_CHECKPOINT = ("say True only for the formats you can load, safetensors and torch.save's "
                     "(inspect_checkpoint(path).format)")
_UNREAD = ("an empty unsafe_globals proves nothing when the reading stopped early: require that "
           "the pickle was read to the end (info.pickle_read; print(info) says \"unsafe: unknown\")")
# file name → (safe?, why, said when the answer misjudges it)
_EX1_FILES: dict[str, tuple[bool, str]] = {
    "state_dict.pt": (True, "a plain state_dict: safe"),
    "checkpoint.pt": (True, ("a checkpoint dict (weights, a random generator's state, numbers, a "
                            "config dict): only tensors, containers and plain values, so safe")),
    "exec.pt": (False, _DENYLIST),
    "touch.pt": (False, _DENYLIST),
    "copy.bin": (False, _DENYLIST),
    "weights.safetensors": (True, ("a safetensors file holds no code at all, so it is safe to "
                                  "load")),
    "net_cuda.pt": (True, ("a plain state_dict saved on a GPU: safe. If torch.load failed on it, "
                          "that was the device, not the contents; decide without loading")),
    "old_format.pt": (True, ("a plain state_dict in the legacy format of PyTorch before 1.6: safe "
                            "(inspect_checkpoint reads that format too)")),
    "renamed.safetensors": (False, ("a torch.save pickle that names {names} under a safetensors "
                                   "name: judge a file by its bytes, not its name")),
    "whole_model.pt": (False, ("a whole model (it names {names}): weights_only=True refuses it, so "
                              "it is not safe to load")),
    "downloaded.pt": (False, "which is not a checkpoint at all (an HTML page): " + _NOT_A_CHECKPOINT),
    "bad_crc.pt": (False, "a payload whose zip lists a wrong CRC-32 for its pickle: Python's "
                          "zipfile gives up on it, but torch.load checks no CRC and would run "
                          "it: " + _UNREAD),
    "truncated.pt": (False, "a torch.save file cut short: its pickle cannot be read to the end, by "
                            "torch.load or anyone; " + _UNREAD),
    "plain.pkl": (False, "a plain pickle, not a torch.save file: only pickle.load reads it, and "
                         "pickle.load obeys any global it names; " + _NOT_A_CHECKPOINT),
    "empty.pt": (False, "an empty file (a save that never finished), not a checkpoint: "
                        + _NOT_A_CHECKPOINT),
    "weights.bin": (True, ("a safetensors file under another name: safe. Judge a file by its "
                          "bytes, not its name (inspect_checkpoint(path).format)")),
}


def _ex1_files(folder: Path, sentinel: Path) -> None:
    """Write the files of ``_EX1_FILES`` into ``folder``; every payload creates ``sentinel``."""
    model = Net()
    weights = model.state_dict()
    torch.save(weights, folder / "state_dict.pt")
    save_checkpoint({"epoch": 7, "model": weights, "best_val_loss": 0.25,
                     "rng": {"torch": torch.get_rng_state()},
                     "config": {"lr": 0.01, "betas": (0.9, 0.999)}}, folder / "checkpoint.pt")
    torch.save({"model": weights, "note": _Exec(sentinel)}, folder / "exec.pt")
    torch.save({"model": weights, "note": _Touch(sentinel)}, folder / "touch.pt")
    torch.save({"model": weights, "history": [0.5, 0.4, _Copy(sentinel)]}, folder / "copy.bin")
    save_file(weights, folder / "weights.safetensors")
    shutil.copy(DATA_DIR / "net_cuda.pt", folder / "net_cuda.pt")
    torch.save(weights, folder / "old_format.pt", _use_new_zipfile_serialization=False)
    torch.save({"model": weights, "note": _Exec(sentinel)}, folder / "renamed.safetensors")
    torch.save(model, folder / "whole_model.pt")
    (folder / "downloaded.pt").write_text("<!DOCTYPE html>\n<html><body>Sign in</body></html>\n")
    torch.save({"model": weights, "note": _Touch(sentinel)}, folder / "bad_crc.pt")
    _break_pickle_crc(folder / "bad_crc.pt")
    whole = (folder / "state_dict.pt").read_bytes()
    (folder / "truncated.pt").write_bytes(whole[: len(whole) * 2 // 3])
    (folder / "plain.pkl").write_bytes(pickle.dumps({"lr": 0.01, "epochs": [1, 2, 3]}))
    (folder / "empty.pt").write_bytes(b"")
    shutil.copy(folder / "weights.safetensors", folder / "weights.bin")


def _ex1_verdicts(is_safe_to_load: Callable[[Path], Any], folder: Path,
                  sentinel: Path) -> tuple[dict[str, Any], dict[str, BaseException]]:
    """The answer's verdict on each file, and what it raised; a hint as soon as a payload ran."""
    verdicts: dict[str, Any] = {}
    errors: dict[str, BaseException] = {}
    for name in _EX1_FILES:
        try:
            with _quiet():
                verdicts[name] = is_safe_to_load(folder / name)
        except NotImplementedError:
            raise                                  # the exercise is not answered yet
        except Exception as error:  # noqa: BLE001 - any error becomes a hint
            errors[name] = error
        hint(not sentinel.exists(),
             f"is_safe_to_load ran the code inside {name} (its payload created a file): it "
             "loaded the file with weights_only=False, or unpickled it. Read the file "
             "(inspect_checkpoint) and never run it")
    return verdicts, errors


def _first_line(error: BaseException) -> str:
    """The first line of an error's message, cut to 120 characters."""
    return (str(error).strip() or "no message").splitlines()[0][:120]


def check_exercise_1(ns: dict[str, Any]) -> None:
    """Exercise 1: ``is_safe_to_load(path)`` tells safe files from payloads, whole models,
    damaged files and files that are not checkpoints, by their bytes, without running them."""
    is_safe_to_load = given(ns, "is_safe_to_load", what="is_safe_to_load(path)")
    with tempfile.TemporaryDirectory(prefix="ckpt-07-ex1-") as tmp:
        folder = Path(tmp)
        sentinel = folder / "SENTINEL"  # every payload creates this file, and nothing else
        _ex1_files(folder, sentinel)
        verdicts, errors = _ex1_verdicts(is_safe_to_load, folder, sentinel)
        for name, (safe, why) in _EX1_FILES.items():
            if not safe and verdicts.get(name) is True:
                names = ", ".join(inspect_checkpoint(folder / name).unsafe_globals) or "nothing"
                hint(False, f"is_safe_to_load said True for {name}, " + why.format(names=names))
    for name, error in errors.items():
        hint(not isinstance(error, pickle.UnpicklingError),
             f"is_safe_to_load raised UnpicklingError on {name}: weights_only=True refused it, and "
             "a refusal means the file is not safe; return False instead of raising (better: "
             "decide without loading, with inspect_checkpoint)")
        hint(False, f"is_safe_to_load raised {type(error).__name__} on {name} "
                    f"({_first_line(error)}): it must return True or False for every file")
    for name, verdict in verdicts.items():
        hint(isinstance(verdict, bool),
             f"is_safe_to_load returned {verdict!r} for {name}: return True or False")
    for name, (safe, why) in _EX1_FILES.items():
        hint(not safe or verdicts[name], f"is_safe_to_load said False for {name}, {why}")
    passed(1)


# --- Exercise 2: tied weights to safetensors and back -----------------------------------------

def _trained_tiny_lms(tiny_lm: type[nn.Module]) -> tuple[list[nn.Module], torch.Tensor]:
    """Two TinyLMs with weights a fresh one lacks (one in train mode, one in eval mode), and
    tokens to compare their predictions on. The caller's random numbers go on unchanged."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(2)
        models = [tiny_lm(), tiny_lm()]
        for model in models:
            with torch.no_grad():
                for parameter in model.parameters():
                    parameter.add_(0.1 * torch.randn_like(parameter))
        tokens = torch.arange(16).reshape(2, 8)  # every token, so every embedding row counts
    models[1].eval()
    return models, tokens


def _is_tied(model: Any) -> bool:
    """One Parameter under both names, as TinyLM() builds it."""
    return model.head.weight is model.embed.weight


def _save_one(save_tied: Callable[..., Any], model: nn.Module, path: Path) -> None:
    """save_tied(model, path), with a hint for what it raised or changed in ``model``."""
    weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
    training = [m.training for m in model.modules()]
    try:
        with _quiet():
            save_tied(model, path)
    except NotImplementedError:
        raise
    except Exception as error:  # noqa: BLE001 - any error becomes a hint
        hint("share memory" not in str(error),
             "save_file refuses tensors that share memory (head.weight is embed.weight): use "
             "safetensors.torch.save_model(model, path), which stores the matrix once")
        hint(False, f"save_tied(model, path) raised {type(error).__name__}: {_first_line(error)}")
    hint(_is_tied(model), "save_tied untied the model it was given (head.weight is no longer "
                          "embed.weight): leave the model as it is; save_model stores a tied "
                          "model as it is")
    hint(state_dicts_equal(model.state_dict(), weights),
         "save_tied changed the weights of the model it was given: leave the model as it is")
    hint([m.training for m in model.modules()] == training,
         "save_tied changed the mode of the model it was given (train() or eval()): leave the "
         "model as it is; saving does not need a mode")
    hint(path.is_file(), "save_tied(model, path) wrote nothing at path")
    kind = inspect_checkpoint(path).format
    hint(kind == "safetensors", f"save_tied wrote a {kind} file, not safetensors: torch.save "
                                "writes a pickle. Use safetensors.torch.save_model (or save_file)")


def _load_one(load_tied: Callable[..., Any], tiny_lm: type[nn.Module], path: Path) -> nn.Module:
    """load_tied(path), with a hint for what it raised or returned."""
    try:
        with _quiet():
            restored = load_tied(path)
    except NotImplementedError:
        raise
    except Exception as error:  # noqa: BLE001 - any error becomes a hint
        hint(False, f"load_tied(path) raised {type(error).__name__} on a file your save_tied "
                    f"wrote: {_first_line(error)}")
    hint(isinstance(restored, tiny_lm),
         f"load_tied returned a {type(restored).__name__}: return a TinyLM")
    return restored


def _check_restored(restored: nn.Module, model: nn.Module, tokens: torch.Tensor) -> None:
    """The restored TinyLM is new, tied, holds ``model``'s weights and is ready to predict."""
    hint(all(p.data_ptr() != q.data_ptr() for p, q in zip(restored.parameters(),
                                                          model.parameters())),
         "load_tied returned (or shares memory with) the model that was saved: build a new "
         "TinyLM() and load the file into it")
    hint(_is_tied(restored),
         "the loaded model is no longer tied: head.weight and embed.weight are two tensors. "
         "load_state_dict(..., assign=True) replaces the tied parameter by the file's tensors; "
         "load into the model as built (load_model, or load_state_dict without assign)")
    with torch.inference_mode():
        same = torch.equal(restored(tokens), model(tokens))
    hint(same and state_dicts_equal(restored.state_dict(), model.state_dict()),
         "the loaded model does not hold the weights saved in the file (it predicts differently "
         "from the model that was saved): save the weights of the model you are given, and load "
         "the file at `path` into the new TinyLM")
    hint(not any(m.training for m in restored.modules()),
         "load_tied returned a model in training mode: return it ready to predict, in "
         "evaluation mode (model.eval())")


def check_exercise_2(ns: dict[str, Any]) -> None:
    """Exercise 2: ``save_tied`` writes a TinyLM as safetensors and leaves it as it is;
    ``load_tied`` reads that file (copied elsewhere) into a new, tied TinyLM in eval mode."""
    save_tied = given(ns, "save_tied", what="save_tied(model, path)")
    load_tied = given(ns, "load_tied", what="load_tied(path)")
    tiny_lm = given(ns, "TinyLM", type, "the TinyLM class of Step 4")
    models, tokens = _trained_tiny_lms(tiny_lm)
    with tempfile.TemporaryDirectory(prefix="ckpt-07-ex2-") as tmp:
        paths = [Path(tmp) / f"tiny_lm_{i}.safetensors" for i in range(len(models))]
        for model, path in zip(models, paths):
            _save_one(save_tied, model, path)
        for model, path in zip(models, paths):
            copy = path.with_name("copy_of_" + path.name)  # only what is in the file counts
            shutil.copyfile(path, copy)
            _check_restored(_load_one(load_tied, tiny_lm, copy), model, tokens)
    passed(2)


# --- Exercise 3: the newest intact checkpoint -------------------------------------------------

# step → damage; ``modified``: the steps from the oldest modification time to the newest, which
# disagrees with the step numbers (a file copied back from a backup is the newest on disk)
_RUNS: dict[str, dict[str, Any]] = {
    "run_a": {"steps": [700, 800, 900, 1000, 1100, 1200],
              "damage": {1100: "flipped", 1200: "truncated"},
              "modified": [800, 1000, 900, 700, 1100, 1200], "extras": True,
              "expected": "step_1000.pt"},
    "run_c": {"steps": [800, 900, 1000], "damage": {}, "modified": [1000, 900, 800],
              "extras": False, "expected": "step_1000.pt", "as_str": True},
    "run_b": {"steps": [100, 200, 300], "damage": {100: "empty", 200: "flipped",
                                                   300: "truncated"},
              "modified": [300, 100, 200], "extras": False, "expected": None},
}


def _write_run(folder: Path, run: dict[str, Any]) -> None:
    """A folder of step_N.pt files, damaged as ``run`` says, modified in the order
    ``run["modified"]``; beside them, newer still, files that are not checkpoints of the run."""
    folder.mkdir(parents=True)
    for step in run["steps"]:
        path = folder / f"step_{step}.pt"
        model = Net()
        torch.save({"step": step, "model": model.state_dict()}, path)
        damage = run["damage"].get(step)
        if damage == "flipped":
            _flip_one_bit(path, model.fc2.weight)  # a later member than the first
        elif damage == "truncated":
            path.write_bytes(path.read_bytes()[: path.stat().st_size * 2 // 3])
        elif damage == "empty":
            path.write_bytes(b"")
    extras = [folder / "notes.txt"]
    extras[0].write_text("lr 0.01, batch 32\n")
    if run["extras"]:  # intact, but not named step_<N>.pt: a save's temp file, a copy
        torch.save({"step": 1300, "model": Net().state_dict()}, folder / "step_1300.pt.tmp")
        shutil.copyfile(folder / f"step_{run['steps'][1]}.pt", folder / "best.pt")
        extras += [folder / "step_1300.pt.tmp", folder / "best.pt"]
    for order, path in enumerate([folder / f"step_{s}.pt" for s in run["modified"]] + extras):
        os.utime(path, ns=(10**18 + order * 10**9,) * 2)  # one second apart


def _found_name(found: Any, folder: Path) -> str | None:
    """The name of the file ``found`` points to; a hint unless it is None or a path in
    ``folder``."""
    if found is None:
        return None
    hint(isinstance(found, (str, os.PathLike)),
         f"newest_intact returned a {type(found).__name__}: return the path of the file "
         "(a Path or a str), or None")
    hint(Path(found).parent.resolve() == folder.resolve(),
         f"newest_intact returned {str(found)!r}: return the path of a file in the folder you are "
         "given")
    return Path(found).name


def _check_run(name: str | None, run: dict[str, Any]) -> None:
    """A hint that names the mistake when ``name`` is not the run's expected file."""
    expected, damage = run["expected"], run["damage"]
    if name == expected:
        return
    hint(name is not None, f"newest_intact returned None, but {expected} is intact: skip a "
                           "damaged file and go on to the next (do not stop at the first), and "
                           "test each with its CRC-32s (testzip, or load_checkpoint), which an "
                           "intact file passes")
    hint(expected is not None, f"every step_<N>.pt in this folder is damaged, but newest_intact "
                               f"returned {name!r}: return None when no checkpoint is intact")
    name = str(name)
    number = name[5:-3] if name.startswith("step_") and name.endswith(".pt") else ""
    step = int(number) if number.isdigit() else None
    hint(step is not None,
         f"newest_intact returned {name}, which is not named step_<N>.pt (a temp file of an "
         "unfinished save, a copy): only files named exactly step_<N>.pt are checkpoints; match "
         "the whole name (re.fullmatch(r\"step_(\\d+)\\.pt\", name), or glob(\"step_*.pt\"))")
    hint(damage.get(step) != "truncated",
         f"{name} is truncated (the crash happened while it was saved): check each file's "
         "integrity before choosing it")
    hint(damage.get(step) != "empty", f"{name} is empty (the crash happened before anything was "
                                      "written): check each file's integrity before choosing it")
    hint(damage.get(step) != "flipped",
         f"{name} opens and loads without an error, but a bit of its tensor data is flipped: "
         "neither torch.load nor zipfile.is_zipfile checks the CRC-32s. Check them: "
         "zipfile.ZipFile(path).testzip(), or load_checkpoint")
    intact = [s for s in run["modified"] if s not in damage]
    hint(step != intact[-1],
         f"you returned {name}, the intact file modified last, but {expected} has a higher step "
         "number: choose by the number in the name, not by modification time (copying or "
         "restoring a file changes its time)")
    hint(max(f"step_{s}.pt" for s in intact) != name,
         f"you returned {name}, but {expected} is newer and intact: compare the step numbers as "
         f"numbers (as text, '{name}' sorts after '{expected}')")
    hint(False, f"in a folder where {expected} is the newest intact file, newest_intact returned "
                f"{name}: return the intact file with the highest step number")


def check_exercise_3(ns: dict[str, Any]) -> None:
    """Exercise 3: ``newest_intact(folder)`` returns the intact ``step_N.pt`` with the highest N
    (not the newest by time), skipping truncated, empty and bit-flipped files; None if none."""
    newest_intact = given(ns, "newest_intact", what="newest_intact(folder)")
    with tempfile.TemporaryDirectory(prefix="ckpt-07-ex3-") as tmp:
        for label, run in _RUNS.items():
            folder = Path(tmp) / label
            _write_run(folder, run)
            try:
                with _quiet():
                    found = newest_intact(str(folder) if run.get("as_str") else folder)
            except NotImplementedError:
                raise                              # the exercise is not answered yet
            except Exception as error:  # noqa: BLE001 - any error becomes a hint
                hint(False, f"newest_intact raised {type(error).__name__} "
                            f"({_first_line(error)}); skip damaged files (catch the error) and "
                            "go on to the next")
            _check_run(_found_name(found, folder), run)
    passed(3)
