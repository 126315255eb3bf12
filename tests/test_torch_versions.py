"""The torch versions the kit claims: a guard for the day the installed torch moves on.

The first test fails, naming the lessons that use what changes between versions, when the torch
installed here lies outside the range the kit was tested with (``ckpt_kit.environment``, the
README's "Tested with" table). It is what a scheduled run against the newest torch trips first.
"""

from __future__ import annotations

import re

import pytest
import torch

from ckpt_kit.environment import (NEWEST_TESTED_TORCH, OLDEST_TESTED_TORCH, PINNED_TORCH,
                                  VERSION_NOTES, release, untested_torch)
from ckpt_kit.paths import KIT_DIR, SOLUTIONS_DIR


def test_the_installed_torch_is_one_the_kit_was_tested_with():
    problem = untested_torch(torch.__version__)
    if problem is not None:
        pytest.fail(problem, pytrace=False)


@pytest.mark.parametrize("version", ["2.5.1", "2.15.0", "3.0"])
def test_a_torch_outside_the_range_gets_a_message_naming_the_lessons(version):
    message = untested_torch(version)
    assert message is not None and version in message
    assert all(lesson in message for lesson in VERSION_NOTES)


def test_the_version_notes_name_real_lessons():
    lessons = {p.stem for p in SOLUTIONS_DIR.glob("*.ipynb")}
    assert VERSION_NOTES and set(VERSION_NOTES) <= lessons


def test_the_readme_table_holds_the_tested_range():
    readme = (KIT_DIR / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Tested with", 1)[1].split("\n## ")[0]
    tested = {release(v) for v in re.findall(r"^\| (\d+\.\d+\.\d+) \|", table, re.M)}
    assert {release(OLDEST_TESTED_TORCH), release(PINNED_TORCH),
            release(NEWEST_TESTED_TORCH)} <= tested
    assert min(tested) == release(OLDEST_TESTED_TORCH)
    assert max(tested) == release(NEWEST_TESTED_TORCH)
