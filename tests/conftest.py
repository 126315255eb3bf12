"""Shared test set-up: a warm matplotlib and helpers to run the answer checker."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

# The tests start many small kernels and processes side by side on a few cores: one torch thread
# each keeps them from fighting over the cores (models this small gain nothing from more). Set
# before any kernel or process starts, so that all of them inherit it.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
# Importing pyplot builds matplotlib's font cache on a new machine and says so on stderr; done
# here, before nbval starts any kernel, so that message never lands in a checked notebook cell.
import matplotlib.pyplot  # noqa: E402,F401

KIT_DIR = Path(__file__).resolve().parent.parent
_RESULT_LINE = re.compile(r"^  Exercise (\d+)(?: \(.*?\))?: (.*)$")


def run_checker(notebook: Path) -> tuple[int, dict[int, str], str]:
    """Run `python -m ckpt_helpers check NOTEBOOK` as a student would, from another folder.

    Returns the exit status, each exercise's message and the whole output.
    """
    proc = subprocess.run(
        [sys.executable, "-m", "ckpt_helpers", "check", str(notebook)],
        capture_output=True, text=True, cwd=notebook.parent, timeout=600,
    )
    verdicts = {}
    for line in proc.stdout.splitlines():
        match = _RESULT_LINE.match(line)
        if match:
            verdicts[int(match.group(1))] = match.group(2)
    return proc.returncode, verdicts, proc.stdout + proc.stderr
