"""The check that a value is a model's state_dict, shared by every tool that takes one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn


def state_dict_tensors(state_dict: Mapping[str, Any], name: str) -> dict[str, torch.Tensor]:
    """The tensors of a model's state_dict, or a TypeError that says what to pass instead.

    ``name`` is how the error message calls the argument.

    >>> list(state_dict_tensors(nn.Linear(1, 1).state_dict(), "sd"))
    ['weight', 'bias']
    """
    if isinstance(state_dict, nn.Module):
        raise TypeError(f"{name} is a model ({type(state_dict).__name__}): pass its weights, "
                        "`model.state_dict()`")
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"{name} must be a state_dict (a dict of tensors), not "
                        f"{type(state_dict).__name__}")
    for key, value in state_dict.items():
        if not isinstance(value, torch.Tensor):
            raise TypeError(
                f"{name}[{key!r}] is a {type(value).__name__}, not a tensor: pass a model's "
                "state_dict (an optimizer's state_dict or a whole checkpoint nests its tensors; "
                "pass the part that maps names to tensors, e.g. ckpt['model'])"
            )
    return dict(state_dict)
