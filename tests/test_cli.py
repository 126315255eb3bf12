"""ckpt_kit.cli: the commands `python -m ckpt_helpers check | student | inspect`, run as a user
runs them."""

from __future__ import annotations

import subprocess
import sys


def test_check_command_rejects_bad_paths(tmp_path):
    def check(path):
        return subprocess.run([sys.executable, "-m", "ckpt_helpers", "check", str(path)],
                              capture_output=True, text=True, cwd=tmp_path)

    missing = check(tmp_path / "01_define_the_net.ipynb")
    assert missing.returncode == 2 and "is not a notebook file" in missing.stderr
    unknown = tmp_path / "99_nothing.ipynb"
    unknown.write_text("{}")
    result = check(unknown)
    assert result.returncode == 2 and "the lessons are: 01_define_the_net.ipynb" in result.stderr
    broken = tmp_path / "01_define_the_net.ipynb"
    broken.write_text('{"cells": [')
    result = check(broken)
    assert result.returncode == 2 and "not a readable notebook" in result.stderr
    assert "Traceback" not in missing.stderr + result.stderr


def test_instructor_commands_outside_a_clone_say_where_they_work(tmp_path, monkeypatch, capsys):
    from ckpt_kit import cli

    monkeypatch.setattr(cli, "SOLUTIONS_DIR", tmp_path / "notebooks" / "solutions")
    for argv in (["student"], ["mutants", "01"], ["nbgrader-course", str(tmp_path / "course")]):
        assert cli.main(argv) == 2
        assert "in a clone of the kit" in capsys.readouterr().err
    assert not (tmp_path / "course").exists()
