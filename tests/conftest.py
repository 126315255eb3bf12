"""Shared test set-up: one torch thread, a warm matplotlib, and helpers that answer a lesson's
exercises in a copy of its student notebook and run the answer checker on it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
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

import nbformat  # noqa: E402
import torch  # noqa: E402

from ckpt_helpers import Net  # noqa: E402

from ckpt_kit.exercises import STUB, find_exercises  # noqa: E402
from ckpt_kit.paths import KIT_DIR, NOTEBOOKS_DIR, SOLUTIONS_DIR  # noqa: E402
from exercise_answers import ANSWERS  # noqa: E402

# the scripts (the attack on the checkpoint helpers) are imported by the tests that sample them
sys.path.insert(0, str(KIT_DIR / "scripts"))
_RESULT_LINE = re.compile(r"^  Exercise (\d+)(?: \(.*?\))?: (.*)$")


def run_checker(notebook: Path, *options: str) -> tuple[int, dict[int, str], str]:
    """Run `python -m ckpt_helpers check NOTEBOOK` as a student would, from another folder.

    Returns the exit status, each exercise's message and the whole output.
    """
    proc = subprocess.run(
        [sys.executable, "-m", "ckpt_helpers", "check", str(notebook), *options],
        capture_output=True, text=True, cwd=notebook.parent, timeout=600,
    )
    verdicts = {}
    for line in proc.stdout.splitlines():
        match = _RESULT_LINE.match(line)
        if match:
            verdicts[int(match.group(1))] = match.group(2)
    return proc.returncode, verdicts, proc.stdout + proc.stderr


def fill(source: str, answer: str) -> str:
    """Put `answer` where the student notebook's stub is, at the stub's indent."""
    lines = source.split("\n")  # the stub's comment is in the notebook's language
    first = next(i for i, line in enumerate(lines[:-1]) if line.lstrip().startswith("#") and
                 lines[i + 1].strip() == STUB[1])
    indent = lines[first][: len(lines[first]) - len(lines[first].lstrip())]
    return "\n".join(lines[:first] + [textwrap.indent(answer, indent)] + lines[first + 2:])


def answered_notebook(tmp_path, name: str, answers: dict[int, str], forge_outputs: bool,
                      students_dir: Path = NOTEBOOKS_DIR):
    """A copy of the student notebook with `answers` filled in, saved as a student would.

    With `forge_outputs`, every check cell is gutted to a bare `print(...passed)` and every
    answer and check cell carries stored outputs saying the exercise passed: what a student's
    file holds after editing the checks, or pasting outputs in.
    """
    nb = nbformat.read(students_dir / name, as_version=4)
    cells = {cell.id: cell for cell in nb.cells}
    for ex in find_exercises(nbformat.read(SOLUTIONS_DIR / name, as_version=4)):
        if ex.number in answers:
            cells[ex.answer_id].source = fill(cells[ex.answer_id].source, answers[ex.number])
        if forge_outputs:
            cells[ex.check_id].source = f'print("Exercise {ex.number}: passed")'
            for cell_id in (ex.answer_id, ex.check_id):
                cells[cell_id].execution_count = ex.number
                cells[cell_id].outputs = [nbformat.v4.new_output(
                    "stream", text=f"Exercise {ex.number}: passed\n")]
    folder = tmp_path / "student"
    folder.mkdir()
    path = folder / name
    nbformat.write(nb, path)
    return path


def english_left(message: str, lang: str = "zh-CN") -> list[str]:
    """The English sentences of the kit's message templates still found in a translated
    message: what a missing translation leaves (three words in a row, outside the fields)."""
    from ckpt_kit.i18n import _FIELD, catalog

    found = []
    for english in catalog(lang).exact:  # every translated message, templates included
        for part in _FIELD.split(english):
            if re.search(r"[A-Za-z]{2,} [a-z]{2,} [a-z]{2,}", part) and part.strip() in message:
                found.append(part.strip())
    return found


def answer_cases(kind: str, most: int | None = None) -> list[tuple[str, int]]:
    """(lesson, k) for every k-th answer of that kind that some exercise of the lesson has; the
    first ``most`` of them only, where given."""
    return [(name, k) for name in ANSWERS
            for k in range(min(max(len(a[kind]) for a in ANSWERS[name].values()),
                               most or 10**6))]


# --- checkpoints ------------------------------------------------------------------------------


def seeded_net() -> Net:
    torch.manual_seed(0)
    return Net()


def temp_entries(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


class PrintOnLoad:
    def __reduce__(self):
        return (print, ("ran",))


def in_child(job) -> str:
    """Run ``job()`` in a forked child (which may drop privileges or limit its file size)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        try:
            message = job()
        except BaseException as error:  # noqa: BLE001 - reported to the parent
            message = f"{type(error).__name__}: {error}"
        os.write(write_end, message.encode())
        os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    with os.fdopen(read_end) as pipe:
        return pipe.read()


def become_nobody() -> None:
    """In a forked child: root reads and writes anything, so drop to nobody, as a student is."""
    if os.geteuid() == 0:
        os.setgid(65534)
        os.setuid(65534)
