"""The answer checker, end to end, as a student runs it: `python -m ckpt_helpers check NB`.

For every lesson: the blank student notebook fails every exercise; the instructor notebook passes
every exercise; other correct answers pass. (Wrong answers: test_exercises_wrong.py.)
"""

from __future__ import annotations

import nbformat
import pytest

from ckpt_helpers import NOTEBOOKS_DIR, SOLUTIONS_DIR, find_exercises
from conftest import answer_cases, answered_notebook, run_checker
from exercise_answers import ANSWERS

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


def answer_cases(kind):
    return [(name, k) for name in ANSWERS
            for k in range(max(len(a[kind]) for a in ANSWERS[name].values()))]


@pytest.mark.parametrize("name, k", answer_cases("right"))
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
