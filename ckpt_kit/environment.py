"""Where the kit runs: the line that installs it in a hosted notebook, the set-up cell that every
lesson opens with, and the torch versions it was tested with.

The tested versions are the README's "Tested with" table; ``tests/test_torch_versions.py`` fails
with :func:`untested_torch` when the installed torch lies outside them.
"""

from __future__ import annotations

import re

# What a student types in a hosted notebook once the kit's wheel is uploaded (README: "Run it on
# Colab or another hosted Jupyter"); the wheel's file name carries the version.
INSTALL_LINE = "%pip install ckpt_kit-*.whl"

# Each lesson's first code cell. It must not need the kit until it has found it: it is what runs
# where the kit is missing. A translated lesson passes its own language to use_language.
# `_render_traceback_` is IPython's hook for an exception to show its own lines.
SETUP_CELL_ID = "kit-installed"
LANGUAGE_VARIABLE = "CKPT_KIT_LANGUAGE"  # ckpt_kit.i18n: the language of the checks' hints
SETUP_CELL = f'''\
# Set-up: where the kit is not installed (a hosted notebook such as Colab), this cell stops here
# and says how to install it; where it is, it sets the language of the checks' hints and figures.
import importlib.util

if importlib.util.find_spec("ckpt_helpers") is None:
    class KitNotInstalled(Exception):
        def _render_traceback_(self):  # Jupyter shows this one line instead of a traceback
            return [str(self)]

    raise KitNotInstalled("This lesson needs the kit: upload its wheel, run  "
                          "{INSTALL_LINE}  in a cell, restart the kernel, then run "
                          "this notebook again.")

from ckpt_kit.i18n import use_language

use_language("en")'''

# The torch releases the kit was run on (README: Tested with). Older or newer ones may work, but
# the lessons listed in VERSION_NOTES use what changed between them.
OLDEST_TESTED_TORCH = "2.6.0"
NEWEST_TESTED_TORCH = "2.14.1"
PINNED_TORCH = "2.13.0"  # requirements.txt: the lessons' stored outputs are this version's

# lesson -> what in it depends on the torch version (what may differ outside the tested range);
# the boundaries are where the lessons say what differs instead of running (README: Tested with)
VERSION_NOTES: dict[str, str] = {
    "03_whole_model_vs_state_dict": "weights_only's default (2.6) and the texts of its errors",
    "05_across_devices": "the texts of torch's device errors",
    "07_trust_and_formats": "torch.load of a .safetensors path (2.13), "
                            "torch.utils.serialization.config (2.7)",
    "08_big_checkpoints": "torch.load under skip_data() (2.7), torch.get_default_device",
    "09_export_and_deploy": "the .pt2 layout (2.8), the error of a failed guard (2.9), "
                            "TorchScript's deprecation warning (2.10)",
    "10_beyond_one_machine": "FSDP2 and torch.distributed.checkpoint on the CPU (2.8: the "
                             "lesson does not run on 2.6)",
}


def release(version: str) -> tuple[int, ...]:
    """The release numbers of a version string: ``"2.14.1+cu128"`` -> ``(2, 14, 1)``.

    >>> release("2.14.1+cu128"), release("2.6.0") == release("2.6")
    ((2, 14, 1), True)
    """
    match = re.match(r"\d+(\.\d+)*", version)
    if match is None:
        raise ValueError(f"not a version number: {version!r}")
    numbers = [int(part) for part in match.group().split(".")]
    while len(numbers) > 1 and numbers[-1] == 0:  # 2.6.0 and 2.6 are the same release
        numbers.pop()
    return tuple(numbers)


def untested_torch(version: str) -> str | None:
    """``None`` if ``version`` lies in the tested range, else what an instructor should know.

    >>> untested_torch("2.13.0+cpu") is None
    True
    >>> print(untested_torch("2.5.1").splitlines()[0])
    torch 2.5.1 is older than every version the kit was tested with (2.6.0 to 2.14.1).
    """
    if release(OLDEST_TESTED_TORCH) <= release(version) <= release(NEWEST_TESTED_TORCH):
        return None
    side = "older" if release(version) < release(OLDEST_TESTED_TORCH) else "newer"
    lessons = "\n".join(f"  {lesson}: {what}" for lesson, what in VERSION_NOTES.items())
    return (f"torch {version} is {side} than every version the kit was tested with "
            f"({OLDEST_TESTED_TORCH} to {NEWEST_TESTED_TORCH}).\n"
            f"Run every lesson and its exercises on it (README: Tested with) before teaching "
            f"with it; these lessons use what changes between versions:\n{lessons}")
