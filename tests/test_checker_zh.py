"""The checker on the Chinese edition (notebooks/zh/), as a student runs it. In each lesson's
Chinese notebook, every exercise gets one of three answers, in turn across the lessons: the
Chinese solution (passes: 通过), a typical wrong answer (fails with its hint in Chinese), or none
(还没有作答). Graded with the English lesson's checks (the same cells, by id), reported in the
notebook's language. (Every Chinese solution also runs under nbval, check cells included.)"""

from __future__ import annotations

import re

import nbformat
import pytest

from ckpt_kit.editions import edition_folder
from ckpt_kit.exercises import find_exercises
from conftest import english_left, fill, run_checker
from exercise_answers import ANSWERS

pytestmark = pytest.mark.slow  # ten checker runs: python -m pytest -m slow
ZH_DIR = edition_folder("zh-CN")
LESSONS = sorted(ANSWERS)
KINDS = ("solution", "wrong", "blank")
_LINE = re.compile(r"^  练习 (\d+)（.*?）：(.*)$")
CJK = re.compile(r"[\u4e00-\u9fff]")


def zh_verdicts(output: str) -> dict[int, str]:
    return {int(m.group(1)): m.group(2) for line in output.splitlines()
            if (m := _LINE.match(line))}


def test_the_three_kinds_of_answer_share_the_exercises():
    kinds = {(name, number): KINDS[(number + i) % 3]
             for i, name in enumerate(LESSONS) for number in ANSWERS[name]}
    counts = [list(kinds.values()).count(kind) for kind in KINDS]
    assert max(counts) - min(counts) <= 1  # each kind is a third of all the exercises
    for name in LESSONS:  # and every lesson meets at least two kinds
        assert len({kind for (lesson, _), kind in kinds.items() if lesson == name}) >= 2


@pytest.mark.parametrize("i, name", list(enumerate(LESSONS)))
def test_chinese_notebook_solutions_pass_wrong_answers_get_chinese_hints(tmp_path, i, name):
    nb = nbformat.read(ZH_DIR / name, as_version=4)
    solutions = {c.id: c.source for c in nbformat.read(ZH_DIR / "solutions" / name,
                                                          as_version=4).cells}
    cells = {c.id: c for c in nb.cells}
    kinds = {}
    for ex in find_exercises(nb):
        kinds[ex.number] = KINDS[(ex.number + i) % 3]
        answer = cells[ex.answer_id]
        if kinds[ex.number] == "solution":
            answer.source = solutions[ex.answer_id]
        elif kinds[ex.number] == "wrong":
            answer.source = fill(answer.source, ANSWERS[name][ex.number]["wrong"][0][0])
    path = tmp_path / name
    nbformat.write(nb, path)
    code, english_verdicts, output = run_checker(path)
    verdicts = zh_verdicts(output)
    assert not english_verdicts and set(verdicts) == set(kinds), output
    assert code == (0 if set(kinds.values()) == {"solution"} else 1), output
    for number, verdict in verdicts.items():
        if kinds[number] == "solution":
            assert verdict == "通过", (number, output)
        elif kinds[number] == "blank":
            assert verdict.startswith("还没有作答"), (number, output)
        else:
            assert verdict != "通过" and CJK.search(verdict), (number, output)
            assert not english_left(verdict), (number, english_left(verdict), output)
