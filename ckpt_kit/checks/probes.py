"""Probes that several lessons' checks share: calling an answer's function with its errors
turned into hints, seeded builds that leave the random generator as it was, and recorders of
every ``torch.load`` call and of every forward pass and ``train``/``eval`` call, in order."""

from __future__ import annotations

import contextlib
import inspect
import io
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ckpt_kit.checks import given, hint

LEFT_OUT = "left out"  # a torch.load call that did not pass weights_only


def seeded(seed: int, build: Callable[[], Any]) -> Any:
    """What ``build()`` returns with the random generator seeded, leaving the generator as it
    was (the lesson's later random numbers stay the same)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def call_answer(function: Callable[..., Any], call: str, *args: Any, advice: str = "") -> Any:
    """``function(*args)`` with its prints swallowed; a hint naming ``call`` (and giving
    ``advice``) if it raises.

    The stub's bare ``NotImplementedError()`` goes through untouched: the checker reads it as
    "not answered yet".
    """
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            return function(*args)
    except NotImplementedError as error:
        if not str(error):
            raise
        raised: Exception = error
    except Exception as error:  # noqa: BLE001 - any error of the answer becomes a hint
        raised = error
    message = " ".join(str(raised).split())
    message = message if len(message) <= 200 else message[:197] + "..."
    hint(False, f"{call} raised {type(raised).__name__}: {message}{advice}")
    return None


def answer_function(ns: dict[str, Any], name: str, signature: str) -> Callable[..., Any]:
    """The function the exercise asks for; a hint if it is missing or not a function."""
    function = given(ns, name, what=f"the function {signature}")
    hint(callable(function), f"`{name}` must be a function, def {signature}:, not a "
                             f"{type(function).__name__}")
    return function


def try_call(function: Callable[..., Any], *args: Any) -> tuple[Any, Exception | None]:
    """``function(*args)`` and the exception it raised, if any. The stub's bare
    ``NotImplementedError()`` goes through: the checker reads it as "not answered yet"."""
    try:
        return function(*args), None
    except NotImplementedError as error:
        if not str(error):
            raise
        return None, error
    except Exception as error:  # noqa: BLE001 - any mistake of the answer becomes a hint
        return None, error


def kind_of(value: object) -> str:
    """What a value is, for a hint.

    >>> kind_of(3), kind_of([])
    ('an int', 'a list')
    """
    name = type(value).__name__
    return f"{'an' if name[0].lower() in 'aeiou' else 'a'} {name}"


def first_line(error: BaseException) -> str:
    """An exception as ``Name: first line of its message``.

    >>> first_line(ValueError("bad value."))
    'ValueError: bad value'
    """
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}".rstrip(": .")


def answer_call(description: str, function: Callable[..., Any], *args: Any,
                advice: Callable[[BaseException], str] = lambda error: "") -> Any:
    """``function(*args)``; an exception it raises becomes a hint that names the call (and adds
    ``advice(error)``). The stub's bare ``NotImplementedError()`` goes through: the checker reads
    it as "not answered yet"."""
    try:
        return function(*args)
    except NotImplementedError as error:
        if not str(error):
            raise
        hint(False, f"{description} raised {first_line(error)}{advice(error)}")
    except Exception as error:  # noqa: BLE001 - the student's code may raise anything
        hint(False, f"{description} raised {first_line(error)}{advice(error)}")
    return None


@dataclass(frozen=True)
class Load:
    """One ``torch.load`` call: its file, ``weights_only`` as passed (or ``LEFT_OUT``), the
    names of the globals allowed while it ran, and the file of the code that called it."""

    file: Any
    weights_only: Any
    allowed: frozenset[str]
    caller: str = ""


def global_name(entry: Any) -> str:
    """The name under which the weights-only unpickler knows an allow-list entry.

    >>> global_name(nn.Linear), global_name((nn.Linear, "kit_v1.models.Net"))
    ('torch.nn.modules.linear.Linear', 'kit_v1.models.Net')
    """
    if isinstance(entry, tuple):
        return entry[1]
    return f"{entry.__module__}.{entry.__qualname__}"


def allowed_names() -> frozenset[str]:
    """The names of every global ``weights_only=True`` allows now, beyond torch's own list."""
    return frozenset(global_name(entry) for entry in torch.serialization.get_safe_globals())


@contextlib.contextmanager
def torch_loads() -> Iterator[list[Load]]:
    """Record every call to ``torch.load`` (also as ``torch.serialization.load``); the original
    runs, and is put back on exit.

    >>> import io
    >>> buffer = io.BytesIO(); torch.save([1], buffer); _ = buffer.seek(0)
    >>> with torch_loads() as loads:
    ...     torch.load(buffer, weights_only=True)
    [1]
    >>> loads[0].weights_only, torch.load.__name__ == "load"
    (True, True)
    """
    original = torch.serialization.load
    signature = inspect.signature(original)
    seen: list[Load] = []

    def load(*args: Any, **kwargs: Any) -> Any:
        try:
            arguments = signature.bind(*args, **kwargs).arguments
        except TypeError:
            arguments = {}
        seen.append(Load(arguments.get("f"), arguments.get("weights_only", LEFT_OUT),
                         allowed_names(), sys._getframe(1).f_code.co_filename))
        return original(*args, **kwargs)

    torch.load = torch.serialization.load = load
    try:
        yield seen
    finally:
        torch.load = torch.serialization.load = original


@dataclass(frozen=True)
class ModelEvent:
    """A forward pass of a module (``kind="forward"``, with the mode and autograd state it ran
    in) or a ``module.train(mode)`` call (``kind="train"``; ``eval()`` is ``train(False)``)."""

    kind: str
    module: nn.Module
    training: bool
    grad_enabled: bool
    inference_mode: bool


@contextlib.contextmanager
def model_events() -> Iterator[list[ModelEvent]]:
    """Record, in order, every forward pass of every module and every ``train``/``eval`` call;
    the global hook is removed and ``nn.Module.train`` put back on exit."""
    events: list[ModelEvent] = []

    def now(kind: str, module: nn.Module, training: bool) -> ModelEvent:
        return ModelEvent(kind, module, training, torch.is_grad_enabled(),
                          torch.is_inference_mode_enabled())

    def hook(module: nn.Module, args: Any) -> None:
        events.append(now("forward", module, module.training))

    original_train = nn.Module.train

    def train_mode(self: nn.Module, mode: bool = True) -> nn.Module:
        events.append(now("train", self, bool(mode)))
        return original_train(self, mode)

    handle = nn.modules.module.register_module_forward_pre_hook(hook)
    nn.Module.train = train_mode  # type: ignore[method-assign]
    try:
        yield events
    finally:
        handle.remove()
        nn.Module.train = original_train  # type: ignore[method-assign]
