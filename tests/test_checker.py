"""The answer checker, end to end, as a student runs it: `python -m ckpt_helpers check NB`.

For every lesson: the blank student notebook fails every exercise; the instructor notebook passes
every exercise; other correct answers pass. (Wrong answers: test_checker_wrong_answers.py.) And
the grading notebook takes only the answers from the student's file.
"""

from __future__ import annotations

import subprocess
import sys

import nbformat
import pytest

from ckpt_kit.checker import _grading_notebook
from ckpt_kit.exercises import find_exercises, make_student_notebook
from ckpt_kit.paths import NOTEBOOKS_DIR, SOLUTIONS_DIR
from conftest import answer_cases, answered_notebook, run_checker
from exercise_answers import ANSWERS
from test_exercises import _exercise_notebook

LESSONS = sorted(p.name for p in SOLUTIONS_DIR.glob("*.ipynb"))


def test_every_lesson_has_wrong_and_right_answers_for_every_exercise():
    for name in LESSONS:
        exercises = find_exercises(nbformat.read(SOLUTIONS_DIR / name, as_version=4))
        assert set(ANSWERS.get(name, {})) == {ex.number for ex in exercises}, name
        for number, answers in ANSWERS[name].items():
            assert answers["wrong"] and answers["right"], (name, number)


@pytest.mark.parametrize("name", LESSONS)
def test_blank_notebook_fails_every_exercise(name):
    code, verdicts, output = run_checker(NOTEBOOKS_DIR / name)
    assert code == 1, output
    assert verdicts and all(v.startswith("not answered yet") for v in verdicts.values()), output


@pytest.mark.parametrize("name", LESSONS)
def test_reference_solutions_pass(name):
    code, verdicts, output = run_checker(SOLUTIONS_DIR / name)
    assert code == 0, output
    assert verdicts and all(v == "passed" for v in verdicts.values()), output


@pytest.mark.slow  # every listed correct answer through the checker: python -m pytest -m slow
@pytest.mark.parametrize("name, k", answer_cases("right", most=2))
def test_other_correct_answers_pass(tmp_path, name, k):
    right = {n: a["right"][k] for n, a in ANSWERS[name].items() if k < len(a["right"])}
    code, verdicts, output = run_checker(answered_notebook(tmp_path, name, right, False))
    for number in right:
        assert verdicts.get(number) == "passed", (number, output)
    assert (code == 0) == (len(right) == len(ANSWERS[name])), output


def test_a_real_not_implemented_error_is_not_taken_for_the_stub(tmp_path):
    # torch raises NotImplementedError with a message (e.g. .eval() on an exported program); only
    # the stub's bare NotImplementedError() means "not answered yet"
    path = answered_notebook(tmp_path, "01_define_the_net.ipynb",
                             {1: 'raise NotImplementedError("not supported yet")'},
                             forge_outputs=False)
    code, verdicts, output = run_checker(path)
    assert code == 1
    assert "NotImplementedError: not supported yet" in verdicts[1], output
    assert verdicts[2].startswith("not answered yet"), output


def test_grading_takes_only_the_answers_from_the_student():
    reference = _exercise_notebook()
    student = make_student_notebook(reference)
    student.cells[1].source = "x = 'changed by the student'"
    student.cells[2].source = "# Exercise 1: your answer\ndef f():\n    return 3"
    student.cells[3].source = "print('Exercise 1: passed')"  # a gutted check
    graded = _grading_notebook(reference, student)
    assert [c.source for c in graded.cells] == [
        reference.cells[0].source, "x = 1", student.cells[2].source, reference.cells[3].source]
    assert graded.cells[2].metadata["tags"] == ["nbval-ignore-output"]
    assert graded.cells[3].metadata["tags"] == ["nbval-check-output"]


def test_grading_finds_an_answer_cell_whose_id_changed_or_says_it_is_missing():
    reference = _exercise_notebook()
    student = make_student_notebook(reference)
    student.cells[2].id = "pasted-copy"
    student.cells[2].source = student.cells[2].source.replace("raise NotImplementedError()", "1")
    graded = _grading_notebook(reference, student)
    assert graded.cells[2].source == student.cells[2].source
    del student.cells[2]
    graded = _grading_notebook(reference, student)
    assert "the answer cell is missing from your notebook" in graded.cells[2].source


@pytest.mark.slow  # one checker run
def test_a_student_helper_named_like_a_kit_function_changes_no_verdict(tmp_path):
    name = "01_define_the_net.ipynb"
    right = {n: a["right"][0] for n, a in ANSWERS[name].items()}
    path = answered_notebook(tmp_path, name, right, False)
    nb = nbformat.read(path, as_version=4)
    first = find_exercises(nbformat.read(SOLUTIONS_DIR / name, as_version=4))[0]
    answer = next(cell for cell in nb.cells if cell.id == first.answer_id)
    # the student's own helpers, named like the kit's, defined after the first answer
    answer.source += ("\n\ndef compare_state_dicts(a, b):\n    return 'mine'\n\n"
                      "def state_dicts_equal(a, b):\n    return False\n\n"
                      "def assert_state_dicts_equal(a, b):\n    raise ValueError('mine')")
    nbformat.write(nb, path)
    code, verdicts, output = run_checker(path)
    assert code == 0 and set(verdicts.values()) == {"passed"}, output


def test_the_checker_never_reads_the_solutions(tmp_path):
    """On a class server students cannot read notebooks/solutions/: check must not need it."""
    answered = tmp_path / "01_define_the_net.ipynb"
    answered.write_bytes((SOLUTIONS_DIR / answered.name).read_bytes())
    code = (
        "import sys\n"
        f"SOLUTIONS = {str(SOLUTIONS_DIR)!r}\n"
        "def refuse(event, args):\n"
        "    if event in ('open', 'os.listdir', 'os.scandir') and args and \\\n"
        "            str(args[0]).startswith(SOLUTIONS):\n"
        "        raise PermissionError(f'the checker read {args[0]}')\n"
        "sys.addaudithook(refuse)\n"
        "from ckpt_kit.cli import main\n"
        f"sys.exit(main(['check', {str(answered)!r}]))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 of 3 exercises passed" in proc.stdout
