"""Grade many students' notebooks of one lesson from one run of the lesson.

``python -m ckpt_helpers check`` runs the whole instructor notebook, with one student's answers
in it, in a fresh kernel: about seven seconds a notebook, most of them spent on the lesson,
which is the same for every student. :func:`grade_submissions` runs the lesson's cells up to
the first exercise once, in an IPython shell; then, per student, it forks: the child confines
itself (:mod:`ckpt_kit.sandbox`) and runs the rest of the notebook the checker would run
(the student's answers, the lesson's check cells) from that state, cell by cell, with the same
per-cell time limit, reporting each cell's outcome as it goes. The verdicts come from the
checker's own rules (:func:`ckpt_kit.checker._results`), so they are the ones ``check`` gives.

Forking needs a POSIX system.
"""

from __future__ import annotations

import configparser
import contextlib
import importlib
import os
import re
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ckpt_kit.checker import (
    ExerciseResult,
    _CellOutcome,
    _describe,
    _check_cell_notes,
    _grading_notebook,
    _results,
)
from ckpt_kit.exercises import find_exercises
from ckpt_kit.paths import REFERENCES_DIR, SANITIZE_FILE
from ckpt_kit.prepared import OUTPUT_LIMIT, _CappedText, _shell, fork_lines
from ckpt_kit.sandbox import Limits, confine

if TYPE_CHECKING:  # only for type hints
    from IPython.core.interactiveshell import InteractiveShell
    from nbformat import NotebookNode

DEFAULT_LIMITS = Limits()
_GRACE = 15.0  # seconds a cell may overrun its limit before its process is killed


@dataclass(frozen=True)
class Graded:
    """One submission's verdicts, or why it could not be graded, and how it was confined."""

    results: list[ExerciseResult]
    error: str = ""
    confinement: str = ""


class _CellTimeout(KeyboardInterrupt):
    """Raised in a cell that ran past its time limit, as the kernel's interrupt would."""


def _sanitize(text: str, rules: list[tuple[re.Pattern[str], str]]) -> str:
    for pattern, replacement in rules:
        text = pattern.sub(replacement, text)
    return text


def _sanitize_rules() -> list[tuple[re.Pattern[str], str]]:
    """The regexes nbval applies to stored and new outputs (nbval_sanitize.cfg)."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(SANITIZE_FILE, encoding="utf-8")
    return [(re.compile(parser[s]["regex"]), parser[s]["replace"]) for s in parser.sections()]


def _streams(cell: Any) -> tuple[str, str]:
    """What a reference cell printed to stdout and to stderr."""
    text = {"stdout": "", "stderr": ""}
    for output in cell.outputs:
        if output.get("output_type") == "stream":
            text[output.get("name", "stdout")] += output.get("text", "")
    return text["stdout"], text["stderr"]


def _run_cell(shell: InteractiveShell, source: str, timeout: float) -> _CellOutcome:
    """Run one cell with a time limit: its error, what it printed (stdout, then stderr)."""
    out, err = _CappedText(), _CappedText()

    def alarm(_signum: int, _frame: Any) -> None:
        raise _CellTimeout()

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            result = shell.run_cell(source, store_history=False)
    except _CellTimeout:  # raised outside the cell's own code (IPython's machinery)
        result = None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    error = None if result is None else result.error_before_exec or result.error_in_exec
    if result is None or isinstance(error, _CellTimeout):
        return _CellOutcome(False, {"ename": "KeyboardInterrupt", "evalue": ""},
                            f"Timeout of {timeout:g} seconds exceeded", out.getvalue())
    described = None
    if error is not None:
        described = {"ename": type(error).__name__, "evalue": str(error)[:OUTPUT_LIMIT]}
    return _CellOutcome(error is None, described, "", out.getvalue() + err.getvalue())


class _Prepared:
    """A lesson run up to its first exercise, in the current folder, ready to be forked."""

    def __init__(self, name: str) -> None:
        import nbformat

        self.name = name
        self.reference = nbformat.read(REFERENCES_DIR / name, as_version=4)
        self.exercises = find_exercises(self.reference)
        self.rules = _sanitize_rules()
        code = [c for c in self.reference.cells if c.cell_type == "code"]
        first = next(i for i, c in enumerate(code) if c.id == self.exercises[0].answer_id)
        self.before, self.after = code[:first], [c.id for c in code[first:]]
        import torch

        # one thread: a child forked from a process whose OpenMP pool ran can hang in it
        torch.set_num_threads(1)
        self.shell = _shell()
        # the lesson's temporary files go into its folder, which each student gets a copy of
        (Path.cwd() / ".tmp").mkdir()
        tempfile.tempdir = os.environ["TMPDIR"] = str(Path.cwd() / ".tmp")
        for cell in self.before:
            outcome = _run_cell(self.shell, cell.source, 600)
            if not outcome.ok:
                raise RuntimeError(f"lesson cell {cell.id} of {name} raised "
                                   f"{_describe(outcome.error)}")
        with contextlib.suppress(ImportError):  # the checks, imported before files are hidden
            importlib.import_module(f"ckpt_kit.checks.lesson{name[:2]}")

    def judge(self, cell: Any, outcome: _CellOutcome) -> _CellOutcome:
        """nbval's verdict on a cell: check cells must also print what the reference printed."""
        if not outcome.ok or "nbval-check-output" not in cell.metadata.get("tags", []):
            return outcome
        reference = next(c for c in self.reference.cells if c.id == cell.id)
        stdout, stderr = _streams(reference)
        expected = _sanitize(stdout + stderr, self.rules)
        if _sanitize(outcome.printed, self.rules) == expected:
            return outcome
        return _CellOutcome(False, None, "output differs from the reference", outcome.printed)


def _child(prepared: _Prepared, grading: NotebookNode, timeout: float, hidden: Iterable[Path],
           limits: Limits, write: Callable[[list[Any]], None]) -> None:
    """In the forked child: confine, then run the rest of the grading notebook cell by cell."""
    confinement = confine(Path.cwd(), hidden, limits)
    write(["confined", confinement.describe()])
    cells = {cell.id: cell for cell in grading.cells}
    try:
        for cell_id in prepared.after:
            write(["start", cell_id])
            outcome = prepared.judge(cells[cell_id], _run_cell(prepared.shell,
                                                               cells[cell_id].source, timeout))
            write(["done", cell_id, outcome.ok, outcome.error, outcome.report,
                   outcome.printed[:10_000]])
    finally:
        os.chdir("/")
        shutil.rmtree(confinement.scratch, ignore_errors=True)


def _grade_one(prepared: _Prepared, student: NotebookNode, timeout: float,
               hidden: Sequence[Path], limits: Limits) -> Graded:
    grading = _grading_notebook(prepared.reference, student)
    notes = _check_cell_notes(student, prepared.reference, prepared.exercises)
    lines, ended = fork_lines(
        lambda write: _child(prepared, grading, timeout, hidden, limits, write),
        lambda line: timeout + _GRACE if line and line[0] == "start" else 120)
    if not ended and lines and lines[-1][0] == "start":  # it exited in the middle of a cell
        ended = "the process exited while running a cell"
    outcomes = {cell.id: _CellOutcome(True) for cell in prepared.before}
    confinement = ""
    for line in lines:
        if line[0] == "confined":
            confinement = line[1]
        elif line[0] == "done":
            outcomes[line[1]] = _CellOutcome(line[2], line[3], line[4], line[5])
    started = [line[1] for line in lines if line[0] == "start"]
    if ended and started and started[-1] not in outcomes:  # as nbval reports a dead kernel
        outcomes[started[-1]] = _CellOutcome(False, None, f"Kernel died: {ended}")
    if ended and not started:
        return Graded([], f"the grader could not start your notebook: {ended}", confinement)
    try:
        results = _results(grading, prepared.exercises, outcomes, timeout, notes, prepared.name)
    except RuntimeError as error:
        return Graded([], str(error), confinement)
    return Graded(results, "", confinement)


def grade_submissions(name: str, students: Iterable[tuple[str, NotebookNode]], timeout: float,
                      hidden: Sequence[Path] = (), limits: Limits = DEFAULT_LIMITS,
                      on_graded: Callable[[str, Graded], None] = lambda key, graded: None
                      ) -> dict[str, Graded]:
    """Grade the notebooks ``students`` (key, notebook) of lesson ``name``; call ``on_graded``
    as each one is done. ``hidden``: folders the students' code must not see.

    The lesson runs once in a temporary folder; ``RuntimeError`` if one of its cells fails.
    """
    start, temporary = Path.cwd(), (tempfile.tempdir, os.environ.get("TMPDIR"))
    graded: dict[str, Graded] = {}
    with tempfile.TemporaryDirectory(prefix="ckpt-batch-") as tmp:
        os.chdir(tmp)
        try:
            prepared = _Prepared(name)
            for key, student in students:
                graded[key] = _grade_one(prepared, student, timeout, hidden, limits)
                on_graded(key, graded[key])
        finally:
            os.chdir(start)
            tempfile.tempdir = temporary[0]
            if temporary[1] is None:
                os.environ.pop("TMPDIR", None)
            else:
                os.environ["TMPDIR"] = temporary[1]
    return graded

