"""Every lesson's plausible answers (tests/answers/lessonNN.py), keyed by notebook name."""

from __future__ import annotations

import importlib

from ckpt_kit.paths import SOLUTIONS_DIR

ANSWERS: dict[str, dict[int, dict[str, list]]] = {
    path.name: importlib.import_module(f"answers.lesson{path.name[:2]}").ANSWERS
    for path in sorted(SOLUTIONS_DIR.glob("*.ipynb"))
}
