"""Grade a whole class: ``python -m ckpt_helpers grade SUBMISSIONS --out RESULTS``.

``SUBMISSIONS`` holds one folder per student (the folder's name is the student's name); each
student's lesson notebooks are found anywhere below it by their file names, so a folder of
collected files and the home folders of a JupyterHub both work. Every notebook is graded as
``python -m ckpt_helpers check`` grades it (:mod:`ckpt_kit.batch`: each lesson runs once per
worker, each student's answers in a confined fork of it), and ``RESULTS`` receives:

- ``gradebook.csv``: one row per student, lesson and exercise: the verdict (``passed``,
  ``wrong``, ``not answered``, ``error``) and the message the student would see;
- ``feedback/<student>.md``: the same, for one student, to hand back;
- ``summary.png`` and ``summary.html``: the pass rate of each exercise across the class,
  hardest first (:mod:`ckpt_kit.report`);
- ``.cache/``: verdicts by content hash, so that grading again re-runs only changed notebooks.
"""

from __future__ import annotations

import csv
import hashlib
import json
import multiprocessing
import queue
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ckpt_kit.exercises import find_exercises
from ckpt_kit.paths import PACKAGE_DIR, REFERENCES_DIR, SOLUTIONS_DIR
from ckpt_kit.sandbox import Limits

VERDICTS = ("passed", "wrong", "not answered", "error")
MAX_NOTEBOOK_BYTES = 20 << 20  # a lesson notebook with outputs is well under 1 MB
_GRADER_FAILED = "not graded, the grader failed (not your fault; tell your instructor)"
_FIELDS = ("student", "lesson", "exercise", "verdict", "message", "note")


@dataclass(frozen=True)
class Row:
    """One line of the gradebook."""

    student: str
    lesson: str
    exercise: int
    verdict: str
    message: str
    note: str = ""


@dataclass(frozen=True)
class Task:
    """One student's notebook of one lesson, and the cache key of its content."""

    student: str
    lesson: str
    path: Path
    key: str


def verdict_of(passed: bool, message: str) -> str:
    """The gradebook's verdict for a message of the checker.

    >>> verdict_of(False, "not right yet. Save the state_dict")
    'wrong'
    """
    if passed:
        return "passed"
    if message.startswith("not answered"):
        return "not answered"
    if message.startswith(("not right yet", "your code printed while the check ran",
                           "the check could not accept")):
        return "wrong"
    return "error"


def lessons() -> list[str]:
    """The lessons' notebook names, in order."""
    return [p.name for p in sorted(REFERENCES_DIR.glob("*.ipynb"))]


def find_notebooks(submissions: Path) -> dict[str, dict[str, list[Path]]]:
    """Student name -> lesson name -> the files of that name below the student's folder,
    the most likely one first (not in ``.ipynb_checkpoints``, shallowest, newest)."""
    names = set(lessons())
    found: dict[str, dict[str, list[Path]]] = {}
    for folder in sorted(p for p in submissions.iterdir() if p.is_dir()):
        if folder.name.startswith("."):
            continue
        mine: dict[str, list[Path]] = {}
        for path in folder.rglob("*.ipynb"):
            if path.name in names and path.is_file() and not path.is_symlink():
                mine.setdefault(path.name, []).append(path)
        for paths in mine.values():
            paths.sort(key=lambda p: (".ipynb_checkpoints" in p.parts, len(p.parts),
                                      -p.stat().st_mtime))
        found[folder.name] = mine
    return found


def _kit_fingerprint(lesson: str, timeout: float, limits: Limits) -> str:
    """What a verdict depends on besides the notebook: the lesson, its checks, the grader."""
    digest = hashlib.sha256(f"{lesson}:{timeout:g}:{limits}".encode())
    sources = [REFERENCES_DIR / lesson, PACKAGE_DIR / "checks" / f"lesson{lesson[:2]}.py",
               *sorted(PACKAGE_DIR.glob("*.py"))]
    for path in sources:
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


_OUT_OF_MEMORY = ("MemoryError", "can't allocate memory", "Cannot allocate memory")


def _rows_of(task: Task, graded: Any, limits: Limits) -> list[Row]:
    """Gradebook rows from a :class:`ckpt_kit.batch.Graded` (or an error string)."""
    exercises = _exercises(task.lesson)
    if isinstance(graded, str) or graded.error:
        reason = graded if isinstance(graded, str) else graded.error
        return [Row(task.student, task.lesson, n, "error", reason) for n in exercises]
    rows = []
    for r in graded.results:
        verdict, message = verdict_of(r.passed, r.message), r.message
        if not r.passed and any(sign in message for sign in _OUT_OF_MEMORY):
            verdict = "error"
            message = (f"your code ran out of memory: each submission may use "
                       f"{limits.memory / 2**30:g} GiB more than the lesson ({message})")
        rows.append(Row(task.student, task.lesson, r.exercise.number, verdict, message, r.note))
    return rows


_EXERCISES: dict[str, list[int]] = {}


def _exercises(lesson: str) -> list[int]:
    if lesson not in _EXERCISES:
        import nbformat

        nb = nbformat.read(REFERENCES_DIR / lesson, as_version=4)
        _EXERCISES[lesson] = [ex.number for ex in find_exercises(nb)]
    return _EXERCISES[lesson]


def _read_task(task: Task) -> Any:
    """The student's notebook, checked as ``check`` checks it; an error string if unusable."""
    from ckpt_kit.checker import _read_submission

    if task.path.stat().st_size > MAX_NOTEBOOK_BYTES:
        return (f"{task.path.name} is larger than {MAX_NOTEBOOK_BYTES >> 20} MB: clear its "
                "outputs (Edit > Clear Outputs of All Cells), save, and submit it again")
    try:
        student, _reference = _read_submission(task.path)
    except (ValueError, FileNotFoundError, UnicodeDecodeError) as error:
        return str(error).replace(str(task.path), f"your {task.path.name}")
    return student


def _unit(lesson: str, tasks: list[Task], timeout: float, hidden: list[Path], limits: Limits,
          results: Any) -> None:
    """A worker process: grade ``tasks`` of one lesson, putting each result on ``results``."""
    from ckpt_kit.batch import grade_submissions

    students = []
    for task in tasks:
        notebook = _read_task(task)
        if isinstance(notebook, str):
            results.put((task.key, task.student, notebook))
        else:
            students.append((task.student, notebook))
    by_student = {task.student: task for task in tasks}
    try:
        grade_submissions(lesson, students, timeout, hidden, limits,
                          lambda student, graded: results.put(
                              (by_student[student].key, student, graded)))
    except RuntimeError as error:  # the lesson itself failed: the kit, not the students
        results.put(("", lesson, f"{_GRADER_FAILED}: the lesson {lesson} could not be "
                                 f"prepared ({error})"))


def _units(tasks: list[Task], jobs: int) -> list[tuple[str, list[Task]]]:
    """Split the work so that each lesson runs in as few workers as keep ``jobs`` busy."""
    by_lesson: dict[str, list[Task]] = {}
    for task in tasks:
        by_lesson.setdefault(task.lesson, []).append(task)
    per_lesson = max(1, -(-jobs // max(len(by_lesson), 1)))
    units = []
    for lesson, mine in by_lesson.items():
        parts = max(1, min(per_lesson, len(mine) // 4))
        units += [(lesson, mine[i::parts]) for i in range(parts)]
    return sorted(units, key=lambda unit: -len(unit[1]))


def run_units(tasks: list[Task], jobs: int, timeout: float, hidden: list[Path], limits: Limits,
              progress: Any = None) -> Iterator[tuple[Task, Any]]:
    """Grade ``tasks`` in up to ``jobs`` worker processes; yield each (task, Graded or error)."""
    context = multiprocessing.get_context("spawn")  # fresh interpreters: nothing inherited
    results = context.Queue()
    pending, running = _units(tasks, jobs), []
    waiting = {(t.key, t.student): t for t in tasks}
    while pending or running:
        while pending and len(running) < jobs:
            lesson, mine = pending.pop(0)
            process = context.Process(target=_unit, daemon=True,
                                      args=(lesson, mine, timeout, hidden, limits, results))
            process.start()
            running.append((process, mine))
        try:
            key, student, graded = results.get(timeout=1)
        except queue.Empty:
            for process, mine in [r for r in running if not r[0].is_alive()]:
                running.remove((process, mine))
                for task in mine:  # a worker that died took these with it
                    if waiting.pop((task.key, task.student), None) is not None:
                        yield task, (f"{_GRADER_FAILED}: its worker stopped (exit code "
                                     f"{process.exitcode})")
            continue
        if not key:  # a lesson that could not be prepared: its notebooks get the reason
            for task in [t for t in waiting.values() if t.lesson == student]:
                yield waiting.pop((task.key, task.student)), graded
            continue
        task = waiting.pop((key, student), None)
        if task is not None:
            if progress is not None:
                progress.update(1)
            yield task, graded


def _cache_file(out: Path, task: Task) -> Path:
    return out / ".cache" / task.lesson[:2] / f"{task.key}.json"


def plan(submissions: Path, timeout: float, limits: Limits) -> tuple[list[Task], list[Row]]:
    """The notebooks to grade, and the rows known without grading (missing notebooks)."""
    found = find_notebooks(submissions)
    graded_lessons = sorted({lesson for mine in found.values() for lesson in mine})
    fingerprints = {lesson: _kit_fingerprint(lesson, timeout, limits)
                    for lesson in graded_lessons}
    tasks, rows = [], []
    for student, mine in found.items():
        for lesson in graded_lessons:
            paths = mine.get(lesson)
            if not paths:
                rows += [Row(student, lesson, n, "not answered",
                             f"no {lesson} was found in your folder") for n in _exercises(lesson)]
                continue
            content = hashlib.sha256(paths[0].read_bytes()).hexdigest()
            key = hashlib.sha256(f"{fingerprints[lesson]}:{content}".encode()).hexdigest()[:32]
            tasks.append(Task(student, lesson, paths[0], key))
    return tasks, rows


def _from_cache(out: Path, task: Task) -> list[Row] | None:
    try:
        stored = json.loads(_cache_file(out, task).read_text(encoding="utf-8"))
        return [Row(**{**row, "student": task.student}) for row in stored]
    except (OSError, ValueError, TypeError):
        return None


def _to_cache(out: Path, task: Task, rows: list[Row]) -> None:
    path = _cache_file(out, task)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps([asdict(r) for r in rows]), encoding="utf-8")
    temporary.replace(path)


def safe_name(student: str) -> str:
    """A file name for a student's feedback.

    >>> safe_name("ana.lopez"), safe_name("../ana")[:5]
    ('ana.lopez', '_ana_')
    """
    name = re.sub(r"[^A-Za-z0-9._-]", "_", student).strip(".") or "student"
    if name == student:
        return name
    return f"{name}_{hashlib.sha1(student.encode()).hexdigest()[:6]}"  # two names, two files


def write_csv(rows: list[Row], path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(_FIELDS)
        for row in rows:
            writer.writerow([getattr(row, field) for field in _FIELDS])


def write_feedback(rows: list[Row], folder: Path, languages: dict[str, str] | None = None) -> None:
    """One Markdown file per student: each lesson's exercises, verdicts and messages, in the
    student's language (``languages``: the language of their notebooks; English by default)."""
    from ckpt_kit.i18n import DEFAULT, translate

    folder.mkdir(parents=True, exist_ok=True)
    students: dict[str, list[Row]] = {}
    for row in rows:
        students.setdefault(row.student, []).append(row)
    for student, mine in students.items():
        passed = sum(r.verdict == "passed" for r in mine)
        lines = [f"# Feedback for {student}", "", f"{passed} of {len(mine)} exercises passed.", ""]
        for lesson in sorted({r.lesson for r in mine}):
            lines += [f"## {Path(lesson).stem}", ""]
            for r in (r for r in mine if r.lesson == lesson):
                note = f" (note: {r.note})" if r.note else ""
                lines.append(f"- Exercise {r.exercise}: **{r.verdict}**: {r.message}{note}")
            lines.append("")
        lang = (languages or {}).get(student, DEFAULT)
        text = "\n".join(translate(line, lang) for line in lines)
        (folder / f"{safe_name(student)}.md").write_text(text, encoding="utf-8")



def grade_class(submissions: Path, out: Path, jobs: int = 2, timeout: float = 120,
                limits: Limits | None = None, progress: bool = True) -> str:
    """Grade every notebook in ``submissions`` into ``out``; return the one-line summary (and
    a line on the isolation that was in force for the notebooks graded now)."""
    from tqdm import tqdm

    from ckpt_kit.i18n import file_language
    from ckpt_kit.report import write_chart, write_html

    started = time.monotonic()
    submissions, out = _checked_folders(submissions, out)
    limits = limits or Limits()
    tasks, rows = plan(submissions, timeout, limits)
    to_grade = []
    for task in tasks:
        cached = _from_cache(out, task)
        if cached is None:
            to_grade.append(task)
        else:
            rows += cached
    hidden = [submissions, out, SOLUTIONS_DIR, Path.home()]
    confinements: set[str] = set()
    with tqdm(total=len(to_grade), unit="notebook", disable=not progress or not to_grade,
              file=sys.stderr) as bar:
        for task, graded in run_units(to_grade, jobs, timeout, hidden, limits, bar):
            if getattr(graded, "confinement", ""):
                confinements.add(graded.confinement)
            mine = _rows_of(task, graded, limits)
            if not (isinstance(graded, str) and graded.startswith(_GRADER_FAILED)):
                _to_cache(out, task, mine)  # not the grader's own failures: they are retried
            rows += mine
    rows.sort(key=lambda r: (r.student, r.lesson, r.exercise))
    write_csv(rows, out / "gradebook.csv")
    languages = {task.student: file_language(task.path) for task in tasks}
    write_feedback(rows, out / "feedback", languages)
    write_chart(rows, out / "summary.png")
    write_html(rows, out / "summary.html", "summary.png")
    summary = _summary(rows, len(tasks), len(to_grade), time.monotonic() - started, out)
    return "\n".join([summary, *(f"Isolation: {c}." for c in sorted(confinements))])


def _checked_folders(submissions: Path, out: Path) -> tuple[Path, Path]:
    submissions, out = submissions.resolve(), out.resolve()
    if not submissions.is_dir():
        raise FileNotFoundError(f"{submissions} is not a folder: pass the folder that holds "
                                "one folder per student")
    if out == submissions or submissions in out.parents:
        raise ValueError(f"the results folder {out} is inside the submissions: choose a "
                         "folder outside it, or it would be graded as a student")
    if not any(p.is_dir() and not p.name.startswith(".") for p in submissions.iterdir()):
        raise ValueError(f"{submissions} has no student folders: it should hold one folder "
                         "per student, named after the student")
    out.mkdir(parents=True, exist_ok=True)
    return submissions, out


def _summary(rows: list[Row], notebooks: int, graded: int, seconds: float, out: Path) -> str:
    students = len({r.student for r in rows})
    passed = sum(r.verdict == "passed" for r in rows)
    rates: dict[tuple[str, int], list[bool]] = {}
    for r in rows:
        rates.setdefault((r.lesson, r.exercise), []).append(r.verdict == "passed")
    hardest = min(rates, key=lambda k: sum(rates[k]) / len(rates[k]), default=None)
    hard = "" if hardest is None else (
        f"; hardest: {hardest[0][:2]} Exercise {hardest[1]} "
        f"({100 * sum(rates[hardest]) / len(rates[hardest]):.0f}% passed)")
    return (f"{students} students, {notebooks} notebooks ({graded} graded now, "
            f"{notebooks - graded} unchanged): {passed} of {len(rows)} exercises passed{hard}; "
            f"{seconds:.0f} s. Results in {out}")
