"""The answer checker: grade a student notebook by what its answers do.

The checker takes the lesson's reference (``ckpt_kit/lessons/``: the instructor notebook without
its solutions) and puts into it only the student's answer cells; the lesson, the check cells and
the outputs the checks must reproduce come from the reference. It never reads the solutions, so
students need no access to ``notebooks/solutions/``. It
runs that notebook under nbval in a temporary folder and turns each exercise's two cells into a
verdict with a sentence for the student. A translated lesson (``notebooks/zh/``) is graded the
same way, with the English lesson's cells; its verdicts are translated when they are shown
(``python -m ckpt_helpers check``, :mod:`ckpt_kit.i18n`).
"""

from __future__ import annotations

import contextlib
import copy
import io
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ckpt_kit.exercises import STUB, Exercise, find_exercises
from ckpt_kit.i18n import DEFAULT, notebook_language
from ckpt_kit.paths import REFERENCES_DIR, SANITIZE_FILE
from ckpt_kit.terminal import strip_ansi
from ckpt_kit.translation import same_code

if TYPE_CHECKING:  # only for type hints: nbformat is imported by the functions that use it
    from nbformat import NotebookNode


@dataclass(frozen=True)
class ExerciseResult:
    """The verdict on one exercise: ``passed``, and a sentence for the student."""

    exercise: Exercise
    passed: bool
    message: str
    note: str = ""  # something about the student's file the verdict did not depend on


@dataclass(frozen=True)
class _CellOutcome:
    """How one cell of the grading run went: passed, its first error, pytest's report, and
    what it printed."""

    ok: bool
    error: dict | None = None
    report: str = ""
    printed: str = ""


MISSING = "the answer cell is missing from your notebook"
_ENDLESS = ("your code did not finish within {timeout:g} s (an endless loop, or far too much "
            "work?): every answer and its check get {timeout:g} s")


def _find_answer(student: NotebookNode, reference: NotebookNode, answer_id: str) -> str | None:
    """The student's source for an answer cell: same cell id, else same first line."""
    cells = [c for c in student.cells if c.cell_type == "code"]
    for cell in cells:
        if cell.get("id") == answer_id:
            return cell.source
    first_line = next(c for c in reference.cells if c.id == answer_id).source.split("\n")[0]
    for cell in cells:
        if cell.source.split("\n")[0] == first_line:
            return cell.source
    return None


def _grading_notebook(reference: NotebookNode, student: NotebookNode) -> NotebookNode:
    """The reference notebook with the student's answers in it; nothing else of theirs."""
    nb = copy.deepcopy(reference)
    cells = {cell.id: cell for cell in nb.cells}
    for ex in find_exercises(reference):
        answer = cells[ex.answer_id]
        source = _find_answer(student, reference, ex.answer_id)
        answer.source = source if source is not None else f"raise LookupError({MISSING!r})"
        answer.outputs = []
        # answers may print anything; the check cell's output is compared with the reference
        answer.metadata["tags"] = ["nbval-ignore-output"]
        cells[ex.check_id].metadata["tags"] = ["nbval-check-output"]
    return nb


def _describe(error: dict | None) -> str:
    """An error output of a cell as one readable ``Name: message``."""
    return f"{error['ename']}: {strip_ansi(error['evalue'])}" if error else ""


_STOPPED = "exercises after this one were not graded"


def _failure(cell: _CellOutcome, timeout: float) -> str | None:
    """What stopped a cell, when it was not an exception the student's code raised."""
    name = cell.error["ename"] if cell.error else ""
    if "Failed to interrupt kernel" in cell.report or "Kernel dead" in cell.report or (
            "Kernel died" in cell.report):
        return ("the kernel stopped while running your code (os._exit, os.kill, a crash, running "
                f"out of memory, or more than {timeout:g} s that could not be interrupted): "
                f"{_STOPPED}")
    if name == "KeyboardInterrupt" or "Timeout of" in cell.report:
        return _ENDLESS.format(timeout=timeout)
    if name == "SystemExit":
        return ("your code called sys.exit() (or exit()), which would stop the kernel: "
                "return a value, or raise an exception, instead")
    return None


def _verdict(ex: Exercise, outcomes: dict[str, _CellOutcome], answered: bool,
             timeout: float) -> ExerciseResult:
    """Turn the outcomes of an exercise's two cells into a sentence for the student."""
    answer = outcomes.get(ex.answer_id, _CellOutcome(False))
    check = outcomes.get(ex.check_id, _CellOutcome(False))
    # the stub raises NotImplementedError() with no message; torch raises real ones with one
    stub_raised = any(e and e["ename"] == "NotImplementedError" and not e["evalue"].strip()
                      for e in (answer.error, check.error))
    if not answered or stub_raised:  # the stub is still there, or one still raises
        return ExerciseResult(ex, False, "not answered yet: replace "
                              "`raise NotImplementedError()` in its answer cell with your code")
    if answer.error and MISSING in answer.error["evalue"]:
        return ExerciseResult(ex, False, f"{MISSING}: copy the cell under Exercise "
                              f"{ex.number} back from a fresh copy of the lesson")
    for cell in (answer, check):
        stopped = None if cell.ok else _failure(cell, timeout)
        if stopped:
            return ExerciseResult(ex, False, stopped)
    if not answer.ok:
        what = _describe(answer.error) or "did not finish"
        return ExerciseResult(ex, False, f"your answer cell raised {what}")
    if check.ok:
        return ExerciseResult(ex, True, "passed")
    if check.error and check.error["ename"] == "AssertionError":
        hint = strip_ansi(check.error["evalue"])
        return ExerciseResult(ex, False, f"not right yet. {hint}")
    if check.error is None and f"Exercise {ex.number}: passed" in check.printed:
        extra = " ".join(check.printed.replace(f"Exercise {ex.number}: passed", "").split())
        return ExerciseResult(ex, False, f"your code printed while the check ran ({extra[:60]!r}"
                              f"{'...' if len(extra) > 60 else ''}): the check may print only "
                              f"`Exercise {ex.number}: passed`, so remove the print() calls "
                              "from what the check calls")
    what = _describe(check.error) or "the check's output differs from the reference"
    return ExerciseResult(ex, False, f"the check could not accept your answer ({what}); "
                          "does your answer define what the exercise asks for?")


def _run_nbval(notebook: Path, cell_timeout: float) -> dict[str, _CellOutcome]:
    """Run ``notebook`` under nbval (lax) in its folder; how each cell went."""
    import pytest

    outcomes: dict[str, _CellOutcome] = {}

    class Collector:  # a pytest plugin: the outcome and first error output of every cell
        @pytest.hookimpl(hookwrapper=True)
        def pytest_runtest_makereport(self, item: Any, call: Any) -> Any:
            report = (yield).get_result()
            if report.when == "call" and hasattr(item, "cell"):
                outputs = item.test_outputs or []
                errors = [o for o in outputs if o.get("output_type") == "error"]
                printed = "".join(o.get("text", "") for o in outputs
                                  if o.get("output_type") == "stream")
                outcomes[item.cell.id] = _CellOutcome(
                    report.passed, errors[0] if errors else None,
                    "" if report.passed else str(report.longrepr)[-2000:], printed[:10_000])

    folder = notebook.parent
    ini = folder / "pytest.ini"  # keeps the kit's own pytest settings out of this run
    ini.write_text("[pytest]\n", encoding="utf-8")
    log = io.StringIO()
    with contextlib.redirect_stdout(log):
        exit_code = pytest.main(
            [str(notebook), "--nbval-lax", "--nbval-current-env", "--nbval-cell-timeout",
             str(cell_timeout), "--nbval-sanitize-with", str(SANITIZE_FILE), "-c", str(ini),
             "--rootdir", str(folder), "-p", "no:cacheprovider", "-q", "--tb=short"],
            plugins=[Collector()])
    if exit_code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        raise RuntimeError(f"nbval could not run {notebook.name} (pytest exit code "
                           f"{exit_code}):\n" + log.getvalue()[-2000:])
    return outcomes


def _signature(nb: NotebookNode) -> set[str]:
    """What identifies a lesson's notebook: its cells' ids and the first lines of its text."""
    return ({cell.get("id") or "" for cell in nb.cells} | {
        cell.source.strip().split("\n")[0] for cell in nb.cells
        if cell.cell_type == "markdown" and cell.source.strip()}) - {""}


def _same_lesson(student: NotebookNode, name: str) -> None:
    """``ValueError`` when the student's file holds another lesson than its name says.

    Each lesson is recognised by what only it has (cell ids, headings): a student's file must
    keep at least 30% of that of the lesson it is named after.
    """
    import nbformat

    signatures = {p.name: _signature(nbformat.read(p, as_version=4))
                  for p in sorted(REFERENCES_DIR.glob("*.ipynb"))}
    mine = _signature(student)
    scores = {}
    for lesson, signature in signatures.items():
        own = signature - set().union(*(s for n, s in signatures.items() if n != lesson))
        scores[lesson] = len(mine & own) / max(len(own), 1)
    if scores[name] >= 0.3:
        return
    best = max(scores, key=scores.__getitem__)
    if scores[best] >= 0.3:
        raise ValueError(f"this file is named {name} but holds lesson {Path(best).stem}: check "
                         f"the file of that lesson, or rename this one to {best}")
    raise ValueError(f"this file does not look like lesson {Path(name).stem}: did you save "
                     "another notebook under its name? Restore it from a fresh copy")


def _read_submission(path: Path) -> tuple[NotebookNode, NotebookNode]:
    """The student's notebook and the reference notebook of the same lesson."""
    import nbformat

    if path.suffix != ".ipynb" or not path.is_file():
        raise FileNotFoundError(f"{path} is not a notebook file; pass e.g. "
                                "notebooks/01_define_the_net.ipynb")
    reference_path = REFERENCES_DIR / path.name
    if not reference_path.is_file():
        known = ", ".join(p.name for p in sorted(REFERENCES_DIR.glob("*.ipynb")))
        raise FileNotFoundError(f"no lesson is called {path.name}; the lessons are: {known}")
    try:
        student = nbformat.read(path, as_version=4)
        if not isinstance(student.get("cells"), list):
            raise ValueError("it has no list of cells")
    except Exception as error:  # nbformat raises several types for a damaged file
        reason = " ".join(str(error).split())[:120]
        raise ValueError(f"{path} is not a readable notebook ({reason}); did the save finish? "
                         "Restore it from your last checkpoint (File > Revert) or a fresh "
                         "copy") from error
    reference = nbformat.read(reference_path, as_version=4)
    _same_lesson(student, path.name)
    return student, reference


def _check_cell_notes(student: NotebookNode, reference: NotebookNode,
                      exercises: list[Exercise]) -> dict[int, str]:
    """Per exercise, a note when the student's check cell was deleted or edited."""
    code = [cell for cell in student.cells if cell.cell_type == "code"]
    by_id = {cell.get("id"): cell.source.strip() for cell in code}
    checks = {cell.source.split("\n")[0].strip(): cell.source.strip() for cell in code}
    sources = {cell.id: cell.source for cell in reference.cells}
    translated = notebook_language(student) != DEFAULT  # its comments are in its language
    notes = {}
    for ex in exercises:
        mine = by_id.get(ex.check_id) or checks.get(sources[ex.check_id].split("\n")[0].strip())
        if mine is None:
            notes[ex.number] = "your notebook has no check cell for it; the lesson's was used"
        elif mine != sources[ex.check_id].strip() and not (
                translated and same_code(sources[ex.check_id], mine)):
            notes[ex.number] = "your check cell was edited; the lesson's own check was used"
    return notes


def check_notebook(path: str | Path, cell_timeout: float = 300) -> list[ExerciseResult]:
    """Grade a student notebook: run the instructor notebook with the student's answers in it.

    Only the answer cells come from the student; the lesson and the check cells, and the
    outputs the checks must reproduce, come from ``ckpt_kit/lessons/``, so an answer is
    judged by what it does, never by what the student's file says it printed. Runs nbval;
    every answer and its check get ``cell_timeout`` seconds.
    """
    import nbformat

    path = Path(path)
    student, reference = _read_submission(path)
    exercises = find_exercises(reference)
    grading = _grading_notebook(reference, student)
    with tempfile.TemporaryDirectory(prefix="ckpt-check-") as tmp:
        # the kernel starts in the folder of the notebook, so files an answer writes land here
        graded = Path(tmp) / path.name
        nbformat.write(grading, graded)
        outcomes = _run_nbval(graded, cell_timeout)
    return _results(grading, exercises, outcomes, cell_timeout,
                    _check_cell_notes(student, reference, exercises), path.name)


def _results(grading: NotebookNode, exercises: list[Exercise],
             outcomes: dict[str, _CellOutcome], timeout: float, notes: dict[int, str],
             name: str) -> list[ExerciseResult]:
    """The verdicts; after an exercise that stopped the kernel, the rest are not graded."""
    results: list[ExerciseResult] = []
    exercise_cells = {i for ex in exercises for i in (ex.answer_id, ex.check_id)}
    stopped_by = None
    for cell in grading.cells:
        if cell.cell_type != "code":
            continue
        outcome = outcomes.get(cell.id, _CellOutcome(False))
        ex = next((e for e in exercises if cell.id == e.answer_id), None)
        if ex is not None:
            if stopped_by is not None:
                results.append(ExerciseResult(ex, False, "not graded: the kernel stopped in "
                                              f"Exercise {stopped_by}", notes.get(ex.number, "")))
                continue
            answered = STUB[1] not in {line.strip() for line in cell.source.split("\n")}
            result = _verdict(ex, outcomes, answered, timeout)
            results.append(ExerciseResult(ex, result.passed, result.message,
                                          notes.get(ex.number, "")))
            if result.message.endswith(_STOPPED):
                stopped_by = ex.number
        elif cell.id not in exercise_cells and not outcome.ok and stopped_by is None:
            reason = _describe(outcome.error) or (outcome.report.strip().split("\n") or [""])[-1]
            raise RuntimeError(f"lesson cell {cell.id} of {name} failed before the answers could "
                               f"be checked ({reason[:300] or 'no output'}): is the kit "
                               "installed as README.md says?")
    return results
