"""The answer checker rejects wrong answers end to end: the first three plausible wrong answers
of every exercise (tests/answers/) fail with their hints, even when the student's file has gutted
check cells and stored outputs that claim the check passed (the checker runs the reference checks
instead). Each hint also has its Chinese translation, for the Chinese edition's students. Every
listed answer, all of them, is graded in the forked run of test_mutants.py.
"""

from __future__ import annotations

import pytest

from ckpt_kit.i18n import translate
from conftest import answer_cases, answered_notebook, english_left, run_checker
from exercise_answers import ANSWERS

pytestmark = pytest.mark.slow  # every listed wrong answer through the checker: pytest -m slow


@pytest.mark.parametrize("name, k", answer_cases("wrong", most=3))
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
            # and the Chinese edition's student reads the same hint in Chinese
            assert not english_left(translate(verdict, "zh-CN")), (number, verdict)
        else:
            assert verdict.startswith("not answered yet"), (number, output)
