"""The checker on the Chinese edition (notebooks/zh/), as a student runs it: the Chinese
solutions pass; in a Chinese notebook, a wrong answer fails with its hint in Chinese and a blank
exercise fails as not answered, in Chinese. Graded with the English lesson's checks (the same
cells, by id), reported in the notebook's language."""

from __future__ import annotations

import re

import pytest

from ckpt_kit.editions import edition_folder
from conftest import answered_notebook, english_left, run_checker
from exercise_answers import ANSWERS

pytestmark = pytest.mark.slow  # twenty checker runs: python -m pytest -m slow
ZH_DIR = edition_folder("zh-CN")
LESSONS = sorted(ANSWERS)
_LINE = re.compile(r"^  练习 (\d+)（.*?）：(.*)$")
CJK = re.compile(r"[\u4e00-\u9fff]")


def zh_verdicts(output: str) -> dict[int, str]:
    return {int(m.group(1)): m.group(2) for line in output.splitlines()
            if (m := _LINE.match(line))}


@pytest.mark.parametrize("name", LESSONS)
def test_chinese_solutions_pass_in_chinese(name):
    code, _, output = run_checker(ZH_DIR / "solutions" / name)
    verdicts = zh_verdicts(output)
    assert code == 0, output
    assert set(verdicts) == set(ANSWERS[name]) and set(verdicts.values()) == {"通过"}, output


@pytest.mark.parametrize("name", LESSONS)
def test_wrong_answers_get_chinese_hints_and_blanks_are_not_answered(tmp_path, name):
    # the odd exercises get a typical wrong answer, the even ones stay blank
    wrong = {n: a["wrong"][0][0] for n, a in ANSWERS[name].items() if n % 2}
    path = answered_notebook(tmp_path, name, wrong, forge_outputs=False, students_dir=ZH_DIR)
    code, english_verdicts, output = run_checker(path)
    verdicts = zh_verdicts(output)
    assert code == 1 and not english_verdicts, output
    assert set(verdicts) == set(ANSWERS[name]), output
    for number, verdict in verdicts.items():
        assert verdict != "通过" and CJK.search(verdict), (number, output)
        assert not english_left(verdict), (number, english_left(verdict), output)
        if number not in wrong:
            assert verdict.startswith("还没有作答"), (number, output)
