"""The exercise checks, one module per lesson, and the probes they share.

A lesson's check cell is two lines::

    from ckpt_kit.checks.lesson01 import check_exercise_1
    check_exercise_1(globals())

The check runs in this package's own namespace: it reaches torch and the kit through its own
imports, never through names in the notebook, so a student's helper named like one of them
(their own ``compare_state_dicts``) changes nothing. From the notebook it reads only what the
exercise gives (``ex3_path``) and what it asks for (``predict``), with :func:`given`.

A check verifies each sentence of its exercise by behaviour. The probes here record what an
answer does: which arguments it passed to a function (:func:`recording`), the mode and grad
state of every forward pass (:func:`forward_calls`). Each restores what it patched, even when
the answer raises. A failed check raises ``AssertionError("Hint: ...")``; the checker shows the
hint to the student. Hints and the passed line come in the language of the lesson's kernel, which
its set-up cell sets (:mod:`ckpt_kit.i18n`).

The checks sit above the lessons' module: they import ``ckpt_helpers`` (the ``Net`` the lessons
use); nothing else in the kit imports them.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ckpt_kit.i18n import tr

_MISSING = object()


def hint(condition: object, message: str) -> None:
    """Fail the check with ``Hint: message`` unless ``condition`` holds.

    >>> hint(True, "never shown")
    >>> hint(False, "call model.eval()")
    Traceback (most recent call last):
    AssertionError: Hint: call model.eval()
    """
    if not condition:  # in the language of the lesson's kernel (ckpt_kit.i18n)
        raise AssertionError(tr(f"Hint: {message}"))


def given(ns: dict[str, Any], name: str, kind: type | tuple[type, ...] | None = None,
          what: str | None = None) -> Any:
    """The value the notebook holds under ``name``; a hint if it is missing or of another kind.

    >>> given({"x": 1}, "x", int)
    1
    >>> given({}, "predict", what="your function")
    Traceback (most recent call last):
    AssertionError: Hint: `predict` is not defined: run your answer cell, which must define your function
    """
    value = ns.get(name, _MISSING)
    hint(value is not _MISSING, f"`{name}` is not defined: run your answer cell, which must "
                                f"define {what or name}")
    if kind is not None:
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        hint(isinstance(value, kind), f"`{name}` must be a {names}, not a {type(value).__name__}")
    return value


def passed(number: int) -> None:
    """Print the line a check cell ends with when every assertion held."""
    print(tr(f"Exercise {number}: passed"))


@dataclass
class Call:
    """One recorded call: its arguments by parameter name (defaults filled in), and result."""

    arguments: dict[str, Any]
    result: Any = None
    raised: BaseException | None = None


@dataclass
class Recording:
    """The calls made to a patched function while :func:`recording` was active."""

    calls: list[Call] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.calls)

    def values(self, parameter: str) -> list[Any]:
        """The value ``parameter`` had in each call."""
        return [call.arguments.get(parameter) for call in self.calls]


@contextlib.contextmanager
def recording(owner: Any, attribute: str) -> Iterator[Recording]:
    """Record every call to ``owner.attribute`` (a module function, a method, a class's method).

    The original still runs; its arguments are bound to its signature, defaults included. The
    original attribute is put back on exit, whatever happens.

    >>> import math
    >>> with recording(math, "sqrt") as calls:
    ...     math.sqrt(4.0)
    2.0
    >>> calls.values("x"), math.sqrt.__name__
    ([4.0], 'sqrt')
    """
    original = inspect.getattr_static(owner, attribute)
    function: Callable[..., Any] = getattr(owner, attribute)
    try:
        signature: inspect.Signature | None = inspect.signature(
            original.__func__ if isinstance(original, (staticmethod, classmethod)) else original)
    except (TypeError, ValueError):  # a builtin without a signature: record positions
        signature = None
    record = Recording()
    is_method = inspect.isclass(owner) and inspect.isfunction(original)

    def bind(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        if signature is None:
            return {**{str(i): a for i, a in enumerate(args)}, **kwargs}
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError:
            return {**{str(i): a for i, a in enumerate(args)}, **kwargs}
        bound.apply_defaults()
        return dict(bound.arguments)

    if is_method:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return _call_and_record(record, bind(args, kwargs), original, args, kwargs)
    else:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return _call_and_record(record, bind(args, kwargs), function, args, kwargs)
    wrapper.__name__ = getattr(function, "__name__", attribute)
    wrapper.__doc__ = getattr(function, "__doc__", None)
    replacement: Any = staticmethod(wrapper) if isinstance(original, staticmethod) else wrapper
    own = getattr(owner, "__dict__", {})
    had_own = inspect.isclass(owner) or inspect.ismodule(owner) or attribute in own
    setattr(owner, attribute, replacement)
    try:
        yield record
    finally:
        if had_own:
            setattr(owner, attribute, original)
        else:  # patched on an instance: its class's method shows through again
            delattr(owner, attribute)


def _call_and_record(record: Recording, arguments: dict[str, Any], function: Callable[..., Any],
                     args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    call = Call(arguments)
    record.calls.append(call)
    try:
        call.result = function(*args, **kwargs)
    except BaseException as error:
        call.raised = error
        raise
    return call.result


@dataclass(frozen=True)
class Forward:
    """The state of the world during one forward pass of a probed module."""

    training: bool
    grad_enabled: bool
    inference_mode: bool


@contextlib.contextmanager
def forward_calls(module: Any) -> Iterator[list[Forward]]:
    """Record the mode and autograd state of every forward pass of ``module`` (a hook, removed
    on exit).

    >>> import torch
    >>> layer = torch.nn.Linear(2, 2)
    >>> with forward_calls(layer) as seen, torch.no_grad():
    ...     _ = layer.eval()(torch.zeros(1, 2))
    >>> seen
    [Forward(training=False, grad_enabled=False, inference_mode=False)]
    """
    import torch

    seen: list[Forward] = []

    def hook(mod: Any, args: Any) -> None:
        seen.append(Forward(mod.training, torch.is_grad_enabled(),
                            torch.is_inference_mode_enabled()))

    handle = module.register_forward_pre_hook(hook)
    try:
        yield seen
    finally:
        handle.remove()
