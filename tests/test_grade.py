"""Grading a class: `python -m ckpt_helpers grade SUBMISSIONS --out RESULTS` (ckpt_kit.gradebook,
ckpt_kit.batch, ckpt_kit.sandbox, ckpt_kit.report).

The end-to-end tests build a class from the real lesson notebooks: correct, another correct,
wrong, blank, not JSON, an endless loop, a memory hog, sys.exit(), a deleted cell, and a
student who tries to read another's notebook and to leave files outside the working folder.
"""

from __future__ import annotations

import csv
import os
import resource
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from ckpt_kit.checker import check_notebook
from ckpt_kit.exercises import find_exercises
from ckpt_kit.gradebook import Row, find_notebooks, safe_name, verdict_of
from ckpt_kit.paths import NOTEBOOKS_DIR, SOLUTIONS_DIR
from ckpt_kit.prepared import fork_lines
from ckpt_kit.report import summarize, write_chart, write_html
from ckpt_kit.sandbox import Limits, confine
from conftest import fill
from exercise_answers import ANSWERS

LESSON = "01_define_the_net.ipynb"
AS_ROOT = os.geteuid() == 0


def grade(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ckpt_helpers", "grade", *args],
                          capture_output=True, text=True, cwd=cwd, timeout=900)


def student_notebook(answers: dict[int, str], name: str = LESSON) -> nbformat.NotebookNode:
    nb = nbformat.read(NOTEBOOKS_DIR / name, as_version=4)
    cells = {cell.id: cell for cell in nb.cells}
    for ex in find_exercises(nbformat.read(SOLUTIONS_DIR / name, as_version=4)):
        if ex.number in answers:
            cells[ex.answer_id].source = fill(cells[ex.answer_id].source, answers[ex.number])
    return nb


def put(root: Path, student: str, nb: nbformat.NotebookNode, below: str = ".",
        name: str = LESSON) -> Path:
    folder = root / student / below
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / name)
    return folder / name


# --- the parts, fast -------------------------------------------------------------------------


def test_verdicts_follow_the_checkers_messages():
    assert verdict_of(True, "passed") == "passed"
    assert verdict_of(False, "not answered yet: replace ...") == "not answered"
    assert verdict_of(False, "not right yet. Hint: count the buffers") == "wrong"
    assert verdict_of(False, "the check could not accept your answer (NameError)") == "wrong"
    assert verdict_of(False, "your answer cell raised TypeError: x") == "error"
    assert verdict_of(False, "your code did not finish within 5 s") == "error"


def test_notebooks_are_found_anywhere_below_a_student_folder(tmp_path):
    nb = nbformat.v4.new_notebook()
    newest = put(tmp_path, "ana", nb, "course/week1")
    put(tmp_path, "ana", nb, "course/week1/.ipynb_checkpoints")
    put(tmp_path, "ben", nb, ".", "02_train.ipynb")
    put(tmp_path, "ben", nb, ".", "notes.ipynb")
    (tmp_path / "ben" / LESSON).symlink_to(newest)  # a link into another student's folder
    put(tmp_path, ".hidden", nb)
    found = find_notebooks(tmp_path)
    assert list(found) == ["ana", "ben"]
    assert found["ana"][LESSON][0] == newest and len(found["ana"][LESSON]) == 2
    assert list(found["ben"]) == ["02_train.ipynb"]


def test_feedback_file_names_are_safe_and_distinct():
    assert safe_name("ana") == "ana"
    assert "/" not in safe_name("../../etc/passwd")
    assert safe_name("Ana María") != safe_name("Ana_Mar_a")


def test_the_summary_puts_the_hardest_exercise_first(tmp_path):
    rows = [Row(s, LESSON, 1, "passed", "passed") for s in "abc"]
    rows += [Row("a", LESSON, 2, "wrong", "not right yet. <b>use numel()</b>"),
             Row("b", LESSON, 2, "wrong", "not right yet. <b>use numel()</b>"),
             Row("c", LESSON, 2, "passed", "passed")]
    summaries = summarize(rows)
    assert [(s.exercise, round(s.pass_rate, 2)) for s in summaries] == [(2, 0.33), (1, 1.0)]
    assert summaries[0].common_message == "not right yet. <b>use numel()</b>"
    write_chart(rows, tmp_path / "summary.png")
    write_html(rows, tmp_path / "summary.html", "summary.png")
    assert (tmp_path / "summary.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (tmp_path / "summary.html").read_text()
    assert page.index("01 Ex 2") < page.index("01 Ex 1") and "33%" in page
    assert "&lt;b&gt;use numel()&lt;/b&gt;" in page and "<b>use" not in page


def test_bad_folders_get_a_clear_error(tmp_path):
    missing = grade(str(tmp_path / "nothing"), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert missing.returncode == 2 and "one folder per student" in missing.stderr
    (tmp_path / "class").mkdir()
    empty = grade(str(tmp_path / "class"), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert empty.returncode == 2 and "has no student folders" in empty.stderr
    put(tmp_path / "class", "ana", nbformat.v4.new_notebook())
    inside = grade(str(tmp_path / "class"), "--out", str(tmp_path / "class" / "results"),
                   cwd=tmp_path)
    assert inside.returncode == 2 and "inside the submissions" in inside.stderr
    assert "Traceback" not in missing.stderr + empty.stderr + inside.stderr


def _probe(workdir: Path, hidden: Path, secret_file: Path) -> list:
    """In a confined child: what it can read, write and see."""
    def job(write):
        confinement = confine(workdir, [hidden], Limits(memory=1 << 30))
        seen = {"cwd_files": sorted(p.name for p in Path.cwd().iterdir()),
                "hidden": confinement.hidden, "user": confinement.user,
                "secret_env": os.environ.get("KIT_TEST_SECRET"), "uid": os.getuid(),
                "limits": [resource.getrlimit(r)[0] for r in (
                    resource.RLIMIT_NPROC, resource.RLIMIT_FSIZE, resource.RLIMIT_CORE)]}
        try:
            seen["read"] = secret_file.read_text()
        except OSError as error:
            seen["read"] = type(error).__name__
        for target in ("/tmp/left-behind.txt", str(hidden / "left-behind.txt"),
                       str(Path.home() / "left-behind.txt")):
            try:
                Path(target).write_text("x")
            except OSError:
                pass
        try:
            bytearray(2 << 30)
            seen["memory"] = "allocated"
        except MemoryError:
            seen["memory"] = "MemoryError"
        write(["seen", seen])

    lines, ended = fork_lines(job, lambda line: 60)
    assert not ended, ended
    return lines[0][1]


@pytest.mark.skipif(not AS_ROOT, reason="hiding folders and dropping to another user need root")
def test_a_confined_child_cannot_read_others_or_leave_files(tmp_path, monkeypatch):
    classroom = tmp_path / "class"
    (classroom / "ana").mkdir(parents=True)
    secret = classroom / "ana" / "answers.txt"
    secret.write_text("ana's answers")
    os.chmod(classroom / "ana", 0o755)  # readable by everyone, as unpacked archives often are
    os.chmod(secret, 0o644)
    workdir = tmp_path / "prepared"
    workdir.mkdir()
    (workdir / "lesson.pt").write_text("from the lesson")
    monkeypatch.setenv("KIT_TEST_SECRET", "token")
    seen = _probe(workdir, classroom, secret)
    assert seen["cwd_files"] == [".tmp", "lesson.pt"]
    assert seen["hidden"] and seen["user"] == seen["uid"] != 0
    assert seen["read"] in ("FileNotFoundError", "PermissionError")
    assert seen["secret_env"] is None
    assert seen["memory"] == "MemoryError"
    assert seen["limits"] == [Limits().processes, Limits().file_size, 0]  # no fork bomb
    assert not Path("/tmp/left-behind.txt").exists()
    assert not (classroom / "left-behind.txt").exists()
    assert not (Path.home() / "left-behind.txt").exists()
    assert sorted(p.name for p in workdir.iterdir()) == ["lesson.pt"]  # the original, untouched


# --- a whole class, end to end -----------------------------------------------------------------


def make_class(root: Path) -> dict[str, Path]:
    """Ten students of lesson 01 (and two of lesson 02); their notebooks' paths."""
    answers = ANSWERS[LESSON]
    right = {n: a["right"][0] for n, a in answers.items()}
    paths = {"alice": put(root, "alice", nbformat.read(SOLUTIONS_DIR / LESSON, as_version=4),
                          "work/lessons"),
             "bob": put(root, "bob", student_notebook(right)),
             "carol": put(root, "carol", student_notebook(
                 {n: a["wrong"][0][0] for n, a in answers.items()})),
             "dave": put(root, "dave", student_notebook({})),
             "frank": put(root, "frank", student_notebook({1: "while True:\n    pass",
                                                           2: right[2]})),
             "grace": put(root, "grace", student_notebook(
                 {1: "hog = []\nwhile True:\n    hog.append(bytearray(10**8))"})),
             "heidi": put(root, "heidi", student_notebook({1: "import sys\nsys.exit(0)",
                                                           3: right[3]}))}
    (root / "erin").mkdir()
    paths["erin"] = root / "erin" / LESSON
    paths["erin"].write_text('{"cells": [')
    deleted = student_notebook(right)
    ex2 = find_exercises(nbformat.read(SOLUTIONS_DIR / LESSON, as_version=4))[1]
    deleted.cells = [cell for cell in deleted.cells if cell.id != ex2.answer_id]
    paths["ivan"] = put(root, "ivan", deleted)
    sneak = (f"import os\n"
             f"try:\n"
             f"    open({str(paths['alice'])!r}).read()\n"
             f"    raise RuntimeError('read another student')\n"
             f"except OSError:\n"
             f"    pass\n"
             f"for target in ['/tmp/escaped-judy.txt', {str(root / 'escaped.txt')!r},\n"
             f"               {str(root / 'alice' / 'escaped.txt')!r}, '../../escaped.txt']:\n"
             f"    try:\n"
             f"        with open(target, 'w') as f:\n"
             f"            f.write('x')\n"
             f"    except OSError:\n"
             f"        pass\n"
             f"print('x' * 10**7)\n"
             f"return sum(t.numel() for t in state_dict.values())")
    paths["judy"] = put(root, "judy", student_notebook({1: sneak, 2: right[2]}))
    put(root, "alice", nbformat.read(SOLUTIONS_DIR / "02_train.ipynb", as_version=4), ".",
        "02_train.ipynb")
    put(root, "bob", student_notebook({}, "02_train.ipynb"), ".", "02_train.ipynb")
    return paths


EXPECTED = {  # student -> verdicts of Exercises 1, 2, 3 of lesson 01, and a piece of a message
    "alice": (["passed"] * 3, "passed"),
    "bob": (["passed"] * 3, "passed"),
    "carol": (["wrong"] * 3, "you counted the tensors"),
    "dave": (["not answered"] * 3, "not answered yet"),
    "erin": (["error"] * 3, "is not a readable notebook"),
    "frank": (["error", "passed", "not answered"], "did not finish within 10 s"),
    "grace": (["error", "not answered", "not answered"], "ran out of memory"),
    "heidi": (["error", "not answered", "passed"], "called sys.exit()"),
    "ivan": (["passed", "error", "passed"], "the answer cell is missing"),
    "judy": (["passed", "passed", "not answered"], "passed"),
}


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    root = tmp_path_factory.mktemp("grade")
    paths = make_class(root / "class")
    first = grade(str(root / "class"), "--out", str(root / "results"), "--jobs", "2",
                  "--timeout", "10", "--memory", "1", cwd=root)
    second = grade(str(root / "class"), "--out", str(root / "results"), "--jobs", "2",
                   "--timeout", "10", "--memory", "1", cwd=root)
    with open(root / "results" / "gradebook.csv", newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    return root, paths, first, second, rows


@pytest.mark.slow
def test_every_student_gets_a_row_per_exercise_with_the_right_verdict(graded_class):
    root, _paths, first, _second, rows = graded_class
    assert first.returncode == 0, first.stderr
    assert list(rows[0]) == ["student", "lesson", "exercise", "verdict", "message", "note"]
    for student, (verdicts, piece) in EXPECTED.items():
        mine = [r for r in rows if r["student"] == student and r["lesson"] == LESSON]
        assert [r["verdict"] for r in mine] == verdicts, (student, mine)
        assert any(piece in r["message"] for r in mine), (student, mine)
    lesson02 = {(r["student"], r["verdict"]) for r in rows if r["lesson"] == "02_train.ipynb"}
    assert ("alice", "passed") in lesson02 and ("bob", "not answered") in lesson02
    assert ("carol", "not answered") in lesson02  # no 02 notebook in carol's folder
    assert "12 notebooks (12 graded now, 0 unchanged)" in first.stdout
    assert "notebook" in first.stderr  # the progress bar
    isolation = first.stdout.splitlines()[-1]
    assert isolation.startswith("Isolation: own process, time, memory and file-size limits")
    if AS_ROOT:
        assert "other students' folders hidden; unprivileged user" in isolation


@pytest.mark.slow
def test_a_submission_neither_reads_another_nor_leaves_files(graded_class):
    root, paths, _first, _second, _rows = graded_class
    assert not Path("/tmp/escaped-judy.txt").exists()
    assert not (root / "class" / "escaped.txt").exists()
    assert not (root / "class" / "alice" / "escaped.txt").exists()
    assert not (root / "escaped.txt").exists()
    assert nbformat.read(paths["alice"], as_version=4)  # untouched


@pytest.mark.slow
def test_feedback_chart_and_page_say_the_right_thing(graded_class):
    root, _paths, _first, _second, _rows = graded_class
    results = root / "results"
    carol = (results / "feedback" / "carol.md").read_text()
    assert "0 of 6 exercises passed" in carol and "you counted the tensors" in carol
    assert "no 02_train.ipynb was found" in carol
    assert (results / "summary.png").read_bytes()[:4] == b"\x89PNG"
    page = (results / "summary.html").read_text()
    assert "10 students" in page
    assert page.index("02 Ex 1") < page.index("01 Ex 1")  # 1 of 10 passed it; 4 of 10 did 01's


@pytest.mark.slow
def test_grading_again_regrades_nothing(graded_class):
    _root, _paths, first, second, rows = graded_class
    assert second.returncode == 0, second.stderr
    assert "12 notebooks (0 graded now, 12 unchanged)" in second.stdout
    assert first.stdout.split(":")[1].split(";")[0] == second.stdout.split(":")[1].split(";")[0]


@pytest.mark.slow
@pytest.mark.parametrize("student", ["alice", "bob", "carol", "dave", "heidi", "ivan", "erin"])
def test_verdicts_are_the_ones_check_gives(graded_class, student):
    _root, paths, _first, _second, rows = graded_class
    mine = [r for r in rows if r["student"] == student and r["lesson"] == LESSON]
    try:
        results = check_notebook(paths[student], cell_timeout=10)
    except ValueError as error:  # a file check cannot read: the same reason in every row
        assert {r["message"] for r in mine} == {
            str(error).replace(str(paths[student]), f"your {LESSON}")}
        return
    assert [(r.passed, r.message) for r in results] == [
        (row["verdict"] == "passed", row["message"]) for row in mine]
