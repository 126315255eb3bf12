"""The checker under bad input: a damaged or misplaced file, cells deleted or edited, answers that
never end, stop the kernel, or print without end. Each gets one clear line, never a traceback,
and the other exercises are still graded where the kernel lets them be."""

from __future__ import annotations

import json

import nbformat
import pytest

from ckpt_kit.exercises import find_exercises
from ckpt_kit.paths import NOTEBOOKS_DIR, SOLUTIONS_DIR
from conftest import answered_notebook, run_checker
from exercise_answers import ANSWERS

LESSON = "01_define_the_net.ipynb"
RIGHT = {n: a["right"][0] for n, a in ANSWERS[LESSON].items()}


def _one_clear_error(code: int, output: str, *pieces: str) -> None:
    assert code == 2, output
    assert "Traceback" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output
    for piece in pieces:
        assert piece in errors[0], output


def test_a_half_saved_notebook_gets_one_line(tmp_path):
    path = tmp_path / LESSON
    path.write_text((NOTEBOOKS_DIR / LESSON).read_text(encoding="utf-8")[:5000], encoding="utf-8")
    _one_clear_error(*run_checker(path)[::2], "is not a readable notebook", "did the save finish?")


def test_a_notebook_of_another_lesson_is_named(tmp_path):
    path = tmp_path / LESSON
    path.write_text((NOTEBOOKS_DIR / "02_train.ipynb").read_text(encoding="utf-8"),
                    encoding="utf-8")
    _one_clear_error(*run_checker(path)[::2], "holds lesson 02_train", "rename this one")


def test_a_notebook_that_is_json_but_no_notebook(tmp_path):
    path = tmp_path / LESSON
    path.write_text(json.dumps({"cells": "none"}), encoding="utf-8")
    _one_clear_error(*run_checker(path)[::2], "is not a readable notebook")


@pytest.mark.slow
def test_deleted_and_edited_cells_are_named_and_the_rest_graded(tmp_path):
    path = answered_notebook(tmp_path, LESSON, RIGHT, forge_outputs=False)
    nb = nbformat.read(path, as_version=4)
    ids = [cell.id for cell in nb.cells]
    reference = nbformat.read(SOLUTIONS_DIR / LESSON, as_version=4)
    ex1, ex2, ex3 = find_exercises(reference)
    nb.cells[ids.index(ex3.check_id)].source += "\nprint('edited')"
    for cell_id in (ex1.check_id, ex2.answer_id):  # a check cell and an answer cell deleted
        nb.cells = [cell for cell in nb.cells if cell.id != cell_id]
    nbformat.write(nb, path)
    code, verdicts, output = run_checker(path)
    assert code == 1, output
    assert verdicts[1] == "passed" and verdicts[3] == "passed", output
    assert verdicts[2].startswith("the answer cell is missing from your notebook: copy the cell "
                                  "under Exercise 2 back"), output
    assert "(note: your notebook has no check cell for it; the lesson's was used)" in output
    assert "(note: your check cell was edited; the lesson's own check was used)" in output
    assert "check cells of Exercise 1, 3 are missing or edited: copy them back" in output
    assert "Traceback" not in output


@pytest.mark.slow
def test_a_notebook_saved_by_an_older_jupyterlab_without_cell_ids(tmp_path):
    path = answered_notebook(tmp_path, LESSON, RIGHT, forge_outputs=False)
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw["nbformat_minor"] = 4
    for cell in raw["cells"]:
        cell.pop("id", None)
    path.write_text(json.dumps(raw), encoding="utf-8")
    code, verdicts, output = run_checker(path)
    assert code == 0 and set(verdicts.values()) == {"passed"}, output


@pytest.mark.slow
def test_endless_exiting_and_loud_answers_get_a_line_each(tmp_path):
    answers = {1: "while True:\n    pass",                      # runs forever in the check
               2: "import sys\nsys.exit()",                     # stops the kernel, politely
               3: RIGHT[3] + "\nprint('x' * 5_000_000)"}        # prints megabytes, right answer
    path = answered_notebook(tmp_path, LESSON, answers, forge_outputs=False)
    code, verdicts, output = run_checker(path, "--timeout", "15")
    assert code == 1, output
    assert verdicts[1].startswith("your code did not finish within 15 s"), output
    assert verdicts[2].startswith("your code called sys.exit()"), output
    assert verdicts[3] == "passed", output
    assert len(output) < 5000 and "Traceback" not in output, output[:3000]


@pytest.mark.slow
def test_an_answer_that_kills_its_kernel_stops_the_grading_with_a_reason(tmp_path):
    answers = {1: RIGHT[1], 2: "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)",
               3: RIGHT[3]}
    path = answered_notebook(tmp_path, LESSON, answers, forge_outputs=False)
    code, verdicts, output = run_checker(path, "--timeout", "15")
    assert code == 1, output
    assert verdicts[1] == "passed", output
    assert verdicts[2].startswith("the kernel stopped while running your code"), output
    assert verdicts[3] == "not graded: the kernel stopped in Exercise 2", output
