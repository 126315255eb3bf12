"""The answer checker, end to end, as a student runs it: `python -m ckpt_helpers check NB`.

For every lesson: the blank student notebook fails every exercise; the instructor notebook passes
every exercise; each plausible wrong answer fails with its hint, even when the student's file
claims (in its stored outputs) that the check passed; other correct answers pass.
"""

from __future__ import annotations

import textwrap

import nbformat
import pytest

from ckpt_helpers import NOTEBOOKS_DIR, SOLUTIONS_DIR, STUB, find_exercises
from conftest import run_checker
from exercise_answers import ANSWERS

LESSONS = sorted(p.name for p in SOLUTIONS_DIR.glob("*.ipynb"))


def test_every_lesson_has_wrong_and_right_answers_for_every_exercise():
    for name in LESSONS:
        exercises = find_exercises(nbformat.read(SOLUTIONS_DIR / name, as_version=4))
        assert set(ANSWERS.get(name, {})) == {ex.number for ex in exercises}, name
        for number, answers in ANSWERS[name].items():
            assert answers["wrong"] and answers["right"], (name, number)


def fill(source: str, answer: str) -> str:
    """Put `answer` where the student notebook's stub is, at the stub's indent."""
    lines = source.split("\n")
    first = next(i for i, line in enumerate(lines) if line.strip() == STUB[0])
    assert lines[first + 1].strip() == STUB[1]
    indent = lines[first][: len(lines[first]) - len(lines[first].lstrip())]
    return "\n".join(lines[:first] + [textwrap.indent(answer, indent)] + lines[first + 2:])


def answered_notebook(tmp_path, name: str, answers: dict[int, str], forge_outputs: bool):
    """A copy of the student notebook with `answers` filled in, saved as a student would.

    With `forge_outputs`, every check cell is gutted to a bare `print(...passed)` and every
    answer and check cell carries stored outputs saying the exercise passed: what a student's
    file holds after editing the checks, or pasting outputs in.
    """
    nb = nbformat.read(NOTEBOOKS_DIR / name, as_version=4)
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


def _cases(kind):
    return [(name, k) for name in ANSWERS
            for k in range(max(len(a[kind]) for a in ANSWERS[name].values()))]


@pytest.mark.parametrize("name, k", _cases("wrong"))
def test_wrong_answers_fail_with_a_hint_despite_forged_checks_and_outputs(tmp_path, name, k):
    wrong = {n: a["wrong"][k] for n, a in ANSWERS[name].items() if k < len(a["wrong"])}
    path = answered_notebook(tmp_path, name, {n: w[0] for n, w in wrong.items()},
                             forge_outputs=True)
    code, verdicts, output = run_checker(path)
    assert code == 1, output
    assert set(verdicts) == set(ANSWERS[name]), output
    for number, verdict in verdicts.items():
        if number in wrong:
            assert verdict != "passed" and wrong[number][1] in verdict, (number, output)
        else:
            assert verdict.startswith("not answered yet"), (number, output)


@pytest.mark.parametrize("name, k", _cases("right"))
def test_other_correct_answers_pass(tmp_path, name, k):
    right = {n: a["right"][k] for n, a in ANSWERS[name].items() if k < len(a["right"])}
    code, verdicts, output = run_checker(answered_notebook(tmp_path, name, right, False))
    for number in right:
        assert verdicts.get(number) == "passed", (number, output)
    assert (code == 0) == (len(right) == len(ANSWERS[name])), output
